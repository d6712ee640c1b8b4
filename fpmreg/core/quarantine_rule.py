"""The automatic quarantine rule of docs/registry-rules.md, "Reports" (PyPI's rule).

Two malware reports from distinct trusted reporters, or one malware report from anyone
on a package first published less than 24 hours ago, put the package under review at
once, until a moderator decides. Pure: the open malware reports and two times in, a
verdict out; the server gathers the inputs and quarantines.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

# Two distinct trusted reporters corroborate each other; one could be mistaken or hostile.
TRUSTED_REPORTS_NEEDED = 2
# A package this young has few users to harm by a wrong quarantine, and fresh malware
# does its damage in its first hours (PyPI's experience with typosquatting campaigns).
NEW_PACKAGE_WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class MalwareReport:
    """One open malware report: who filed it (None once the account is gone) and
    whether they held the trusted-reporter role when they filed it."""

    reporter_id: int | None
    trusted: bool


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether to quarantine, and a sentence saying why (or why not)."""

    quarantine: bool
    why: str


def trusted_reporters(reports: Iterable[MalwareReport]) -> set[int]:
    """The distinct trusted reporters among `reports` (a deleted account counts not)."""
    return {r.reporter_id for r in reports if r.trusted and r.reporter_id is not None}


def decide(reports: Iterable[MalwareReport], first_published: datetime, now: datetime) -> Verdict:
    """The rule's verdict for one package's open malware reports at `now`."""
    reports = list(reports)
    if not reports:
        return Verdict(False, "no open malware report")
    trusted = trusted_reporters(reports)
    if len(trusted) >= TRUSTED_REPORTS_NEEDED:
        return Verdict(
            True,
            f"automatic quarantine: malware reports from {len(trusted)} trusted reporters",
        )
    age = now - first_published
    if age < NEW_PACKAGE_WINDOW:
        hours = NEW_PACKAGE_WINDOW.total_seconds() / 3600
        return Verdict(
            True,
            f"automatic quarantine: a malware report on a package first published less "
            f"than {hours:g} hours ago",
        )
    return Verdict(
        False,
        f"{len(trusted)} trusted reporter(s) of {TRUSTED_REPORTS_NEEDED} needed, and the "
        "package is older than the new-package window",
    )
