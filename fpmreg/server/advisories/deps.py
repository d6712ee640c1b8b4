"""The advisories domain's wiring and dependency aliases: `AdvisoriesDep`, `Credentials`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from fpmreg.server.accounts.models import Scope, User
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.advisories.notices import NoListener, PublishListener
from fpmreg.server.advisories.service import AdvisoriesService, is_security_team
from fpmreg.server.errors import Forbidden, Unauthenticated
from fpmreg.server.http import SessionDep, StateDep
from fpmreg.server.openapi import BEARER
from fpmreg.server.packages.models import Package


@dataclass
class AdvisoriesWiring:
    """What `create_app` plugs into the advisories domain (on `app.state.advisories`)."""

    listener: PublishListener = field(default_factory=NoListener)


def advisories_wiring(app: Any) -> AdvisoriesWiring:
    """The advisories wiring of an app (the defaults if `create_app` set none)."""
    wiring: AdvisoriesWiring | None = getattr(app.state, "advisories", None)
    return wiring if wiring is not None else AdvisoriesWiring()


def advisories_service(request: Request, state: StateDep, session: SessionDep) -> AdvisoriesService:
    """The advisories service on this request's session."""
    return AdvisoriesService(
        session,
        state.clock,
        prefix=state.settings.advisory_prefix,
        listener=advisories_wiring(request.app).listener,
        changes=state.changes,
    )


AdvisoriesDep = Annotated[AdvisoriesService, Depends(advisories_service)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]


def token_user(
    accounts: AccountsService,
    credentials: HTTPAuthorizationCredentials | None,
    package: Package | None,
) -> User:
    """The owner of a `manage` token allowed to write advisories of `package`.

    The security team (and site admins) act on any package with a token of their own;
    anyone else needs a token of the package's namespace (or of that package)."""
    secret = credentials.credentials.strip() if credentials else ""
    if not secret:
        raise Unauthenticated(
            "token-missing",
            "send a token with the `manage` scope as `Authorization: Bearer <token>`",
            "authorization",
        )
    grant = accounts.authorize_token(secret, Scope.MANAGE, package=None)
    if package is None or is_security_team(accounts.session, grant.user):
        return grant.user
    if grant.namespace.id != package.namespace_id:
        raise Forbidden(
            "token-namespace",
            f"the token is for namespace `{grant.namespace.name}`, not `{package.namespace.name}`",
            "authorization",
        )
    grant.check_package(package.name)
    return grant.user
