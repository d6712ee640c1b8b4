"""Web pages of the accounts domain: sign-up, sign-in, namespaces, members, tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from fpmreg.core.names import MAX_NAME_LENGTH, canonical_name
from fpmreg.core.problem import Problem
from fpmreg.server.accounts.deps import AccountsDep, CurrentUser, EmailsDep, SessionsDep
from fpmreg.server.accounts.models import Role, Scope, User
from fpmreg.server.accounts.twofactor_signin import begin_second_factor, needs_second_factor
from fpmreg.server.csrf import rotate_csrf
from fpmreg.server.errors import DomainError, Forbidden, RateLimited, Unauthenticated
from fpmreg.server.http import (
    SESSION_COOKIE,
    FormFields,
    FormLists,
    RowIdPath,
    StateDep,
    app_state,
    render,
)
from fpmreg.server.ratelimit import client_address

router = APIRouter(include_in_schema=False)

RESET_DONE_NOTICE = "Your password was changed and every session ended: sign in with the new one."


def _signed_in(user: User | None) -> User:
    if user is None:
        raise Unauthenticated("sign-in-required", "sign in to see this page")
    return user


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _start(
    request: Request, state: StateDep, sessions: SessionsDep, user: User, next_url: str
) -> Response:
    """Sign `user` in: a new session cookie, and on to `next_url` (a local path)."""
    cookie = sessions.start(user, request.headers.get("user-agent", ""))
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


def _limited(response: Response, refusal: RateLimited) -> Response:
    response.headers["Retry-After"] = str(refusal.retry_after)
    return response


@router.get("/signup")
def signup_page(request: Request, user: CurrentUser) -> Response:
    return render(request, "signup.html", {"user": user, "form": {}, "errors": []})


@router.post("/signup")
def signup(
    request: Request,
    fields: FormFields,
    accounts: AccountsDep,
    emails: EmailsDep,
    sessions: SessionsDep,
    state: StateDep,
) -> Response:
    kept = {k: fields.get(k, "") for k in ("username", "email")}  # never the password
    if not state.settings.signup_enabled:
        raise Forbidden("signup-closed", "sign-up is closed on this registry")
    limits, client = state.limiter.limits, state.limiter.client_key(client_address(request.scope))
    try:
        state.limiter.hit(limits.signups_per_client, client)
    except RateLimited as refusal:
        page = {"user": None, "form": kept, "errors": [refusal.detail]}
        return _limited(render(request, "signup.html", page, refusal.status), refusal)
    username, email, password = kept["username"], kept["email"], fields.get("password", "")
    problems = accounts.new_user_problems(username, email, password)
    if password != fields.get("password2", ""):
        problems.append(Problem("password-mismatch", "password2", "the two passwords differ"))
    if problems:
        status = 409 if all(p.code.endswith(("-taken", "-confusable")) for p in problems) else 400
        page = {"user": None, "form": kept, "errors": [p.message for p in problems]}
        return render(request, "signup.html", page, status)
    try:
        user = accounts.create_user(username, email, password)
    except DomainError as exc:  # a lost race for the name
        page = {"user": None, "form": kept, "errors": [p.message for p in exc.problems]}
        return render(request, "signup.html", page, exc.status)
    emails.send_verification(user)
    return _start(request, state, sessions, user, "/account")


@router.get("/login")
def login_page(
    request: Request,
    user: CurrentUser,
    next: str = "/account",
    reset: str = "",
    username: str = "",
) -> Response:
    context: dict[str, object] = {
        "user": user,
        "next": next,
        "errors": [],
        "form": {"username": username},
    }
    if reset == "done":  # from a password reset (`credential_pages.reset`)
        context["notice"] = RESET_DONE_NOTICE
    return render(request, "login.html", context)


def _login_refused(request: Request, fields: dict[str, str], error: DomainError) -> Response:
    context = {
        "user": None,
        "next": fields.get("next", ""),
        "form": {"username": fields.get("username", "")},
        "errors": [p.message for p in error.problems],
    }
    response = render(request, "login.html", context, error.status)
    return _limited(response, error) if isinstance(error, RateLimited) else response


def _check_password_and_sign_in(
    request: Request,
    state: StateDep,
    accounts: AccountsDep,
    sessions: SessionsDep,
    fields: dict[str, str],
) -> Response:
    """The sign-in form's password step, rate limited per account and per client (only
    failures count: the owner signing in is never refused); then `_after_password`."""
    username = fields.get("username", "")
    # `victim-one` and `victim_one` are one account, so one count.
    limiter, client = state.limiter, state.limiter.client_key(client_address(request.scope))
    account = f"user:{canonical_name(username.strip())[: MAX_NAME_LENGTH + 1]}"
    try:
        limiter.check(limiter.limits.login_failures_per_client, client)
        limiter.check(limiter.limits.login_failures_per_account, account)
        try:
            user = accounts.authenticate(username, fields.get("password", ""))
        except DomainError:
            limiter.hit(limiter.limits.login_failures_per_client, client)
            state.login_limiter.hit(account, "sign-in attempts")
            raise
    except DomainError as exc:
        return _login_refused(request, fields, exc)
    return _after_password(request, state, sessions, user, fields.get("next", "/account"))


def _after_password(
    request: Request, state: StateDep, sessions: SessionsDep, user: User, next_url: str
) -> Response:
    """The password was right: sign in, or ask for the second factor first."""
    if needs_second_factor(user):  # no session yet: the code first (twofactor_signin.py)
        return begin_second_factor(state, user, next_url)
    return _start(request, state, sessions, user, next_url)


@router.post("/login")
def login(
    request: Request,
    fields: FormFields,
    accounts: AccountsDep,
    sessions: SessionsDep,
    state: StateDep,
) -> Response:
    return _check_password_and_sign_in(request, state, accounts, sessions, fields)


@router.post("/logout")
def logout(request: Request, sessions: SessionsDep) -> Response:
    sessions.end(request.cookies.get(SESSION_COOKIE, ""))
    response = _see_other("/")
    response.delete_cookie(SESSION_COOKIE)
    rotate_csrf(response, app_state(request).settings)
    return response


def account_page(
    request: Request,
    me: User,
    accounts: AccountsDep,
    sessions: SessionsDep,
    *,
    new_token: str = "",
    errors: list[str] | None = None,
    form_errors: dict[str, list[str]] | None = None,
    forms: dict[str, dict[str, str]] | None = None,
    notices: dict[str, str] | None = None,
    status: int = 0,
) -> Response:
    """The account page: namespaces, tokens (a new one shown once), email, password and
    sessions. `form_errors`, `notices` and `forms` (input kept, never a password) are
    by form: `email`, `password`, `sessions`."""
    current = sessions.find(request.cookies.get(SESSION_COOKIE, ""))
    context = {
        "user": me,
        "memberships": accounts.namespaces_of(me),
        "tokens": accounts.tokens_of(me),
        "maintained": accounts.packages_view.maintained(accounts.session, me.id),
        "scopes": list(Scope),
        "new_token": new_token,
        "errors": errors or [],
        "form_errors": form_errors or {},
        "forms": forms or {},
        "notices": notices or {},
        "sessions": sessions.of(me),
        "current_session_id": current.id if current else None,
        "now": accounts.clock.now(),
    }
    return render(request, "account.html", context, status or (400 if errors else 200))


@router.get("/account")
def account(
    request: Request, user: CurrentUser, accounts: AccountsDep, sessions: SessionsDep
) -> Response:
    return account_page(request, _signed_in(user), accounts, sessions)


@router.post("/account/tokens")
def create_token(
    request: Request,
    fields: FormFields,
    lists: FormLists,
    user: CurrentUser,
    accounts: AccountsDep,
    sessions: SessionsDep,
) -> Response:
    me = _signed_in(user)
    scopes = {Scope(s) for s in lists.get("scopes", []) if s in set(Scope)}
    new_token, errors = "", []
    try:
        days = int(str(fields.get("days", "90")) or "90")
        new_token, _ = accounts.create_token(
            me,
            name=str(fields.get("name", "")).strip(),
            scopes=scopes,
            namespace=str(fields.get("namespace", "")),
            package=str(fields.get("package", "")).strip(),
            days=days,
        )
    except ValueError:
        errors = ["the expiry must be a whole number of days"]
    except DomainError as exc:
        errors = [p.message for p in exc.problems]
    return account_page(request, me, accounts, sessions, new_token=new_token, errors=errors)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(
    token_id: RowIdPath, request: Request, user: CurrentUser, accounts: AccountsDep
) -> Response:
    me = _signed_in(user)
    accounts.revoke_token(me, token_id)
    return _see_other("/account")


@router.get("/namespaces/new")
def new_namespace_page(request: Request, user: CurrentUser) -> Response:
    return render(
        request, "namespace_new.html", {"user": _signed_in(user), "form": {}, "errors": []}
    )


@router.post("/namespaces/new")
def new_namespace(
    request: Request, fields: FormFields, user: CurrentUser, accounts: AccountsDep
) -> Response:
    me = _signed_in(user)
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
def set_member(
    name: str, request: Request, fields: FormFields, user: CurrentUser, accounts: AccountsDep
) -> Response:
    me = _signed_in(user)
    namespace = accounts.get_namespace(name)
    username = fields.get("username", "").strip()
    try:
        if fields.get("action") == "remove":
            accounts.remove_member(me, namespace, username)
        else:
            role = Role.ADMIN if fields.get("role") == "admin" else Role.MAINTAINER
            accounts.add_member(me, namespace, username, role)
    except DomainError as exc:
        # The namespace page again, signed in, the problem above the members' forms (its
        # package list is the packages domain's: a link to the full page stands in).
        context = {
            "user": me,
            "namespace": namespace,
            "members": accounts.members(namespace),
            "role": accounts.role_of(me, namespace),
            "errors": [p.message for p in exc.problems],
            "form": {"username": username} if fields.get("action") != "remove" else {},
        }
        return render(request, "namespace.html", context, exc.status)
    return _see_other(f"/namespace/{namespace.name}")
