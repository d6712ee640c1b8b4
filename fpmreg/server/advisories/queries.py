"""Reading published advisories: by package and version (the OSV API), by package (the
embedded summaries), newest first (the feed), all of them (the export)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.advisory import FPM_ECOSYSTEM, fixed_versions, is_affected, mitigation
from fpmreg.core.names import canonical_name
from fpmreg.core.wire.advisories import AdvisoryRef, Mitigation
from fpmreg.server.advisories.models import Advisory, AdvisoryPackage
from fpmreg.server.advisories.records import scores

_PEP503 = re.compile(r"[-_.]+")
# The export and the import read this many records per query.
BATCH_SIZE = 500


def lookup_name(ecosystem: str, name: str) -> str:
    """The form a package name is looked up in: fpm's canonical `ns/name`, PEP 503 for
    PyPI (pip-audit sends names as the user wrote them), as written elsewhere."""
    if ecosystem == FPM_ECOSYSTEM:
        namespace, _, rest = name.partition("/")
        return f"{canonical_name(namespace)}/{canonical_name(rest)}"
    if ecosystem.split(":", 1)[0] == "PyPI":
        return _PEP503.sub("-", name).lower()
    return name


def _published() -> Any:
    return Advisory.draft.is_(False)


def candidates(
    session: Session, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], list[Advisory]]:
    """Published advisories naming each (ecosystem, lookup name), in one query."""
    wanted = {(e, lookup_name(e, n)) for e, n in keys}
    found: dict[tuple[str, str], list[Advisory]] = defaultdict(list)
    if not wanted:
        return found
    names = sorted({n for _, n in wanted})
    rows = session.execute(
        select(AdvisoryPackage.ecosystem, AdvisoryPackage.name, Advisory)
        .join(Advisory, Advisory.id == AdvisoryPackage.advisory_id)
        .where(AdvisoryPackage.name.in_(names), _published())
        .order_by(Advisory.osv_id)
    )
    for ecosystem, name, advisory in rows:
        if (ecosystem, name) in wanted:
            found[(ecosystem, name)].append(advisory)
    return found


def _names_in(advisory: Advisory, ecosystem: str, name: str) -> str | None:
    """The spelling of the queried package inside the record (for range matching)."""
    for entry in advisory.record.get("affected") or ():
        package = entry.get("package") or {}
        if package.get("ecosystem") == ecosystem and lookup_name(
            ecosystem, str(package.get("name", ""))
        ) == lookup_name(ecosystem, name):
            return str(package.get("name"))
    return None


def matching(
    advisories: Sequence[Advisory], ecosystem: str, name: str, version: str | None
) -> list[Advisory]:
    """Those of `advisories` that affect `version` of the package (all when None).

    Withdrawn records are still returned when no version is given (osv.dev lists them
    too); with a version, a withdrawn record affects nothing."""
    out = []
    for advisory in advisories:
        spelled = _names_in(advisory, ecosystem, name)
        if spelled is None:
            continue
        if version is None or is_affected(advisory.record, version, package=spelled):
            out.append(advisory)
    return out


def for_package(session: Session, package_id: int) -> list[Advisory]:
    """The published advisories of one registry package, newest first."""
    return list(
        session.scalars(
            select(Advisory)
            .where(Advisory.package_id == package_id, _published())
            .order_by(Advisory.published_at.desc(), Advisory.osv_id)
        )
    )


def refs_by_version(
    session: Session, package_id: int, versions: Iterable[str], base_url: str = ""
) -> tuple[list[AdvisoryRef], dict[str, list[AdvisoryRef]]]:
    """The package's current advisories (not withdrawn) and those affecting each version."""
    current = [a for a in for_package(session, package_id) if a.withdrawn_at is None]
    refs = {a.osv_id: advisory_ref(a, base_url) for a in current}
    by_version: dict[str, list[AdvisoryRef]] = {}
    for version in versions:
        by_version[version] = [
            refs[a.osv_id] for a in current if is_affected(a.record, version, package=a.package)
        ]
    return list(refs.values()), by_version


def advisory_ref(advisory: Advisory, base_url: str = "") -> AdvisoryRef:
    """The short form embedded in package and version answers."""
    found = mitigation(advisory.record)
    return AdvisoryRef(
        id=advisory.osv_id,
        summary=advisory.summary,
        severity=scores(advisory.record),
        fixed_versions=fixed_versions(advisory.record, package=advisory.package),
        mitigation=Mitigation(**found) if found else None,
        url=f"{base_url}/advisories/{advisory.osv_id}",
    )


def recently_changed(session: Session, limit: int) -> list[Advisory]:
    """Published advisories by last change, newest first (the Atom feed)."""
    return list(
        session.scalars(
            select(Advisory).where(_published()).order_by(Advisory.modified_at.desc()).limit(limit)
        )
    )


def all_published(session: Session) -> Iterator[Advisory]:
    """Every published advisory (withdrawn ones included), by id, in batches."""
    last = ""
    while True:
        batch = list(
            session.scalars(
                select(Advisory)
                .where(_published(), Advisory.osv_id > last)
                .order_by(Advisory.osv_id)
                .limit(BATCH_SIZE)
            )
        )
        if not batch:
            return
        yield from batch
        last = batch[-1].osv_id


def get_published(session: Session, osv_id: str) -> Advisory | None:
    """A published advisory by id (withdrawn ones too), or None."""
    return session.scalar(select(Advisory).where(Advisory.osv_id == osv_id, _published()))
