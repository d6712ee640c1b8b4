"""Web pages of the accounts domain: sign-up, sign-in, namespaces, members, tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from fpmreg.core.names import MAX_NAME_LENGTH, canonical_name
from fpmreg.server.accounts.deps import AccountsDep, CurrentUser
from fpmreg.server.accounts.models import Role, Scope, User
from fpmreg.server.accounts.twofactor_signin import begin_second_factor, needs_second_factor
from fpmreg.server.csrf import rotate_csrf
from fpmreg.server.errors import DomainError, Forbidden, Unauthenticated
from fpmreg.server.http import (
    SESSION_COOKIE,
    StateDep,
    app_state,
    render,
)
from fpmreg.server.ratelimit import client_address

router = APIRouter(include_in_schema=False)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=20)
    return {k: v for k, v in form.items() if isinstance(v, str)}  # CSRF: csrf.py


def _signed_in(user: User | None) -> User:
    if user is None:
        raise Unauthenticated("sign-in-required", "sign in to see this page")
    return user


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _start(state: StateDep, accounts: AccountsDep, user: User, next_url: str) -> Response:
    cookie = accounts.start_session(user)
    response = _see_other(
        next_url if next_url.startswith("/") and not next_url.startswith("//") else "/account"
    )
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        max_age=state.settings.session_days * 86400,
        secure=state.settings.base_url.startswith("https"),
    )
    rotate_csrf(response, state.settings)  # a new session, a new CSRF binding
    return response


@router.get("/signup")
def signup_page(request: Request, user: CurrentUser) -> Response:
    return render(request, "signup.html", {"user": user, "form": {}, "errors": []})


@router.post("/signup")
async def signup(request: Request, accounts: AccountsDep, state: StateDep) -> Response:
    fields = await _form(request)
    if not state.settings.signup_enabled:
        raise Forbidden("signup-closed", "sign-up is closed on this registry")
    limits, client = state.limiter.limits, state.limiter.client_key(client_address(request.scope))
    state.limiter.hit(limits.signups_per_client, client)
    if fields.get("password", "") != fields.get("password2", ""):
        errors = ["the two passwords differ"]
        return render(request, "signup.html", {"user": None, "form": fields, "errors": errors}, 400)
    try:
        user = accounts.create_user(
            fields.get("username", ""), fields.get("email", ""), fields.get("password", "")
        )
    except DomainError as exc:
        errors = [p.message for p in exc.problems]
        return render(
            request, "signup.html", {"user": None, "form": fields, "errors": errors}, exc.status
        )
    return _start(state, accounts, user, "/account")


@router.get("/login")
def login_page(request: Request, user: CurrentUser, next: str = "/account") -> Response:
    return render(request, "login.html", {"user": user, "next": next, "errors": []})


@router.post("/login")
async def login(request: Request, accounts: AccountsDep, state: StateDep) -> Response:
    fields = await _form(request)
    username = fields.get("username", "")
    # Only failures count (per account and per client): the owner signing in is never
    # refused, and `victim-one` and `victim_one` are one account, so one count.
    limiter, client = state.limiter, state.limiter.client_key(client_address(request.scope))
    account = f"user:{canonical_name(username.strip())[: MAX_NAME_LENGTH + 1]}"
    limiter.check(limiter.limits.login_failures_per_client, client)
    limiter.check(limiter.limits.login_failures_per_account, account)
    try:
        user = accounts.authenticate(username, fields.get("password", ""))
    except DomainError as exc:
        limiter.hit(limiter.limits.login_failures_per_client, client)
        state.login_limiter.hit(account, "sign-in attempts")
        return render(
            request,
            "login.html",
            {"user": None, "next": fields.get("next", ""), "errors": [exc.detail]},
            exc.status,
        )
    if needs_second_factor(user):  # no session yet: the code first (twofactor_signin.py)
        return begin_second_factor(state, user, fields.get("next", "/account"))
    return _start(state, accounts, user, fields.get("next", "/account"))


@router.post("/logout")
async def logout(request: Request, accounts: AccountsDep) -> Response:
    await _form(request)
    accounts.end_session(request.cookies.get(SESSION_COOKIE, ""))
    response = _see_other("/")
    response.delete_cookie(SESSION_COOKIE)
    rotate_csrf(response, app_state(request).settings)
    return response


def _account_page(
    request: Request,
    me: User,
    accounts: AccountsDep,
    *,
    new_token: str = "",
    errors: list[str] | None = None,
) -> Response:
    """The account page: namespaces, tokens, and a new token shown once."""
    context = {
        "user": me,
        "memberships": accounts.namespaces_of(me),
        "tokens": accounts.tokens_of(me),
        "maintained": accounts.packages_view.maintained(accounts.session, me.id),
        "scopes": list(Scope),
        "new_token": new_token,
        "errors": errors or [],
        "now": accounts.clock.now(),
    }
    return render(request, "account.html", context, 400 if errors else 200)


@router.get("/account")
def account(request: Request, user: CurrentUser, accounts: AccountsDep) -> Response:
    return _account_page(request, _signed_in(user), accounts)


@router.post("/account/tokens")
async def create_token(request: Request, user: CurrentUser, accounts: AccountsDep) -> Response:
    me = _signed_in(user)
    form = await request.form(max_files=0, max_fields=20)  # CSRF checked by csrf.py
    scopes = {Scope(s) for s in form.getlist("scopes") if s in set(Scope)}
    new_token, errors = "", []
    try:
        days = int(str(form.get("days", "90")) or "90")
        new_token, _ = accounts.create_token(
            me,
            name=str(form.get("name", "")).strip(),
            scopes=scopes,
            namespace=str(form.get("namespace", "")),
            package=str(form.get("package", "")).strip(),
            days=days,
        )
    except ValueError:
        errors = ["the expiry must be a whole number of days"]
    except DomainError as exc:
        errors = [p.message for p in exc.problems]
    return _account_page(request, me, accounts, new_token=new_token, errors=errors)


@router.post("/account/tokens/{token_id}/revoke")
async def revoke_token(
    token_id: int, request: Request, user: CurrentUser, accounts: AccountsDep
) -> Response:
    me = _signed_in(user)
    await _form(request)
    accounts.revoke_token(me, token_id)
    return _see_other("/account")


@router.get("/namespaces/new")
def new_namespace_page(request: Request, user: CurrentUser) -> Response:
    return render(
        request, "namespace_new.html", {"user": _signed_in(user), "form": {}, "errors": []}
    )


@router.post("/namespaces/new")
async def new_namespace(request: Request, user: CurrentUser, accounts: AccountsDep) -> Response:
    me = _signed_in(user)
    fields = await _form(request)
    try:
        namespace = accounts.create_namespace(
            me, fields.get("name", "").strip(), fields.get("description", "").strip()
        )
    except DomainError as exc:
        return render(
            request,
            "namespace_new.html",
            {"user": me, "form": fields, "errors": [p.message for p in exc.problems]},
            exc.status,
        )
    return _see_other(f"/namespace/{namespace.name}")


@router.post("/namespace/{name}/members")
async def set_member(
    name: str, request: Request, user: CurrentUser, accounts: AccountsDep
) -> Response:
    me = _signed_in(user)
    fields = await _form(request)
    namespace = accounts.get_namespace(name)
    username = fields.get("username", "").strip()
    if fields.get("action") == "remove":
        accounts.remove_member(me, namespace, username)
    else:
        role = Role.ADMIN if fields.get("role") == "admin" else Role.MAINTAINER
        accounts.add_member(me, namespace, username, role)
    return _see_other(f"/namespace/{namespace.name}")
