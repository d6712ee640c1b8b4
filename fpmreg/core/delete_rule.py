"""When the owners of a package may delete a version of it themselves (crates.io's rule).

Pure: the facts about one version in, a decision and the reason out. Moderators may
delete at any time; owners only while a release is fresh, or when it is so little used
that removing it breaks nobody (docs/registry-rules.md, "Yank, deprecate, quarantine,
delete"; crates.io's "crate deletion" policy, RFC 3660).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# A release is usually found broken (or published by mistake) within days; within this
# window nobody has had time to depend on it, so its owners may take it back.
OWNER_DELETE_WINDOW = timedelta(hours=72)
# After the window, an owner may still delete a version nothing depends on if it has
# fewer downloads than this: few users, and none through another package (crates.io).
OWNER_DELETE_MAX_DOWNLOADS = 100


@dataclass(frozen=True, slots=True)
class OwnerDelete:
    """Whether owners may delete, and a sentence saying why (or why not)."""

    allowed: bool
    reason: str


def may_owner_delete(
    published_at: datetime, now: datetime, *, dependents: int, downloads: int
) -> OwnerDelete:
    """The owners' rule for one version: within the window, or unused and rarely fetched.

    `dependents` counts other packages' versions that list it as a dependency;
    `downloads` is its all-time download count."""
    hours = int(OWNER_DELETE_WINDOW.total_seconds() // 3600)
    if now - published_at <= OWNER_DELETE_WINDOW:
        return OwnerDelete(True, f"published less than {hours} hours ago")
    if dependents == 0 and downloads < OWNER_DELETE_MAX_DOWNLOADS:
        return OwnerDelete(
            True,
            f"nothing depends on it and it has fewer than {OWNER_DELETE_MAX_DOWNLOADS} downloads",
        )
    why = []
    if dependents:
        why.append(f"{dependents} other package version(s) depend on it")
    if downloads >= OWNER_DELETE_MAX_DOWNLOADS:
        why.append(
            f"it has {downloads} downloads (owners may delete under {OWNER_DELETE_MAX_DOWNLOADS})"
        )
    return OwnerDelete(
        False,
        f"it was published more than {hours} hours ago and "
        + " and ".join(why)
        + ": yank it instead, or report it to the moderators",
    )
