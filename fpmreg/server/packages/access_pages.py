"""Pages for who may change a package: its maintainers, and transfers between namespaces.

Every form error is shown on the page of the form that was sent, with every problem."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from fpmreg.server.accounts.deps import AccountsDep, CurrentUser
from fpmreg.server.accounts.models import Role, User
from fpmreg.server.errors import DomainError, Unauthenticated
from fpmreg.server.http import FormFields, RowIdPath, render
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.maintainers import MaintainerService
from fpmreg.server.packages.transfers import TransferService

router = APIRouter(include_in_schema=False)


def _signed_in(user: User | None) -> User:
    if user is None:
        raise Unauthenticated("sign-in-required", "sign in to see this page")
    return user


def _access_page(
    request: Request,
    user: User | None,
    accounts: AccountsDep,
    packages: PackagesDep,
    namespace: str,
    name: str,
    errors: list[str] | None = None,
    status: int = 200,
) -> Response:
    package = packages.get_package(namespace, name)
    role = accounts.role_of(user, package.namespace) if user else None
    context = {
        "user": user,
        "package": package,
        "is_admin": role is Role.ADMIN or bool(user and user.is_admin),
        "maintainers": MaintainerService(accounts, packages).maintainers(package),
        "pending": TransferService(accounts, packages).pending_for(package),
        "errors": errors or [],
    }
    return render(request, "package_access.html", context, status)


@router.get("/namespace/{namespace}/{name}/access")
def access_page(
    request: Request,
    namespace: str,
    name: str,
    user: CurrentUser,
    accounts: AccountsDep,
    packages: PackagesDep,
) -> Response:
    return _access_page(request, user, accounts, packages, namespace, name)


@router.post("/namespace/{namespace}/{name}/maintainers")
def change_maintainer(
    request: Request,
    fields: FormFields,
    namespace: str,
    name: str,
    user: CurrentUser,
    accounts: AccountsDep,
    packages: PackagesDep,
) -> Response:
    me = _signed_in(user)
    service = MaintainerService(accounts, packages)
    username = fields.get("username", "").strip()
    try:
        if fields.get("action") == "remove":
            service.remove_maintainer(me, namespace, name, username)
        else:
            service.add_maintainer(me, namespace, name, username)
    except DomainError as exc:
        errors = [p.message for p in exc.problems]
        return _access_page(request, me, accounts, packages, namespace, name, errors, exc.status)
    return RedirectResponse(f"/namespace/{namespace}/{name}/access", status_code=303)


@router.post("/namespace/{namespace}/{name}/transfer")
def request_transfer(
    request: Request,
    fields: FormFields,
    namespace: str,
    name: str,
    user: CurrentUser,
    accounts: AccountsDep,
    packages: PackagesDep,
) -> Response:
    me = _signed_in(user)
    try:
        TransferService(accounts, packages).request_transfer(
            me, namespace, name, fields.get("to_namespace", "").strip()
        )
    except DomainError as exc:
        errors = [p.message for p in exc.problems]
        return _access_page(request, me, accounts, packages, namespace, name, errors, exc.status)
    return RedirectResponse(f"/namespace/{namespace}/{name}/access", status_code=303)


def _transfers_page(
    request: Request,
    me: User,
    accounts: AccountsDep,
    packages: PackagesDep,
    namespace: str,
    errors: list[str] | None = None,
    status: int = 200,
) -> Response:
    ns = accounts.get_namespace(namespace)
    service = TransferService(accounts, packages)
    rows = [(t, *service.get(t.id)[1:]) for t in service.involving(ns)]
    context = {"user": me, "namespace": ns, "transfers": rows, "errors": errors or []}
    return render(request, "namespace_transfers.html", context, status)


@router.get("/namespace/{namespace}/transfers")
def transfers_page(
    request: Request,
    namespace: str,
    user: CurrentUser,
    accounts: AccountsDep,
    packages: PackagesDep,
) -> Response:
    return _transfers_page(request, _signed_in(user), accounts, packages, namespace)


@router.post("/namespace/{namespace}/transfers/{transfer_id}")
def decide_transfer(
    request: Request,
    fields: FormFields,
    namespace: str,
    transfer_id: RowIdPath,
    user: CurrentUser,
    accounts: AccountsDep,
    packages: PackagesDep,
) -> Response:
    me = _signed_in(user)
    service = TransferService(accounts, packages)
    try:
        if fields.get("action") == "accept":
            service.accept(me, transfer_id)
        else:
            service.cancel(me, transfer_id)
    except DomainError as exc:
        errors = [p.message for p in exc.problems]
        return _transfers_page(request, me, accounts, packages, namespace, errors, exc.status)
    return RedirectResponse(f"/namespace/{namespace}/transfers", status_code=303)
