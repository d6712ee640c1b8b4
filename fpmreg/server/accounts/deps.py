"""The accounts domain's dependency aliases for handlers: `AccountsDep`, `CurrentUser`,
the API's caller (`CallerDep`, `ApiUser`) and the services of sessions, email addresses
and passwords.

An API caller is a bearer token (any scope; handlers check the scope they need) or a
signed-in browser. A browser's unsafe requests must carry its CSRF token in
`X-CSRF-Token`: the JSON API is exempt from the form middleware (`fpmreg.server.csrf`)
because it reads no form field, and a cross-site page cannot set that header."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials

from fpmreg.server.accounts.emails import Emails
from fpmreg.server.accounts.models import User
from fpmreg.server.accounts.passwords import Passwords
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.accounts.sessions import WebSessions
from fpmreg.server.accounts.tokens import Caller, PackagesView, TokenManager
from fpmreg.server.csrf import SAFE_METHODS
from fpmreg.server.errors import Unauthenticated
from fpmreg.server.http import SESSION_COOKIE, SessionDep, StateDep, verify_csrf
from fpmreg.server.openapi import BEARER


def accounts_service(request: Request, state: StateDep, session: SessionDep) -> AccountsService:
    """The accounts service on this request's session (with the packages domain's view
    of maintainers, plugged in by `create_app` as `app.state.packages_view`)."""
    view: PackagesView | None = getattr(request.app.state, "packages_view", None)
    return AccountsService(
        session,
        state.clock,
        session_days=state.settings.session_days,
        max_token_days=state.settings.max_token_days,
        packages=view,
    )


AccountsDep = Annotated[AccountsService, Depends(accounts_service)]


def web_sessions(state: StateDep, session: SessionDep) -> WebSessions:
    """Browser sessions on this request's session."""
    return WebSessions(session, state.clock, session_days=state.settings.session_days)


SessionsDep = Annotated[WebSessions, Depends(web_sessions)]


def emails_service(state: StateDep, session: SessionDep) -> Emails:
    """Email verification and changes on this request's session."""
    settings = state.settings
    return Emails(session, state.clock, secret_key=settings.secret_key, base_url=settings.base_url)


EmailsDep = Annotated[Emails, Depends(emails_service)]


def passwords_service(state: StateDep, session: SessionDep, sessions: SessionsDep) -> Passwords:
    """Password changes and resets on this request's session."""
    settings = state.settings
    return Passwords(
        session,
        state.clock,
        secret_key=settings.secret_key,
        base_url=settings.base_url,
        sessions=sessions,
    )


PasswordsDep = Annotated[Passwords, Depends(passwords_service)]


def current_user(request: Request, sessions: SessionsDep) -> User | None:
    """The signed-in user of a browser session, if any."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return sessions.user_for(cookie) if cookie else None


CurrentUser = Annotated[User | None, Depends(current_user)]


CSRF_HEADER = "X-CSRF-Token"


def api_caller(
    request: Request,
    accounts: AccountsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    csrf: Annotated[str, Header(alias=CSRF_HEADER, include_in_schema=False)] = "",
) -> Caller:
    """The token of `Authorization: Bearer`, else the browser's session, else 401."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer":
            raise Unauthenticated(
                "authorization-scheme",
                "send the token as `Authorization: Bearer <token>`",
                "authorization",
            )
        return TokenManager(accounts).caller_for_token(secret.strip())
    cookie = request.cookies.get(SESSION_COOKIE, "")
    user = accounts.user_for_session(cookie) if cookie else None
    if user is None:
        raise Unauthenticated(
            "token-missing",
            "send an API token as `Authorization: Bearer <token>`, or sign in",
            "authorization",
        )
    if request.method not in SAFE_METHODS:
        verify_csrf(request, csrf)
    return Caller(user)


CallerDep = Annotated[Caller, Depends(api_caller)]


def api_user(caller: CallerDep) -> User:
    """The user behind the API call (a token's owner, or the signed-in browser's)."""
    return caller.user


ApiUser = Annotated[User, Depends(api_user)]
