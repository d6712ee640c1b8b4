"""`/api/v1` endpoints of moderation: yank, deprecation, quarantine and deletion.

Every one takes an API token (`Authorization: Bearer …`): owners act on their own
namespace's packages (a token for that namespace, or that package); moderators and site
admins on any package, with a token of their own. Yank needs the `yank` scope, the
others `manage`. The services check what may change; `require` who may change it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.orm import Session

from fpmreg.core.wire.index import YankRequest, YankState
from fpmreg.core.wire.moderation import (
    DeprecationRequest,
    DeprecationState,
    ModerationRequest,
    QuarantineState,
    ReleaseRequest,
    TombstoneInfo,
)
from fpmreg.server.accounts.deps import AccountsDep
from fpmreg.server.accounts.models import Scope, User
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.errors import Forbidden, Unauthenticated
from fpmreg.server.http import SessionDep, StateDep
from fpmreg.server.moderation.deps import DeletionDep, DeprecationDep, QuarantineDep, YankDep
from fpmreg.server.moderation.permissions import Action, Principal, require
from fpmreg.server.moderation.roles import principals_for
from fpmreg.server.moderation.schemas import deprecation_state, quarantine_state, tombstone_info
from fpmreg.server.openapi import BEARER, api_errors
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.models import Package
from fpmreg.server.packages.schemas import NamePath, NamespacePath, VersionPath
from fpmreg.server.packages.service import PackagesService

router = APIRouter(prefix="/api/v1", tags=["moderation"])
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
_OWNER = {Principal.MAINTAINER, Principal.NAMESPACE_ADMIN}
_STAFF = {Principal.MODERATOR, Principal.SITE_ADMIN}


def bearer_secret(credentials: HTTPAuthorizationCredentials | None, scope: Scope) -> str:
    """The token of `Authorization: Bearer`, or 401 naming the scope it needs."""
    token = credentials.credentials.strip() if credentials else ""
    if not token:
        raise Unauthenticated(
            "token-missing",
            f"send a token with the `{scope}` scope as `Authorization: Bearer <token>`",
            "authorization",
        )
    return token


def token_principals(
    session: Session,
    accounts: AccountsService,
    credentials: HTTPAuthorizationCredentials | None,
    scope: Scope,
    packages: PackagesService,
    where: tuple[str, str],
) -> tuple[User, set[Principal], Package]:
    """The token's owner, what they are to the package `where` names, and the package.
    The token is checked first (a 401 before any 404 or 410, docs/architecture.md). A
    token for another namespace (or package) acts as its owner only through a site role
    (moderator, admin)."""
    grant = accounts.authorize_token(bearer_secret(credentials, scope), scope, package=None)
    package = packages.get_package(*where)
    principals = principals_for(session, grant.user, package.namespace_id, package.id)
    if principals & _STAFF:
        return grant.user, principals, package
    if grant.namespace.id != package.namespace_id:
        raise Forbidden(
            "token-namespace",
            f"the token is for namespace `{grant.namespace.name}`, not `{package.namespace.name}`",
            "authorization",
        )
    grant.check_package(package.name)
    return grant.user, principals, package


def _actor(
    session: Session,
    accounts: AccountsService,
    credentials: HTTPAuthorizationCredentials | None,
    scope: Scope,
    packages: PackagesService,
    where: tuple[str, str],
    action: Action,
) -> tuple[User, set[Principal], Package]:
    found = token_principals(session, accounts, credentials, scope, packages, where)
    _, principals, package = found
    require(principals, action, f"{package.namespace.name}/{package.name}")
    return found


# yank ------------------------------------------------------------------------------

_YANK_ERRORS = api_errors(400, 401, 403, 404, 409, 410, 422)


def _yank(
    session: Session,
    packages: PackagesDep,
    accounts: AccountsService,
    yanks: YankDep,
    credentials: HTTPAuthorizationCredentials | None,
    where: tuple[str, str, str],
    *,
    yanked: bool,
    reason: str,
) -> YankState:
    namespace, name, version = where
    user, _, package = _actor(
        session, accounts, credentials, Scope.YANK, packages, (namespace, name), Action.YANK
    )
    row = yanks.set_yanked(user.id, namespace, name, version, yanked=yanked, reason=reason)
    return YankState(
        namespace=package.namespace.name,
        name=package.name,
        version=row.version,
        yanked=row.yanked,
        yank_reason=row.yank_reason,
    )


@router.put(
    "/packages/{namespace}/{name}/versions/{version}/yank",
    summary="Yank a version",
    response_model=YankState,
    responses=_YANK_ERRORS,
)
def yank(
    namespace: NamespacePath,
    name: NamePath,
    version: VersionPath,
    request_body: Annotated[YankRequest, Body()],
    session: SessionDep,
    packages: PackagesDep,
    accounts: AccountsDep,
    yanks: YankDep,
    credentials: Credentials,
) -> YankState:
    """Stop offering a version as latest or for new resolutions; it stays downloadable.

    Yanking it again with another reason updates the reason."""
    return _yank(
        session,
        packages,
        accounts,
        yanks,
        credentials,
        (namespace, name, version),
        yanked=True,
        reason=request_body.reason,
    )


@router.delete(
    "/packages/{namespace}/{name}/versions/{version}/yank",
    summary="Unyank",
    response_model=YankState,
    responses=_YANK_ERRORS,
)
def unyank(
    namespace: NamespacePath,
    name: NamePath,
    version: VersionPath,
    session: SessionDep,
    packages: PackagesDep,
    accounts: AccountsDep,
    yanks: YankDep,
    credentials: Credentials,
) -> YankState:
    """Offer a yanked version again (409 `version-not-yanked` if it is not yanked)."""
    return _yank(
        session,
        packages,
        accounts,
        yanks,
        credentials,
        (namespace, name, version),
        yanked=False,
        reason="",
    )


# deprecation -----------------------------------------------------------------------

_ERRORS = api_errors(400, 401, 403, 404, 409, 410, 422)


@router.put(
    "/packages/{namespace}/{name}/deprecation",
    summary="Deprecate a package",
    response_model=DeprecationState,
    responses=_ERRORS,
)
def deprecate(
    namespace: NamespacePath,
    name: NamePath,
    request_body: Annotated[DeprecationRequest, Body()],
    session: SessionDep,
    packages: PackagesDep,
    accounts: AccountsDep,
    deprecations: DeprecationDep,
    credentials: Credentials,
) -> DeprecationState:
    """Show a banner and make clients warn; `replacement` (`namespace/name`) is named as
    what to use instead. Sending it again replaces the message. Needs `manage`."""
    user, _, package = _actor(
        session, accounts, credentials, Scope.MANAGE, packages, (namespace, name), Action.DEPRECATE
    )
    deprecations.deprecate(
        user.id,
        namespace,
        name,
        message=request_body.message,
        replacement=request_body.replacement,
    )
    return deprecation_state(package)


@router.delete(
    "/packages/{namespace}/{name}/deprecation",
    summary="Undeprecate a package",
    response_model=DeprecationState,
    responses=_ERRORS,
)
def undeprecate(
    namespace: NamespacePath,
    name: NamePath,
    session: SessionDep,
    packages: PackagesDep,
    accounts: AccountsDep,
    deprecations: DeprecationDep,
    credentials: Credentials,
) -> DeprecationState:
    """Remove the deprecation (409 `package-not-deprecated` if there is none)."""
    user, _, package = _actor(
        session, accounts, credentials, Scope.MANAGE, packages, (namespace, name), Action.DEPRECATE
    )
    deprecations.undeprecate(user.id, namespace, name)
    return deprecation_state(package)


# quarantine ------------------------------------------------------------------------


@router.put(
    "/packages/{namespace}/{name}/quarantine",
    summary="Quarantine a package (moderators)",
    response_model=QuarantineState,
    responses=_ERRORS,
)
def quarantine(
    namespace: NamespacePath,
    name: NamePath,
    request_body: Annotated[ModerationRequest, Body()],
    session: SessionDep,
    packages: PackagesDep,
    accounts: AccountsDep,
    quarantines: QuarantineDep,
    credentials: Credentials,
) -> QuarantineState:
    """Make it uninstallable and unlisted, and freeze its owners' publishing, until a
    moderator releases it. Needs a moderator's token with `manage`."""
    user, _, package = _actor(
        session, accounts, credentials, Scope.MANAGE, packages, (namespace, name), Action.QUARANTINE
    )
    quarantines.quarantine(
        user.id, namespace, name, reason=request_body.reason, category=request_body.category
    )
    return quarantine_state(package)


