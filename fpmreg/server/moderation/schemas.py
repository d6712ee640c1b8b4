"""How moderation states are shown on `/api/v1` (`fpmreg.core.wire.moderation`)."""

from __future__ import annotations

from datetime import datetime

from fpmreg.core.wire.moderation import DeprecationState, QuarantineState, TombstoneInfo
from fpmreg.server.packages.models import Package, Tombstone
from fpmreg.server.packages.tombstones import tombstone_path


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def deprecation_state(package: Package) -> DeprecationState:
    """A package's deprecation."""
    return DeprecationState(
        namespace=package.namespace.name,
        name=package.name,
        deprecated=package.deprecated_at is not None,
        deprecation_message=package.deprecation_message,
        replacement=package.replacement,
    )


def quarantine_state(package: Package) -> QuarantineState:
    """A package's quarantine."""
    return QuarantineState(
        namespace=package.namespace.name,
        name=package.name,
        quarantined=package.quarantined_at is not None,
        quarantined_at=_time(package.quarantined_at),
    )


def tombstone_info(tombstone: Tombstone, base_url: str) -> TombstoneInfo:
    """A tombstone's public facts: never the reason or who reported it."""
    return TombstoneInfo(
        namespace=tombstone.namespace,
        name=tombstone.name,
        version=tombstone.version,
        category=tombstone.category,
        deleted_at=_time(tombstone.deleted_at) or "",
        name_held_until=_time(tombstone.name_held_until),
        url=base_url + tombstone_path(tombstone),
    )
