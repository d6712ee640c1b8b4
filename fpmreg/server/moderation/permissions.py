"""Who may do what in moderation: the permission matrix of docs/moderation.md.

Pure: a principal's roles and an action in, allowed or not out. Services ask
`require(...)`; the permission-matrix test checks every cell.
"""

from __future__ import annotations

from enum import StrEnum

from fpmreg.server.errors import Forbidden, Unauthenticated


class Principal(StrEnum):
    """A role someone holds with respect to one package (or the whole site)."""

    ANONYMOUS = "anonymous"
    USER = "user"  # signed in
    MAINTAINER = "maintainer"  # a member of the package's namespace
    NAMESPACE_ADMIN = "namespace-admin"
    TRUSTED_REPORTER = "trusted-reporter"
    MODERATOR = "moderator"
    SITE_ADMIN = "site-admin"


class Action(StrEnum):
    """Every moderation action."""

    REPORT = "report"
    VIEW_QUEUE = "view-queue"  # list, filter and read reports
    CLAIM = "claim"
    DECIDE = "decide"  # dismiss, or decide yank / quarantine / delete / advisory
    YANK = "yank"  # and unyank
    DEPRECATE = "deprecate"  # and undeprecate
    QUARANTINE = "quarantine"  # and release
    DELETE_OWN_RECENT = "delete-own-recent"  # owners, within the window or unused
    DELETE_ANY = "delete-any"  # moderators, at any time
    VIEW_PACKAGE_EVENTS = "view-package-events"
    VIEW_ALL_EVENTS = "view-all-events"
    GRANT_ROLES = "grant-roles"


_OWNERS = {Principal.MAINTAINER, Principal.NAMESPACE_ADMIN}
_STAFF = {Principal.MODERATOR, Principal.SITE_ADMIN}
_SIGNED_IN = {Principal.USER, Principal.TRUSTED_REPORTER} | _OWNERS | _STAFF

MATRIX: dict[Action, frozenset[Principal]] = {
    Action.REPORT: frozenset(_SIGNED_IN),
    Action.VIEW_QUEUE: frozenset(_STAFF),
    Action.CLAIM: frozenset(_STAFF),
    Action.DECIDE: frozenset(_STAFF),
    Action.YANK: frozenset(_OWNERS | _STAFF),
    Action.DEPRECATE: frozenset(_OWNERS | _STAFF),
    Action.QUARANTINE: frozenset(_STAFF),
    Action.DELETE_OWN_RECENT: frozenset(_OWNERS | _STAFF),
    Action.DELETE_ANY: frozenset(_STAFF),
    Action.VIEW_PACKAGE_EVENTS: frozenset(_OWNERS | _STAFF),
    Action.VIEW_ALL_EVENTS: frozenset(_STAFF),
    Action.GRANT_ROLES: frozenset({Principal.SITE_ADMIN}),
}


def allowed(principals: set[Principal], action: Action) -> bool:
    """Whether anyone holding `principals` may do `action`."""
    return bool(principals & MATRIX[action])


def require(principals: set[Principal], action: Action, subject: str = "") -> None:
    """Raise `Unauthenticated` for anonymous callers, `Forbidden` for the others."""
    if allowed(principals, action):
        return
    where = f" on `{subject}`" if subject else ""
    if principals <= {Principal.ANONYMOUS}:
        raise Unauthenticated("sign-in-required", f"sign in to {action.value}{where}")
    raise Forbidden(
        "not-permitted",
        f"you may not {action.value}{where}: "
        + ", ".join(sorted(p.value for p in MATRIX[action]))
        + " may",
    )
