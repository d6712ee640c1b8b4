"""Building and checking OSV records: from an `AdvisoryWrite`, CVSS scores, timestamps."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from cvss import CVSS3, CVSS4
from cvss.exceptions import CVSSError

from fpmreg.core.advisory import FPM_ECOSYSTEM
from fpmreg.core.problem import Problem
from fpmreg.core.versions import InvalidVersion, Version
from fpmreg.core.wire.advisories import AdvisoryWrite, Credit, SeverityScore
from fpmreg.server.advisories.schema import record_problems
from fpmreg.server.errors import InvalidInput

EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
_PACKAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}/[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def osv_time(at: datetime) -> str:
    """An RFC 3339 UTC timestamp as OSV writes it (`2026-01-02T03:04:05Z`)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_osv_time(text: Any) -> datetime | None:
    """An OSV timestamp as a datetime, or None when absent or unreadable."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def score(kind: str, vector: str) -> SeverityScore | None:
    """The CVSS base score and rating of `vector` (the `cvss` library), or None."""
    try:
        if kind == "CVSS_V3":
            v3 = CVSS3(vector)
            return SeverityScore(
                type=kind,
                vector=vector,
                score=float(v3.base_score),
                rating=str(v3.severities()[0]),
            )
        if kind == "CVSS_V4":
            v4 = CVSS4(vector)
            return SeverityScore(
                type=kind, vector=vector, score=float(v4.base_score), rating=str(v4.severity)
            )
    except (CVSSError, ValueError, KeyError, IndexError):
        return None
    return None


def scores(record: dict[str, Any]) -> list[SeverityScore]:
    """The computed scores of a record's CVSS v3 and v4 `severity` entries."""
    out = []
    for entry in record.get("severity") or ():
        if isinstance(entry, dict):
            found = score(str(entry.get("type", "")), str(entry.get("score", "")))
            if found is not None:
                out.append(found)
    return out


def _event_problems(events: list[dict[str, str]]) -> list[Problem]:
    problems = []
    for i, event in enumerate(events):
        where = f"events/{i}"
        if len(event) != 1 or next(iter(event)) not in EVENT_KINDS:
            problems.append(
                Problem(
                    "advisory-event",
                    where,
                    f"`{where}` must have exactly one of `{'`, `'.join(EVENT_KINDS)}`",
                )
            )
            continue
        kind, value = next(iter(event.items()))
        if kind == "introduced" and value == "0":
            continue
        try:
            Version.parse(value)
        except InvalidVersion as exc:
            problems.append(Problem("advisory-event-version", where, f"`{where}`: {exc}"))
    if not any("introduced" in e for e in events):
        problems.append(
            Problem(
                "advisory-event",
                "events",
                'the range needs an `introduced` event: `{"introduced": "0"}` for all versions',
            )
        )
    return problems


def write_problems(write: AdvisoryWrite) -> list[Problem]:
    """Everything wrong with a draft's fields before a record is built from them."""
    problems = _event_problems(write.events)
    if not _PACKAGE.fullmatch(write.package):
        problems.append(
            Problem("advisory-package", "package", "`package` must be `namespace/name`")
        )
    for i, entry in enumerate(write.severity):
        if score(entry.type, entry.score) is None:
            problems.append(
                Problem(
                    "advisory-severity",
                    f"severity/{i}/score",
                    f"`{entry.score}` is not a valid {entry.type} vector: write one such as "
                    "`CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H` or `CVSS:4.0/AV:N/...`",
                )
            )
    mitigation = write.mitigation
    if mitigation is not None:
        if bool(mitigation.upgrade_to) == bool(mitigation.switch_to):
            problems.append(
                Problem(
                    "advisory-mitigation",
                    "mitigation",
                    "a mitigation is either `upgrade_to` (a version) or `switch_to` "
                    "(`namespace/name`), not both or neither",
                )
            )
        elif mitigation.upgrade_to:
            try:
                Version.parse(mitigation.upgrade_to)
            except InvalidVersion as exc:
                problems.append(Problem("advisory-mitigation", "mitigation/upgrade_to", str(exc)))
        elif not _PACKAGE.fullmatch(mitigation.switch_to):
            problems.append(
                Problem(
                    "advisory-mitigation",
                    "mitigation/switch_to",
                    "`switch_to` must be a package as `namespace/name`",
                )
            )
    return problems


def _credit(credit: Credit) -> dict[str, Any]:
    out: dict[str, Any] = {"name": credit.name}
    if credit.contact:
        out["contact"] = list(credit.contact)
    if credit.type:
        out["type"] = credit.type
    return out


def build_record(
    write: AdvisoryWrite,
    *,
    osv_id: str,
    package: str,
    modified: datetime,
    published: datetime | None,
) -> dict[str, Any]:
    """The OSV record of a write (`package` is the canonical `namespace/name`)."""
    record: dict[str, Any] = {
        "schema_version": "1.7.0",
        "id": osv_id,
        "modified": osv_time(modified),
    }
    if published is not None:
        record["published"] = osv_time(published)
    if write.aliases:
        record["aliases"] = list(write.aliases)
    record["summary"] = write.summary
    if write.details:
        record["details"] = write.details
    record["affected"] = [
        {
            "package": {"ecosystem": FPM_ECOSYSTEM, "name": package},
            "ranges": [{"type": "ECOSYSTEM", "events": [dict(e) for e in write.events]}],
        }
    ]
    if write.severity:
        record["severity"] = [{"type": s.type, "score": s.score} for s in write.severity]
    if write.references:
        record["references"] = [{"type": r.type, "url": r.url} for r in write.references]
    if write.credits:
        record["credits"] = [
            c.model_dump(exclude_defaults=True) | {"name": c.name} for c in write.credits
        ]
    if write.mitigation is not None:
        record["database_specific"] = {
            "mitigation": write.mitigation.model_dump(exclude_defaults=True)
        }
    return record


def check_record(record: dict[str, Any], prefix: str) -> None:
    """Refuse a record the OSV schema (with the overlay) does not accept."""
    problems = record_problems(record, prefix)
    if problems:
        raise InvalidInput.of(problems)
