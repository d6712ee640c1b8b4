"""The accounts domain's dependency aliases for handlers: `AccountsDep`, `CurrentUser`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from fpmreg.server.accounts.models import User
from fpmreg.server.accounts.service import AccountsService
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


def current_user(request: Request, accounts: AccountsDep) -> User | None:
    """The signed-in user of a browser session, if any."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return accounts.user_for_session(cookie) if cookie else None


CurrentUser = Annotated[User | None, Depends(current_user)]
