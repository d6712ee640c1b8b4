"""The `/api/v1` JSON endpoints of the accounts domain (a namespace with its packages is
answered by `fpmreg.server.web.api`, above both domains)."""

from __future__ import annotations

from fastapi import APIRouter

from fpmreg.core.wire.accounts import Membership, UserProfile
from fpmreg.server.accounts.deps import AccountsDep
from fpmreg.server.errors import NotFound
from fpmreg.server.openapi import api_errors

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.get(
    "/users/{username}",
    summary="A user's public profile",
    response_model=UserProfile,
    responses=api_errors(404),
)
def get_user(username: str, accounts: AccountsDep) -> UserProfile:
    """Username and namespaces; never the email address."""
    user = accounts.user_by_name(username)
    if user is None:
        raise NotFound("user-not-found", f"there is no user `{username}`")
    return UserProfile(
        username=user.username,
        namespaces=[
            Membership(name=m.namespace.name, role=m.role) for m in accounts.namespaces_of(user)
        ],
    )
