"""Pure OSV range logic: is a version affected, which versions fix it (OSV schema §affected).

Shared by the server (OSV API, package answers) and the client (`fpmreg audit`). A
record is an OSV JSON object (a `dict`); only its `affected` entries are read here.
Versions of the `fpm` ecosystem compare in fpm's order (`fpmreg.core.versions`); other
ecosystems (imported records) get a best-effort order: PEP 440 for PyPI, and numeric
dot-separated runs otherwise, with the record's explicit `versions` lists honoured first.

Range evaluation follows the schema's reference algorithm
(https://ossf.github.io/osv-schema/#evaluation): sort the events of one range by
version, walk them, `introduced` opens, `fixed` closes before, `last_affected` closes
after, `limit` ends the walk. `"0"` as `introduced` means "from the first version".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fpmreg.core.versions import InvalidVersion, Version

FPM_ECOSYSTEM = "fpm"

# A key that sorts versions of one ecosystem; comparisons between two keys of one
# function only.
SortKey = tuple[Any, ...]
_NUMBERS = re.compile(r"\d+|[A-Za-z]+")


@lru_cache(maxsize=65536)
def fpm_key(version: str) -> SortKey:
    """fpm's order; raises `InvalidVersion` for a text fpm cannot read."""
    return Version.parse(version).key


@lru_cache(maxsize=65536)
def _generic_key(version: str) -> SortKey:
    # Numbers compare as numbers, words sort below numbers (`1.0rc1` < `1.0.1`).
    parts: list[tuple[int, int | str]] = []
    for token in _NUMBERS.findall(version):
        parts.append((1, int(token)) if token.isdigit() else (0, token.lower()))
    while parts and parts[-1] == (1, 0):
        parts.pop()
    return tuple(parts)


@lru_cache(maxsize=65536)
def _pypi_key(version: str) -> SortKey:
    try:
        from packaging.version import InvalidVersion as BadPep440
        from packaging.version import Version as Pep440
    except ImportError:  # pragma: no cover - packaging ships with every install here
        return _generic_key(version)
    try:
        return (Pep440(version),)
    except BadPep440:
        return _generic_key(version)


def sort_key_for(ecosystem: str) -> Callable[[str], SortKey]:
    """The version order of `ecosystem` (fpm's own for `fpm`)."""
    if ecosystem == FPM_ECOSYSTEM:
        return fpm_key
    if ecosystem.split(":", 1)[0] == "PyPI":
        return _pypi_key
    return _generic_key


def _entries(record: Mapping[str, Any], package: str | None) -> Iterable[Mapping[str, Any]]:
    for entry in record.get("affected") or ():
        if not isinstance(entry, Mapping):
            continue
        if package is not None:
            name = (entry.get("package") or {}).get("name")
            if name != package:
                continue
        yield entry


def _ecosystem(entry: Mapping[str, Any]) -> str:
    ecosystem = (entry.get("package") or {}).get("ecosystem")
    return ecosystem if isinstance(ecosystem, str) else FPM_ECOSYSTEM


def _event_version(event: Mapping[str, Any]) -> tuple[str, str] | None:
    for kind in ("introduced", "fixed", "last_affected", "limit"):
        value = event.get(kind)
        if isinstance(value, str):
            return kind, value
    return None


def _sortable_events(
    events: Iterable[Mapping[str, Any]], key: Callable[[str], SortKey]
) -> list[tuple[SortKey, int, str]]:
    # `introduced: "0"` sorts before everything; ties put openings first so an
    # `introduced` and a `fixed` at the same version leave it unaffected.
    out: list[tuple[SortKey, int, str]] = []
    order = {"introduced": 0, "last_affected": 1, "fixed": 2, "limit": 3}
    for event in events:
        parsed = _event_version(event)
        if parsed is None:
            continue
        kind, value = parsed
        if kind == "introduced" and value == "0":
            out.append(((), -1, kind))
            continue
        try:
            out.append(((1, key(value)), order[kind], kind))
        except (InvalidVersion, TypeError):
            continue  # an unreadable bound cannot decide anything
    out.sort(key=lambda e: (e[0], e[1]))
    return out


