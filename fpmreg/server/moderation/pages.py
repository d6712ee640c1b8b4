"""Web forms of moderation on the package page: deprecation, for signed-in owners."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from fpmreg.server.accounts.deps import CurrentUser
from fpmreg.server.errors import Unauthenticated
from fpmreg.server.moderation.deps import DeprecationDep
from fpmreg.server.moderation.permissions import Action, require
from fpmreg.server.moderation.roles import principals_for
from fpmreg.server.packages.deps import PackagesDep

router = APIRouter(include_in_schema=False)
# `message`, `replacement`, `action` and the CSRF field, and a few spare.
MAX_FORM_FIELDS = 10


@router.post("/project/{namespace}/{name}/deprecation")
async def deprecation_form(
    namespace: str,
    name: str,
    request: Request,
    user: CurrentUser,
    packages: PackagesDep,
    deprecations: DeprecationDep,
) -> Response:
    """Deprecate (or update, or remove the deprecation of) a package; CSRF checked by
    `csrf.CsrfMiddleware`. Back to the package page, which shows the banner."""
    if user is None:
        raise Unauthenticated("sign-in-required", "sign in to deprecate a package")
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    package = packages.get_package(namespace, name)
    principals = principals_for(packages.session, user, package.namespace_id)
    require(principals, Action.DEPRECATE, f"{package.namespace.name}/{package.name}")
    if fields.get("action") == "undeprecate":
        deprecations.undeprecate(user.id, namespace, name)
    else:
        deprecations.deprecate(
            user.id,
            namespace,
            name,
            message=fields.get("message", ""),
            replacement=fields.get("replacement", ""),
        )
    url = f"/project/{quote(package.namespace.name)}/{quote(package.name)}"
    return RedirectResponse(url, status_code=303)