@router.delete(
    "/packages/{namespace}/{name}/quarantine",
    summary="Release a package from quarantine (moderators)",
    response_model=QuarantineState,
    responses=_ERRORS,
)
def release(
    namespace: NamespacePath,
    name: NamePath,
    session: SessionDep,
    packages: PackagesDep,
    accounts: AccountsDep,
    quarantines: QuarantineDep,
    credentials: Credentials,
    request_body: Annotated[ReleaseRequest | None, Body()] = None,
) -> QuarantineState:
    """Installable and listed again (409 `package-not-quarantined` if it is not)."""
    user, _, package = _actor(
        session, accounts, credentials, Scope.MANAGE, packages, (namespace, name), Action.QUARANTINE
    )
    reason = request_body.reason if request_body is not None else ""
    quarantines.release(user.id, namespace, name, reason=reason)
    return quarantine_state(package)


# deletion --------------------------------------------------------------------------


@router.delete(
    "/packages/{namespace}/{name}/versions/{version}",
    summary="Delete a version for good",
    response_model=TombstoneInfo,
    responses=_ERRORS,
)
def delete_version(
    namespace: NamespacePath,
    name: NamePath,
    version: VersionPath,
    request_body: Annotated[ModerationRequest, Body()],
    state: StateDep,
    session: SessionDep,
    packages: PackagesDep,
    accounts: AccountsDep,
    deletions: DeletionDep,
    credentials: Credentials,
) -> TombstoneInfo:
    """Remove the version and its tarball; `namespace/name@version` can never be
    published again. Owners only within 72 hours of publishing, or when nothing depends
    on it and it has fewer than 100 downloads; moderators at any time. Needs `manage`."""
    user, principals, _ = token_principals(
        session, accounts, credentials, Scope.MANAGE, packages, (namespace, name)
    )
    tombstone = deletions.delete_version(
        user.id,
        principals,
        namespace,
        name,
        version,
        reason=request_body.reason,
        category=request_body.category,
    )
    return tombstone_info(tombstone, state.settings.base_url)


@router.delete(
    "/packages/{namespace}/{name}",
    summary="Delete a package for good",
    response_model=TombstoneInfo,
    responses=_ERRORS,
)
def delete_package(
    namespace: NamespacePath,
    name: NamePath,
    request_body: Annotated[ModerationRequest, Body()],
    state: StateDep,
    session: SessionDep,
    packages: PackagesDep,
    accounts: AccountsDep,
    deletions: DeletionDep,
    credentials: Credentials,
) -> TombstoneInfo:
    """Remove every version and tarball; the name is held for 90 days. The owners'
    rule applies to every version. Needs `manage`."""
    user, principals, _ = token_principals(
        session, accounts, credentials, Scope.MANAGE, packages, (namespace, name)
    )
    tombstone = deletions.delete_package(
        user.id,
        principals,
        namespace,
        name,
        reason=request_body.reason,
        category=request_body.category,
    )
    return tombstone_info(tombstone, state.settings.base_url)