def _in_range(events: Iterable[tuple[SortKey, int, str]], target: SortKey) -> bool:
    affected = False
    for at, _, kind in events:
        if kind == "introduced":
            if at == () or at <= target:
                affected = True
        elif kind == "fixed":
            if at <= target:
                affected = False
        elif kind == "last_affected":
            if at < target:
                affected = False
        elif kind == "limit" and at <= target:
            return False
        if at > target:
            break
    return affected


@dataclass(frozen=True)
class AffectedEntry:
    """One `affected[]` entry, prepared: its package, explicit versions, sorted ranges."""

    ecosystem: str
    name: str
    versions: frozenset[str]
    ranges: tuple[tuple[tuple[SortKey, int, str], ...], ...]

    def affects(self, version: str) -> bool:
        """Whether this entry covers `version` (in its ecosystem's order)."""
        if version in self.versions:
            return True
        try:
            target = (1, sort_key_for(self.ecosystem)(version))
        except (InvalidVersion, TypeError):
            return False
        return any(_in_range(events, target) for events in self.ranges)


def prepare(record: Mapping[str, Any]) -> list[AffectedEntry]:
    """The record's entries ready for many `affects` calls (empty when withdrawn)."""
    if record.get("withdrawn"):
        return []
    out = []
    for entry in _entries(record, None):
        ecosystem = _ecosystem(entry)
        key = sort_key_for(ecosystem)
        ranges = tuple(
            tuple(_sortable_events(rng.get("events") or (), key))
            for rng in entry.get("ranges") or ()
            if isinstance(rng, Mapping) and rng.get("type") != "GIT"
        )
        name = (entry.get("package") or {}).get("name")
        versions = frozenset(v for v in entry.get("versions") or () if isinstance(v, str))
        out.append(AffectedEntry(ecosystem, str(name or ""), versions, ranges))
    return out


def is_affected(record: Mapping[str, Any], version: str, *, package: str | None = None) -> bool:
    """Whether `version` is affected by the OSV `record` (of `package`, when given).

    A withdrawn record affects nothing. Explicit `versions` lists count; `ECOSYSTEM` and
    `SEMVER` ranges are walked in the entry's ecosystem's order (`GIT` ranges are
    skipped: the registry has no commits). A version fpm cannot read is never affected
    in the `fpm` ecosystem.
    """
    return any(
        entry.affects(version)
        for entry in prepare(record)
        if package is None or entry.name == package
    )


def fixed_versions(record: Mapping[str, Any], *, package: str | None = None) -> list[str]:
    """Every `fixed` version named in the record's ranges, in order, without repeats."""
    found: dict[str, SortKey] = {}
    for entry in _entries(record, package):
        key = sort_key_for(_ecosystem(entry))
        for rng in entry.get("ranges") or ():
            if not isinstance(rng, Mapping) or rng.get("type") == "GIT":
                continue
            for event in rng.get("events") or ():
                value = event.get("fixed") if isinstance(event, Mapping) else None
                if isinstance(value, str) and value not in found:
                    try:
                        found[value] = key(value)
                    except (InvalidVersion, TypeError):
                        continue
    return sorted(found, key=lambda v: found[v])


def smallest_fix(
    record: Mapping[str, Any],
    version: str,
    available: Iterable[str],
    *,
    package: str | None = None,
) -> str | None:
    """The smallest of `available` above `version` that the record does not affect.

    `None` when `version` is not affected (nothing to fix) or no available version
    above it is clean. Only fpm versions are considered (this is for `fpmreg audit`).
    """
    if not is_affected(record, version, package=package):
        return None
    try:
        current = fpm_key(version)
    except InvalidVersion:
        return None
    candidates: list[tuple[SortKey, str]] = []
    for text in available:
        try:
            at = fpm_key(text)
        except InvalidVersion:
            continue
        if at > current:
            candidates.append((at, text))
    for _, text in sorted(candidates):
        if not is_affected(record, text, package=package):
            return text
    return None


def mitigation(record: Mapping[str, Any]) -> dict[str, str] | None:
    """The record's `database_specific.mitigation` (`upgrade_to` or `switch_to`), if any."""
    specific = record.get("database_specific")
    if not isinstance(specific, Mapping):
        return None
    found = specific.get("mitigation")
    if not isinstance(found, Mapping):
        return None
    keys = ("upgrade_to", "switch_to")
    out = {k: v for k, v in found.items() if k in keys and isinstance(v, str)}
    return out or None
