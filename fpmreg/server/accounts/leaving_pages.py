"""Pages to leave a namespace and to delete one's account (`accounts.leaving`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from fpmreg.server.accounts.deps import AccountsDep, CurrentUser
from fpmreg.server.accounts.leaving import Leaving
from fpmreg.server.accounts.models import User
from fpmreg.server.csrf import rotate_csrf
from fpmreg.server.errors import DomainError, Unauthenticated
from fpmreg.server.http import SESSION_COOKIE, FormFields, app_state, render

router = APIRouter(include_in_schema=False)


def _signed_in(user: User | None) -> User:
    if user is None:
        raise Unauthenticated("sign-in-required", "sign in to see this page")
    return user


def _leave_page(
    request: Request, me: User, accounts: AccountsDep, errors: list[str], status: int = 200
) -> Response:
    context = {
        "user": me,
        "memberships": accounts.namespaces_of(me),
        "blocking": Leaving(accounts).blocking_namespaces(me),
        "errors": errors,
    }
    return render(request, "account_leave.html", context, status)


@router.get("/account/leave")
def leave_page(request: Request, user: CurrentUser, accounts: AccountsDep) -> Response:
    return _leave_page(request, _signed_in(user), accounts, [])


@router.post("/account/leave")
def leave_namespace(
    request: Request, fields: FormFields, user: CurrentUser, accounts: AccountsDep
) -> Response:
    me = _signed_in(user)
    try:
        namespace = accounts.get_namespace(str(fields.get("namespace", "")))
        Leaving(accounts).leave_namespace(me, namespace)
    except DomainError as exc:
        return _leave_page(request, me, accounts, [p.message for p in exc.problems], exc.status)
    return RedirectResponse("/account/leave", status_code=303)


@router.post("/account/delete")
def delete_account(
    request: Request, fields: FormFields, user: CurrentUser, accounts: AccountsDep
) -> Response:
    me = _signed_in(user)
    try:
        Leaving(accounts).delete_account(me, str(fields.get("password", "")))
    except DomainError as exc:
        return _leave_page(request, me, accounts, [p.message for p in exc.problems], exc.status)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    rotate_csrf(response, app_state(request).settings)
    return response
