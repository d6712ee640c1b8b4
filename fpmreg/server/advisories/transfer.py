"""Import OSV records from other databases, export ours in osv.dev's dump layout.

osv.dev publishes each ecosystem as `all.zip` holding one `ID.json` per record, and as
the same files one by one (https://google.github.io/osv.dev/data/#data-dumps). The
export writes that layout; the import reads one `.json` file (one record, or a list of
records) or a zip of them. Imported records keep their own ids and ecosystems.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fpmreg.core.advisory import FPM_ECOSYSTEM
from fpmreg.core.names import canonical_name
from fpmreg.server.accounts.models import Namespace
from fpmreg.server.advisories.models import Advisory, AdvisoryPackage
from fpmreg.server.advisories.queries import all_published, lookup_name
from fpmreg.server.advisories.records import parse_osv_time
from fpmreg.server.advisories.schema import record_problems
from fpmreg.server.clock import Clock
from fpmreg.server.errors import InvalidInput
from fpmreg.server.packages.models import Package

# One record is a few kB; a member this large is not one.
MAX_RECORD_BYTES = 4 * 1024 * 1024
# osv.dev's largest ecosystem dump has a few hundred thousand records.
MAX_ZIP_MEMBERS = 1_000_000


@dataclass
class ImportReport:
    """What an import did, record by record."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (where, why)


def _records_in(path: Path) -> list[tuple[str, Any]]:
    """(where, parsed JSON) of every record in a `.json` file or a zip of them."""
    out: list[tuple[str, Any]] = []
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if m.filename.endswith(".json")]
            if len(members) > MAX_ZIP_MEMBERS:
                raise InvalidInput("import-too-large", f"`{path}` has too many members")
            for member in members:
                if member.file_size > MAX_RECORD_BYTES:
                    out.append((member.filename, None))
                    continue
                out.append((member.filename, _loads(archive.read(member))))
        return out
    data = _loads(path.read_bytes())
    items = data if isinstance(data, list) else [data]
    return [
        (f"{path.name}[{i}]" if isinstance(data, list) else path.name, r)
        for i, r in enumerate(items)
    ]


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def _package_id(session: Session, ecosystem: str, name: str) -> int | None:
    if ecosystem != FPM_ECOSYSTEM or "/" not in name:
        return None
    namespace, _, rest = name.partition("/")
    return session.scalar(
        select(Package.id)
        .join(Namespace, Namespace.id == Package.namespace_id)
        .where(
            Namespace.canonical == canonical_name(namespace),
            Package.canonical == canonical_name(rest),
        )
    )


def _keys(record: dict[str, Any]) -> list[tuple[str, str]]:
    keys = []
    for entry in record.get("affected") or ():
        package = entry.get("package") or {}
        ecosystem, name = package.get("ecosystem"), package.get("name")
        if isinstance(ecosystem, str) and isinstance(name, str):
            key = (ecosystem, lookup_name(ecosystem, name))
            if key not in keys:
                keys.append(key)
    return keys


def store_record(session: Session, clock: Clock, record: dict[str, Any], source: str) -> str:
    """Insert or replace one (valid) published record; `created`, `updated` or
    `unchanged` (same `modified`)."""
    now = clock.now()
    keys = _keys(record)
    ecosystem, first = keys[0] if keys else ("", "")
    name = next(
        (str(e["package"]["name"]) for e in record.get("affected") or () if e.get("package")), ""
    )
    modified = parse_osv_time(record.get("modified")) or now
    existing = session.scalar(select(Advisory).where(Advisory.osv_id == record["id"]))
    if existing is not None and existing.record.get("modified") == record.get("modified"):
        return "unchanged"
    advisory = existing or Advisory(osv_id=record["id"], created_at=now, draft=False)
    advisory.ecosystem = ecosystem
    advisory.package = name or first
    advisory.package_id = _package_id(session, ecosystem, name)
    advisory.record = record
    advisory.summary = str(record.get("summary") or "")[:1000]
    advisory.draft = False
    advisory.published_at = parse_osv_time(record.get("published")) or modified
    advisory.modified_at = modified
    advisory.withdrawn_at = parse_osv_time(record.get("withdrawn"))
    advisory.imported_from = source[:512]
    if existing is None:
        advisory.packages = [AdvisoryPackage(ecosystem=e, name=n) for e, n in keys]
        session.add(advisory)
        session.flush()
        return "created"
    session.execute(delete(AdvisoryPackage).where(AdvisoryPackage.advisory_id == advisory.id))
    session.add_all(AdvisoryPackage(advisory_id=advisory.id, ecosystem=e, name=n) for e, n in keys)
    session.flush()
    return "updated"


def import_path(session: Session, clock: Clock, path: Path, prefix: str) -> ImportReport:
    """Import every valid record of `path`; invalid ones are refused, each with why."""
    report = ImportReport()
    for where, record in _records_in(path):
        if record is None:
            report.refused.append((where, "not a JSON document (or larger than 4 MiB)"))
            continue
        problems = record_problems(record, prefix)
        if problems:
            report.refused.append((where, problems[0].message))
            continue
        outcome = store_record(session, clock, record, f"{path.name}:{where}")
        getattr(report, outcome).append(record["id"])
    return report


def _dump(record: dict[str, Any]) -> bytes:
    return json.dumps(record, indent=2, ensure_ascii=False, sort_keys=False).encode() + b"\n"


def export(session: Session, target: Path) -> int:
    """Write every published record: `target` ending in `.zip` is one zip of `ID.json`
    members (osv.dev's `all.zip`); otherwise a folder of `ID.json` files and `all.zip`."""
    if target.suffix == ".zip":
        target.parent.mkdir(parents=True, exist_ok=True)
        return _export_zip(session, target)
    target.mkdir(parents=True, exist_ok=True)
    count = 0
    for advisory in all_published(session):
        (target / f"{advisory.osv_id}.json").write_bytes(_dump(advisory.record))
        count += 1
    _export_zip(session, target / "all.zip")
    return count


def _export_zip(session: Session, path: Path) -> int:
    count = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for advisory in all_published(session):
            archive.writestr(f"{advisory.osv_id}.json", _dump(advisory.record))
            count += 1
    return count
