"""Web pages of two-factor sign-in: enrolment, recovery codes, the code at sign-in, and
the namespace rule. The logic is in `twofactor.py`; the pending cookie in
`twofactor_signin.py`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from fpmreg.server.accounts.deps import AccountsDep, CurrentUser, SessionsDep
from fpmreg.server.accounts.models import Role, User

# The session starts as after a password alone (pages.py imports `twofactor_signin`
# for its sign-in hook, never this module).
from fpmreg.server.accounts.pages import _start
from fpmreg.server.accounts.twofactor import (
    ISSUER,
    SETUP_URL,
    TwoFactorService,
    has_second_factor,
    qr_svg,
)
from fpmreg.server.accounts.twofactor_signin import (
    PendingRefused,
    end_pending,
    pending_cookie_name,
    read_pending,
    safe_next,
)
from fpmreg.server.errors import DomainError, Unauthenticated
from fpmreg.server.http import FormFields, SessionDep, StateDep, render
from fpmreg.server.ratelimit import Limit

router = APIRouter(include_in_schema=False)
MANAGE_URL = "/account/2fa"
# Pages that show a secret (the TOTP secret, recovery codes) are kept by no cache.
_NO_STORE = {"Cache-Control": "no-store"}
# Wrong codes count against the per-account sign-in limit, under a key of their own.
_ATTEMPTS = "second-factor attempts"


def twofactor_service(state: StateDep, session: SessionDep) -> TwoFactorService:
    """The two-factor service on this request's session."""
    return TwoFactorService(session, state.clock)


TwoFactorDep = Annotated[TwoFactorService, Depends(twofactor_service)]


def _signed_in(user: User | None) -> User:
    if user is None:
        raise Unauthenticated("sign-in-required", "sign in to see this page")
    return user


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    response = render(request, template, {"errors": [], **context}, status)
    response.headers.update(_NO_STORE)
    return response


# enrolment and management ------------------------------------------------------


@router.get(MANAGE_URL)
def manage_page(request: Request, user: CurrentUser, twofactor: TwoFactorDep) -> Response:
    me = _signed_in(user)
    if not has_second_factor(me):
        return _see_other(SETUP_URL)
    return _manage(request, me, twofactor)


def _manage(
    request: Request, me: User, twofactor: TwoFactorService, errors: list[str] | None = None,
    status: int = 200, form: str = "",
) -> Response:  # fmt: skip
    context = {
        "user": me,
        "enabled_at": me.totp_enabled_at,
        "codes_left": twofactor.recovery_codes_left(me),
        "errors": errors or [],
        "failed_form": form,
    }
    return _page(request, "twofactor_manage.html", context, status)


def _setup(
    request: Request, me: User, twofactor: TwoFactorService,
    errors: list[str] | None = None, status: int = 200,
) -> Response:  # fmt: skip
    secret = twofactor.begin_enrolment(me)
    context = {
        "user": me,
        "secret": secret,
        "secret_groups": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "qr_svg": qr_svg(twofactor.provisioning_uri(me, ISSUER)),
        "errors": errors or [],
    }
    return _page(request, "twofactor_setup.html", context, status)


@router.get(SETUP_URL)
def setup_page(
    request: Request, state: StateDep, user: CurrentUser, twofactor: TwoFactorDep
) -> Response:
    me = _signed_in(user)
    if has_second_factor(me):
        return _see_other(MANAGE_URL)
    return _setup(request, me, twofactor)


@router.post(SETUP_URL)
def confirm_setup(
    request: Request,
    fields: FormFields,
    state: StateDep,
    user: CurrentUser,
    twofactor: TwoFactorDep,
) -> Response:
    me = _signed_in(user)
    if has_second_factor(me):
        return _see_other(MANAGE_URL)
    _second_factor_limit(state, me)
    try:
        codes = twofactor.confirm_enrolment(me, fields.get("code", ""))
    except DomainError as exc:
        _count_failure(state, me)
        return _setup(request, me, twofactor, [exc.detail], exc.status)
    return _page(request, "twofactor_codes.html", {"user": me, "codes": codes, "new": True})


