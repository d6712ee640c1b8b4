"""The accounts domain's dependency aliases for handlers: `AccountsDep`, `CurrentUser`,
and the services of sessions, email addresses and passwords."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from fpmreg.server.accounts.emails import Emails
from fpmreg.server.accounts.models import User
from fpmreg.server.accounts.passwords import Passwords
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.accounts.sessions import WebSessions
from fpmreg.server.accounts.tokens import PackagesView
from fpmreg.server.http import SESSION_COOKIE, SessionDep, StateDep


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
