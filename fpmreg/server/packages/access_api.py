"""`/api/v1` endpoints for who may change a package: its maintainers, and transfers to
another namespace. Callers: a session, or a token with the `manage` scope for the
namespace concerned (docs/accounts-tokens.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path

from fpmreg.core.wire import MAX_ROW_ID
from fpmreg.core.wire.accounts import (
    MaintainerList,
    TransferCreate,
    TransferInfo,
)
from fpmreg.core.wire.accounts import (
    PackageMaintainer as MaintainerEntry,
)
from fpmreg.server.accounts.deps import AccountsDep, CallerDep
from fpmreg.server.accounts.models import User
from fpmreg.server.errors import Forbidden
from fpmreg.server.openapi import BEARER, api_errors
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.maintainers import MaintainerService
from fpmreg.server.packages.models import PackageTransfer
from fpmreg.server.packages.schemas import NamePath, NamespacePath
from fpmreg.server.packages.transfers import TransferService, transfer_state

router = APIRouter(prefix="/api/v1", tags=["packages"])
UsernamePath = Annotated[str, Path(max_length=200, description="a user")]
TransferPath = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="a transfer's id")]
_SECURED = [Depends(BEARER)]


def _list(service: MaintainerService, namespace: str, name: str) -> MaintainerList:
    package = service.packages.get_package(namespace, name)
    return MaintainerList(
        namespace=package.namespace.name,
        name=package.name,
        maintainers=[
            MaintainerEntry(username=m.user.username, added_at=m.created_at)
            for m in service.maintainers(package)
        ],
    )


@router.get(
    "/packages/{namespace}/{name}/maintainers",
    summary="A package's maintainers",
    response_model=MaintainerList,
    responses=api_errors(404),
)
def list_maintainers(
    namespace: NamespacePath, name: NamePath, accounts: AccountsDep, packages: PackagesDep
) -> MaintainerList:
    """Users who maintain this package without being members of its namespace."""
    return _list(MaintainerService(accounts, packages), namespace, name)


@router.put(
    "/packages/{namespace}/{name}/maintainers/{username}",
    summary="Add a package maintainer",
    response_model=MaintainerList,
    responses=api_errors(401, 403, 404, 409, 422),
    dependencies=_SECURED,
)
def add_maintainer(
    namespace: NamespacePath,
    name: NamePath,
    username: UsernamePath,
    caller: CallerDep,
    accounts: AccountsDep,
    packages: PackagesDep,
) -> MaintainerList:
    """Namespace admins only; the maintainer may then publish and yank this package."""
    service = MaintainerService(accounts, packages)
    caller.require_manage(accounts.get_namespace(namespace), name)
    service.add_maintainer(caller.user, namespace, name, username)
    return _list(service, namespace, name)


@router.delete(
    "/packages/{namespace}/{name}/maintainers/{username}",
    summary="Remove a package maintainer",
    response_model=MaintainerList,
    responses=api_errors(401, 403, 404, 422),
    dependencies=_SECURED,
)
def remove_maintainer(
    namespace: NamespacePath,
    name: NamePath,
    username: UsernamePath,
    caller: CallerDep,
    accounts: AccountsDep,
    packages: PackagesDep,
) -> MaintainerList:
    """Their tokens for the package stop working at once."""
    service = MaintainerService(accounts, packages)
    caller.require_manage(accounts.get_namespace(namespace), name)
    service.remove_maintainer(caller.user, namespace, name, username)
    return _list(service, namespace, name)


def transfer_info(service: TransferService, row: PackageTransfer, source: str = "") -> TransferInfo:
    """The wire form of a transfer (`source`: where it came from, once it moved)."""
    _, package, target = service.get(row.id)
    by = service.session.get(User, row.requested_by_id) if row.requested_by_id else None
    return TransferInfo(
        id=row.id,
        package=f"{package.namespace.name}/{package.name}",
        from_namespace=source or package.namespace.name,
        to_namespace=target.name,
        requested_by=by.username if by else "",
        created_at=row.created_at,
        state=transfer_state(row),
    )


@router.post(
    "/packages/{namespace}/{name}/transfers",
    summary="Ask to move a package to another namespace",
    status_code=201,
    response_model=TransferInfo,
    responses=api_errors(400, 401, 403, 404, 409, 422),
    dependencies=_SECURED,
)
def request_transfer(
    namespace: NamespacePath,
    name: NamePath,
    body: Annotated[TransferCreate, Body()],
    caller: CallerDep,
    accounts: AccountsDep,
    packages: PackagesDep,
) -> TransferInfo:
    """An admin of the package's namespace asks; an admin of the target accepts."""
    service = TransferService(accounts, packages)
    caller.require_manage(accounts.get_namespace(namespace))
    row = service.request_transfer(caller.user, namespace, name, body.to_namespace)
    return transfer_info(service, row)


@router.post(
    "/transfers/{transfer_id}/accept",
    summary="Accept a package transfer into your namespace",
    response_model=TransferInfo,
    responses=api_errors(401, 403, 404, 409, 422),
    dependencies=_SECURED,
)
def accept_transfer(
    transfer_id: TransferPath, caller: CallerDep, accounts: AccountsDep, packages: PackagesDep
) -> TransferInfo:
    """The package moves now; its old URLs answer 404."""
    service = TransferService(accounts, packages)
    _, package, target = service.get(transfer_id)
    caller.require_manage(target)
    source = package.namespace.name
    return transfer_info(service, service.accept(caller.user, transfer_id), source)


@router.post(
    "/transfers/{transfer_id}/cancel",
    summary="Cancel a pending package transfer",
    response_model=TransferInfo,
    responses=api_errors(401, 403, 404, 409, 422),
    dependencies=_SECURED,
)
def cancel_transfer(
    transfer_id: TransferPath, caller: CallerDep, accounts: AccountsDep, packages: PackagesDep
) -> TransferInfo:
    """Either namespace's admins may cancel while it is pending."""
    service = TransferService(accounts, packages)
    _, package, target = service.get(transfer_id)
    try:
        caller.require_manage(package.namespace)
    except Forbidden:
        caller.require_manage(target)
    return transfer_info(service, service.cancel(caller.user, transfer_id))