@router.post(f"{MANAGE_URL}/recovery-codes")
def regenerate_codes(
    request: Request,
    fields: FormFields,
    state: StateDep,
    user: CurrentUser,
    twofactor: TwoFactorDep,
) -> Response:
    me = _signed_in(user)
    _second_factor_limit(state, me)
    try:
        codes = twofactor.regenerate_recovery_codes(me, fields.get("code", ""))
    except DomainError as exc:
        _count_failure(state, me)
        return _manage(request, me, twofactor, [exc.detail], exc.status, "regenerate")
    return _page(request, "twofactor_codes.html", {"user": me, "codes": codes, "new": False})


@router.post(f"{MANAGE_URL}/disable")
def disable(
    request: Request,
    fields: FormFields,
    state: StateDep,
    user: CurrentUser,
    twofactor: TwoFactorDep,
) -> Response:
    me = _signed_in(user)
    _second_factor_limit(state, me)
    try:
        twofactor.disable(me, fields.get("password", ""), fields.get("code", ""))
    except DomainError as exc:
        _count_failure(state, me)
        return _manage(request, me, twofactor, [exc.detail], exc.status, "disable")
    return _see_other("/account#two-factor")


# the second step of signing in --------------------------------------------------


def _limit_key(user_id: int) -> str:
    return f"2fa:{user_id}"


def _second_factor_limit(state: StateDep, user: User) -> None:
    """Refuse (429) a user whose wrong codes used up the sign-in allowance."""
    limit = state.login_limiter.limit
    limit = Limit(limit.name, limit.amount, limit.seconds, _ATTEMPTS)
    state.limiter.check(limit, _limit_key(user.id))


def _count_failure(state: StateDep, user: User) -> None:
    state.login_limiter.hit(_limit_key(user.id), _ATTEMPTS)


def _back_to_login(request: Request, state: StateDep, refused: PendingRefused) -> Response:
    response = render(
        request, "login.html", {"user": None, "next": "", "errors": [refused.message]}, 401
    )
    end_pending(response, state.settings)
    return response


def _pending_user(request: Request, state: StateDep, accounts: AccountsDep) -> User:
    """The user of a valid pending sign-in, or `PendingRefused`."""
    value = request.cookies.get(pending_cookie_name(state.settings), "")
    pending = read_pending(state.settings, value, state.clock.now())
    user = accounts.session.get(User, pending.user_id)
    if user is None or not has_second_factor(user):
        raise PendingRefused("2fa-pending-invalid", "sign in with your username and password again")
    return user


@router.get("/login/2fa")
def second_factor_page(
    request: Request, state: StateDep, accounts: AccountsDep, next: str = "/account"
) -> Response:
    try:
        _pending_user(request, state, accounts)
    except PendingRefused as refused:
        return _back_to_login(request, state, refused)
    return _page(request, "login_2fa.html", {"user": None, "next": safe_next(next)})


@router.post("/login/2fa")
def second_factor(
    request: Request,
    fields: FormFields,
    state: StateDep,
    accounts: AccountsDep,
    sessions: SessionsDep,
    twofactor: TwoFactorDep,
) -> Response:
    next_url = safe_next(fields.get("next", "/account"))
    try:
        user = _pending_user(request, state, accounts)
    except PendingRefused as refused:
        return _back_to_login(request, state, refused)
    _second_factor_limit(state, user)
    try:
        twofactor.verify(user, fields.get("code", ""))
    except DomainError as exc:
        _count_failure(state, user)
        context = {"user": None, "next": next_url, "errors": [exc.detail]}
        return _page(request, "login_2fa.html", context, exc.status)
    response = _start(request, state, sessions, user, next_url)
    end_pending(response, state.settings)
    return response


# the namespace rule --------------------------------------------------------------


@router.post("/namespace/{name}/require-2fa")
def set_namespace_requirement(
    name: str,
    request: Request,
    fields: FormFields,
    user: CurrentUser,
    accounts: AccountsDep,
    twofactor: TwoFactorDep,
) -> Response:
    me = _signed_in(user)
    namespace = accounts.get_namespace(name)
    is_admin_of = me.is_admin or accounts.role_of(me, namespace) is Role.ADMIN
    twofactor.set_namespace_requirement(
        me, namespace, required=fields.get("require_2fa") == "on", is_admin_of=is_admin_of
    )
    return _see_other(f"/namespace/{namespace.name}")
