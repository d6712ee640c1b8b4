"""`.fpmreg-audit-ignore.toml`: findings a project accepts for a while, each with a reason.

```toml
[[ignore]]
id = "FPMREG-2026-0001"          # an advisory id or alias, `yanked:ns/name@1.0.0`,
                                 # `deleted:ns/name@1.0.0` or `deprecated:ns/name`
reason = "we never call the affected routine"
expires = 2027-03-31             # a TOML date; after that day the finding is reported again
```

Every entry needs all three (pip-audit's `--ignore-vuln` and npm audit's exceptions are
the two most-asked-for features without them: an exception nobody remembers is a hole).
An entry without them is an error naming its line; an expired entry stops ignoring and
the audit says so.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fpmreg.client.errors import UsageError
from fpmreg.core.wire.audit import AuditFinding, AuditIgnored

IGNORE_FILE_NAME = ".fpmreg-audit-ignore.toml"
_ENTRY_KEYS = ("id", "reason", "expires")
_HEADER = re.compile(r"^\s*\[\[\s*ignore\s*\]\]")


@dataclass(frozen=True)
class IgnoreEntry:
    """One `[[ignore]]` entry and the line it starts on."""

    id: str
    reason: str
    expires: dt.date
    line: int


@dataclass(frozen=True)
class Applied:
    """Findings after the ignore file: kept, ignored, and what to tell the user."""

    findings: list[AuditFinding]
    ignored: list[AuditIgnored]
    notes: list[str]
    hidden: list[AuditFinding]  # the findings behind `ignored`, same order


def _fail(path: Path, line: int | None, message: str) -> UsageError:
    where = f"`{path}` line {line}" if line else f"`{path}`"
    return UsageError(f"{where}: {message}")


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _entry(path: Path, table: Any, line: int) -> IgnoreEntry:
    if not isinstance(table, dict):
        raise _fail(path, line, "an `[[ignore]]` entry must be a table")
    unknown = sorted(set(table) - set(_ENTRY_KEYS))
    if unknown:
        raise _fail(path, line, f"unknown key `{unknown[0]}` (known: {', '.join(_ENTRY_KEYS)})")
    for key in _ENTRY_KEYS:
        value = table.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            what = {
                "id": "the advisory id or `yanked:ns/name@version` it ignores",
                "reason": "a `reason`: why the project accepts this finding",
                "expires": "an `expires` date (`expires = 2027-01-31`): when to look again",
            }[key]
            raise _fail(path, line, f"the entry needs {what}")
    if not isinstance(table["id"], str) or not isinstance(table["reason"], str):
        raise _fail(path, line, "`id` and `reason` must be strings")
    expires = _date(table["expires"])
    if expires is None:
        raise _fail(path, line, "`expires` must be a date such as `2027-01-31`")
    return IgnoreEntry(table["id"].strip(), table["reason"].strip(), expires, line)


def load_ignores(path: Path) -> list[IgnoreEntry]:
    """The entries of `path` (none when it does not exist); `UsageError` naming the line
    of an entry that lacks an id, a reason or an expiry date."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeError) as exc:
        raise UsageError(f"cannot read `{path}`: {exc}") from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(path, None, f"not valid TOML ({exc})") from None
    unknown = sorted(set(raw) - {"ignore"})
    if unknown:
        raise _fail(path, None, f"unknown key `{unknown[0]}`: write `[[ignore]]` entries")
    tables = raw.get("ignore", [])
    if not isinstance(tables, list):
        raise _fail(path, None, "`ignore` must be an array of tables, `[[ignore]]`")
    lines = [n for n, text in enumerate(text.splitlines(), start=1) if _HEADER.match(text)]
    entries = []
    for number, table in enumerate(tables):
        line = lines[number] if number < len(lines) else 0
        entries.append(_entry(path, table, line))
    return entries


def _matches(entry: IgnoreEntry, finding: AuditFinding) -> bool:
    return entry.id == finding.id or entry.id in finding.aliases


def apply_ignores(
    findings: Sequence[AuditFinding], entries: Sequence[IgnoreEntry], today: dt.date, path: Path
) -> Applied:
    """Hide the findings a live entry names; an expired entry hides nothing and says so."""
    kept: list[AuditFinding] = []
    ignored: list[AuditIgnored] = []
    hidden: list[AuditFinding] = []
    notes: list[str] = []
    used: set[int] = set()
    for finding in findings:
        entry = next((e for e in entries if _matches(e, finding)), None)
        if entry is None:
            kept.append(finding)
            continue
        used.add(entry.line)
        if entry.expires < today:
            notes.append(
                f"`{path.name}` line {entry.line}: the entry for `{entry.id}` expired on "
                f"{entry.expires}, so `{finding.package}` {finding.version} is reported "
                "again: fix it, or renew the entry with a new reason and date"
            )
            kept.append(finding)
            continue
        hidden.append(finding)
        ignored.append(
            AuditIgnored(
                id=finding.id,
                package=finding.package,
                version=finding.version,
                reason=entry.reason,
                expires=entry.expires.isoformat(),
            )
        )
    for entry in entries:
        if entry.line not in used:
            notes.append(
                f"`{path.name}` line {entry.line}: `{entry.id}` matches no finding any more: "
                "remove the entry"
            )
    return Applied(kept, ignored, notes, hidden)
