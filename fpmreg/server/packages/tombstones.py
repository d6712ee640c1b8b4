"""Tombstones as the packages domain reads them: what was deleted, and what it blocks.

The moderation domain writes them (`moderation/deletion.py`); the packages domain
refuses to serve, or to publish again, what they name (docs/registry-rules.md, "Yank,
deprecate, quarantine, delete"). Only public facts are shown: when and the category.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.names import canonical_name, confusable_name
from fpmreg.server.errors import Gone
from fpmreg.server.packages.models import Tombstone


def tombstone_path(tombstone: Tombstone) -> str:
    """The tombstone page: the package's (or the version's) own URL, answering 410."""
    path = f"/project/{tombstone.namespace}/{tombstone.name}"
    return f"{path}/{tombstone.version}" if tombstone.version else path


def tombstone_label(tombstone: Tombstone) -> str:
    """`ns/name@version`, or `ns/name` for a whole package."""
    label = f"{tombstone.namespace}/{tombstone.name}"
    return f"{label}@{tombstone.version}" if tombstone.version else label


def tombstone_message(tombstone: Tombstone, base_url: str = "") -> str:
    """The sentence every client prints: what, when, the category and the page."""
    return (
        f"{tombstone_label(tombstone)} was deleted from the registry on "
        f"{tombstone.deleted_at:%Y-%m-%d} ({tombstone.category}): see "
        f"{base_url}{tombstone_path(tombstone)}"
    )


class Removed(Gone):
    """A `Gone` naming the tombstone of what was asked for."""

    def __init__(self, tombstone: Tombstone, base_url: str = "") -> None:
        code = "version-deleted" if tombstone.version else "package-deleted"
        super().__init__(code, tombstone_message(tombstone, base_url))
        self.tombstone = tombstone


def find_tombstone(
    session: Session, namespace: str, name: str, version: str = ""
) -> Tombstone | None:
    """The tombstone of `namespace/name@version` (`version=""`: of the whole package)."""
    return session.scalar(
        select(Tombstone).where(
            Tombstone.namespace_canonical == canonical_name(namespace),
            Tombstone.package_canonical == canonical_name(name),
            Tombstone.version == version,
        )
    )


def version_tombstones(session: Session, namespace: str, name: str) -> list[Tombstone]:
    """Every deleted version of a package, newest deletion first."""
    return list(
        session.scalars(
            select(Tombstone)
            .where(
                Tombstone.namespace_canonical == canonical_name(namespace),
                Tombstone.package_canonical == canonical_name(name),
                Tombstone.version != "",
            )
            .order_by(Tombstone.deleted_at.desc(), Tombstone.id.desc())
        ).all()
    )


def held_name(session: Session, namespace: str, name: str, now: datetime) -> Tombstone | None:
    """The tombstone holding `namespace/name` against a new package, if the hold runs:
    that of the same name, or of a deleted package it is confusable with (`tooIbox` for
    a deleted `toolbox`), so a look-alike cannot take a removed package's place."""
    tombstone = find_tombstone(session, namespace, name)
    if tombstone is not None and tombstone.name_held_until is not None:
        return tombstone if tombstone.name_held_until > now else None
    held = session.scalars(
        select(Tombstone).where(
            Tombstone.namespace_canonical == canonical_name(namespace),
            Tombstone.version == "",
            Tombstone.name_held_until > now,
        )
    )
    twin = confusable_name(name)
    return next((t for t in held if confusable_name(t.name) == twin), None)
