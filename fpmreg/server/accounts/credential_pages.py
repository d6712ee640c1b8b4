"""Web pages of credentials: email verification and change, password change and reset,
and the account page's sessions list. Each form's problems are shown on that form."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fpmreg.server.accounts.deps import (
    AccountsDep,
    CurrentUser,
    EmailsDep,
    PasswordsDep,
    SessionsDep,
)
from fpmreg.server.accounts.emails import VERIFY_LINK_TTL
from fpmreg.server.accounts.pages import _limited, _see_other, _signed_in, account_page
from fpmreg.server.accounts.passwords import RESET_LINK_TTL
from fpmreg.server.errors import DomainError, RateLimited
from fpmreg.server.http import SESSION_COOKIE, FormFields, RowIdPath, StateDep, render
from fpmreg.server.ratelimit import Limit, client_address

router = APIRouter(include_in_schema=False)

# Verification mails a user may ask for an hour: a lost mail and a retry or two.
VERIFICATION_MAILS_PER_HOUR = 3
# Password-reset requests per client an hour (the answer never says whether an account
# exists, so this only bounds the mail a client can make the registry send).
RESET_REQUESTS_PER_CLIENT_PER_HOUR = 5
VERIFICATION_MAILS = Limit(
    "verify-mail", VERIFICATION_MAILS_PER_HOUR, 3600, "verification mails asked for"
)
RESET_REQUESTS = Limit(
    "reset-mail-client", RESET_REQUESTS_PER_CLIENT_PER_HOUR, 3600, "password reset requests"
)


def _link_refused(request: Request, error: DomainError, again: str, again_label: str) -> Response:
    context = {"user": None, "error": error, "again": again, "again_label": again_label}
    return render(request, "link_refused.html", context, error.status)


# email ------------------------------------------------------------------------------


@router.get("/email/verify")
def verify_email(
    request: Request, emails: EmailsDep, user: CurrentUser, token: str = ""
) -> Response:
    try:
        verified = emails.verify(token)
    except DomainError as exc:
        return _link_refused(request, exc, "/account", "Go to your account to send a new link")
    return render(request, "email_verified.html", {"user": user, "verified": verified})


@router.post("/account/email/resend")
def resend_verification(
    request: Request,
    user: CurrentUser,
    accounts: AccountsDep,
    sessions: SessionsDep,
    emails: EmailsDep,
    state: StateDep,
) -> Response:
    me = _signed_in(user)
    if me.email_verified_at is not None:
        return account_page(
            request, me, accounts, sessions, notices={"email": "Your address is verified."}
        )
    try:
        state.limiter.hit(VERIFICATION_MAILS, f"user:{me.id}")
    except RateLimited as refusal:
        errors = {"email": [refusal.detail]}
        page = account_page(
            request, me, accounts, sessions, form_errors=errors, status=refusal.status
        )
        return _limited(page, refusal)
    emails.send_verification(me)
    notice = (
        f"We sent a new verification link to {me.email}; it works for {VERIFY_LINK_TTL.days} days."
    )
    return account_page(request, me, accounts, sessions, notices={"email": notice})


@router.post("/account/email")
def change_email(
    request: Request,
    fields: FormFields,
    user: CurrentUser,
    accounts: AccountsDep,
    sessions: SessionsDep,
    emails: EmailsDep,
) -> Response:
    me = _signed_in(user)
    new_email = fields.get("email", "").strip()
    try:
        emails.change(me, new_email, fields.get("current_password", ""))
    except DomainError as exc:
        return account_page(
            request,
            me,
            accounts,
            sessions,
            form_errors={"email": [p.message for p in exc.problems]},
            forms={"email": {"email": new_email}},
            status=exc.status,
        )
    notice = f"Your address is now {new_email}: follow the link we mailed there to verify it."
    return account_page(request, me, accounts, sessions, notices={"email": notice})


# passwords --------------------------------------------------------------------------


@router.post("/account/password")
def change_password(
    request: Request,
    fields: FormFields,
    user: CurrentUser,
    accounts: AccountsDep,
    sessions: SessionsDep,
    passwords: PasswordsDep,
) -> Response:
    me = _signed_in(user)
    try:
        ended = passwords.change(
            me,
            fields.get("current_password", ""),
            fields.get("password", ""),
            fields.get("password2", ""),
            request.cookies.get(SESSION_COOKIE, ""),
        )
    except DomainError as exc:
        errors = {"password": [p.message for p in exc.problems]}
        return account_page(request, me, accounts, sessions, form_errors=errors, status=exc.status)
    notice = f"Your password was changed; {ended} other session(s) ended."
    return account_page(request, me, accounts, sessions, notices={"password": notice})


@router.get("/password/forgot")
def forgot_page(request: Request, user: CurrentUser) -> Response:
    return render(request, "forgot.html", {"user": user, "sent": False, "errors": [], "form": {}})


@router.post("/password/forgot")
def forgot(
    request: Request, fields: FormFields, passwords: PasswordsDep, state: StateDep
) -> Response:
    login = fields.get("login", "").strip()
    try:
        state.limiter.hit(RESET_REQUESTS, state.limiter.client_key(client_address(request.scope)))
    except RateLimited as refusal:
        refused = {
            "user": None,
            "sent": False,
            "errors": [refusal.detail],
            "form": {"login": login},
        }
        return _limited(render(request, "forgot.html", refused, refusal.status), refusal)
    if login:
        passwords.forgot(login)
    context: dict[str, object] = {
        "user": None,
        "sent": bool(login),
        "form": {"login": login},
        "hours": RESET_LINK_TTL.seconds // 3600,
        "errors": [] if login else ["enter your username or your email address"],
    }
    return render(request, "forgot.html", context, 200 if login else 400)


@router.get("/password/reset")
def reset_page(request: Request, passwords: PasswordsDep, token: str = "") -> Response:
    try:
        passwords.user_for_reset(token)
    except DomainError as exc:
        return _link_refused(request, exc, "/password/forgot", "Ask for a new link")
    return render(request, "reset.html", {"user": None, "token": token, "errors": []})


@router.post("/password/reset")
def reset(request: Request, fields: FormFields, passwords: PasswordsDep) -> Response:
    token = fields.get("token", "")
    try:
        passwords.user_for_reset(token)
    except DomainError as exc:
        return _link_refused(request, exc, "/password/forgot", "Ask for a new link")
    try:
        user = passwords.reset(token, fields.get("password", ""), fields.get("password2", ""))
    except DomainError as exc:
        again = {"user": None, "token": token, "errors": [p.message for p in exc.problems]}
        return render(request, "reset.html", again, exc.status)
    # A redirect, not a page: the browser drops its dead session cookie first, so the
    # sign-in form's CSRF token is bound to what the browser sends next.
    response = _see_other(f"/login?reset=done&username={quote(user.username)}")
    response.delete_cookie(SESSION_COOKIE)
    return response


# sessions ---------------------------------------------------------------------------


@router.post("/account/sessions/end-others")
def end_other_sessions(
    request: Request, user: CurrentUser, accounts: AccountsDep, sessions: SessionsDep
) -> Response:
    me = _signed_in(user)
    ended = sessions.end_others(me, request.cookies.get(SESSION_COOKIE, ""))
    notice = f"{ended} other session(s) ended."
    return account_page(request, me, accounts, sessions, notices={"sessions": notice})


@router.post("/account/sessions/{session_id}/end")
def end_session(
    session_id: RowIdPath, request: Request, user: CurrentUser, sessions: SessionsDep
) -> Response:
    me = _signed_in(user)
    sessions.end_one(me, session_id)
    # Back to the account page (or to sign-in, if it was this browser's session).
    return _see_other("/account#sessions")
