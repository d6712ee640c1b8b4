"""Web forms of moderation on the package page.

- Deprecation, for signed-in owners (and moderators).
- Quarantine and release, delete a version, delete the package: moderators and site
  admins. Owners see "delete this version" only while `may_owner_delete` allows it.

Every form is CSRF-checked by `csrf.CsrfMiddleware`; a reason and a category are
required, and a delete needs the package's name typed as confirmation. Success
redirects back to the package page with a notice (`?moderation=…`); a refused form
redirects back with the error's code (`?moderation-error=…&form=…`), which
`moderation_actions` turns into a fixed sentence shown inside that form, so nothing a
visitor puts in the URL is ever echoed.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from fpmreg.core.delete_rule import (
    OWNER_DELETE_MAX_DOWNLOADS,
    OWNER_DELETE_WINDOW,
    may_owner_delete,
)
from fpmreg.core.wire.moderation import CATEGORIES
from fpmreg.server.accounts.deps import CurrentUser
from fpmreg.server.accounts.models import User
from fpmreg.server.errors import DomainError, InvalidInput, Unauthenticated
from fpmreg.server.http import FormFields, app_state
from fpmreg.server.moderation.deps import (
    DeletionDep,
    DeprecationDep,
    QuarantineDep,
    moderation_wiring,
)
from fpmreg.server.moderation.permissions import Action, Principal, allowed, require
from fpmreg.server.moderation.roles import principals_for
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.models import Package, Version
from fpmreg.server.packages.service import PackagesService
from fpmreg.server.packages.tombstones import tombstone_path

router = APIRouter(include_in_schema=False)
# `message`, `replacement`, `action` and the CSRF field, and a few spare.
MAX_FORM_FIELDS = 10

_HOURS = int(OWNER_DELETE_WINDOW.total_seconds() // 3600)
# What `?moderation=KEY` shows after a form succeeded.
NOTICES = {
    "quarantined": "The package is quarantined: nobody can install it until a moderator "
    "releases it.",
    "released": "The package is released from quarantine: it can be installed again.",
    "version-deleted": "The version was deleted; its number can never be published again.",
}
# What `?moderation-error=CODE` shows in the form that was refused: what to fix.
ERRORS = {
    "reason-missing": "Give a reason: it is kept in the audit log, never shown publicly.",
    "reason-too-long": "The reason is too long: say it in under 2000 characters.",
    "category-invalid": "Choose a category from the list.",
    "confirmation-mismatch": "Type the package name exactly to confirm the deletion.",
    "package-not-quarantined": "The package is not quarantined: there is nothing to release.",
    "owner-delete-refused": f"Owners may delete a version only within {_HOURS} hours of "
    f"publishing it, or when nothing depends on it and it has fewer than "
    f"{OWNER_DELETE_MAX_DOWNLOADS} downloads: yank it instead, or report it to the "
    "moderators.",
}
FORMS = ("quarantine", "delete-version", "delete-package")
_STAFF = {Principal.MODERATOR, Principal.SITE_ADMIN}


@dataclass(frozen=True)
class ModerationActions:
    """What `_moderation_actions.html` shows on one package page."""

    moderate: bool  # quarantine / release, delete the version, delete the package
    owner_delete: bool  # the owners' "delete this version"
    owner_delete_why: str  # why the owners' rule allows it
    categories: tuple[str, ...]
    notice: str
    error: str
    error_form: str  # which form `error` belongs to


def moderation_actions(
    request: Request,
    user: User | None,
    packages: PackagesService,
    principals: set[Principal],
    package: Package,
    shown: Version,
) -> ModerationActions:
    """The moderation forms the package page offers `user` for the `shown` version."""
    moderate = user is not None and bool(principals & _STAFF)
    owner_delete, why = False, ""
    if user is not None and not moderate and allowed(principals, Action.DELETE_OWN_RECENT):
        verdict = may_owner_delete(
            shown.published_at,
            app_state(request).clock.now(),
            dependents=packages.dependents(package, shown.version),
            downloads=moderation_wiring(request.app).download_totals(packages.session, [shown.id]),
        )
        owner_delete, why = verdict.allowed, verdict.reason
    query = request.query_params
    error_form = query.get("form", "")
    return ModerationActions(
        moderate=moderate,
        owner_delete=owner_delete,
        owner_delete_why=why,
        categories=CATEGORIES,
        notice=NOTICES.get(query.get("moderation", ""), ""),
        error=ERRORS.get(query.get("moderation-error", ""), ""),
        error_form=error_form if error_form in FORMS else "",
    )


# helpers of the handlers -------------------------------------------------------------


def _signed_in(user: User | None, doing: str) -> User:
    if user is None:
        raise Unauthenticated("sign-in-required", f"sign in to {doing}")
    return user


def _page(package: Package, version: str = "", **query: str) -> str:
    url = f"/project/{quote(package.namespace.name)}/{quote(package.name)}"
    url += f"/{quote(version)}" if version else ""
    return f"{url}?{urlencode(query)}" if query else url


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _refused(package: Package, form: str, error: DomainError, version: str = "") -> Response:
    """Back to the page of the form with the error shown in `form`, or the error page
    for errors no form can fix (not permitted, not found)."""
    code = error.problems[0].code
    if code not in ERRORS:
        raise error
    return _see_other(_page(package, version, **{"moderation-error": code, "form": form}))


def _confirm(package: Package, fields: dict[str, str]) -> None:
    if fields.get("confirm", "").strip() != package.name:
        raise InvalidInput(
            "confirmation-mismatch",
            f"type `{package.name}` to confirm the deletion",
            "confirm",
        )


def _moderation(fields: dict[str, str]) -> tuple[str, str]:
    return fields.get("reason", ""), fields.get("category", "")


# the forms ---------------------------------------------------------------------------


@router.post("/project/{namespace}/{name}/deprecation")
def deprecation_form(
    namespace: str,
    name: str,
    request: Request,
    fields: FormFields,
    user: CurrentUser,
    packages: PackagesDep,
    deprecations: DeprecationDep,
) -> Response:
    """Deprecate (or update, or remove the deprecation of) a package. Back to the
    package page, which shows the banner."""
    user = _signed_in(user, "deprecate a package")
    package = packages.get_package(namespace, name)
    principals = principals_for(packages.session, user, package.namespace_id, package.id)
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
    return _see_other(_page(package))


@router.post("/project/{namespace}/{name}/quarantine")
def quarantine_form(
    namespace: str,
    name: str,
    request: Request,
    fields: FormFields,
    user: CurrentUser,
    packages: PackagesDep,
    quarantines: QuarantineDep,
) -> Response:
    """Quarantine a package (`action=quarantine`, reason and category) or release it
    (`action=release`): moderators and site admins."""
    user = _signed_in(user, "quarantine a package")
    package = packages.get_package(namespace, name)
    principals = principals_for(packages.session, user, package.namespace_id)
    require(principals, Action.QUARANTINE, f"{package.namespace.name}/{package.name}")
    reason, category = _moderation(fields)
    try:
        if fields.get("action") == "release":
            quarantines.release(user.id, namespace, name, reason=reason)
            notice = "released"
        else:
            quarantines.quarantine(user.id, namespace, name, reason=reason, category=category)
            notice = "quarantined"
    except DomainError as error:
        return _refused(package, "quarantine", error)
    return _see_other(_page(package, moderation=notice))


@router.post("/project/{namespace}/{name}/{version}/delete")
def delete_version_form(
    namespace: str,
    name: str,
    version: str,
    request: Request,
    fields: FormFields,
    user: CurrentUser,
    packages: PackagesDep,
    deletions: DeletionDep,
) -> Response:
    """Delete one version for good: moderators at any time, owners within the owners'
    rule. Back to the package page, or to the tombstone if no version is left."""
    user = _signed_in(user, "delete a version")
    package = packages.get_package(namespace, name)
    principals = principals_for(packages.session, user, package.namespace_id)
    require(principals, Action.DELETE_OWN_RECENT, f"{package.namespace.name}/{package.name}")
    reason, category = _moderation(fields)
    try:
        _confirm(package, fields)
        tombstone = deletions.delete_version(
            user.id, principals, namespace, name, version, reason=reason, category=category
        )
    except DomainError as error:
        return _refused(package, "delete-version", error, version)
    if packages.versions(package):
        return _see_other(_page(package, moderation="version-deleted"))
    return _see_other(tombstone_path(tombstone))


@router.post("/project/{namespace}/{name}/delete")
def delete_package_form(
    namespace: str,
    name: str,
    request: Request,
    fields: FormFields,
    user: CurrentUser,
    packages: PackagesDep,
    deletions: DeletionDep,
) -> Response:
    """Delete a package and every version of it: moderators and site admins. To the
    package's tombstone page."""
    user = _signed_in(user, "delete a package")
    package = packages.get_package(namespace, name)
    principals = principals_for(packages.session, user, package.namespace_id)
    require(principals, Action.DELETE_ANY, f"{package.namespace.name}/{package.name}")
    reason, category = _moderation(fields)
    try:
        _confirm(package, fields)
        tombstone = deletions.delete_package(
            user.id, principals, namespace, name, reason=reason, category=category
        )
    except DomainError as error:
        return _refused(package, "delete-package", error)
    return _see_other(tombstone_path(tombstone))
