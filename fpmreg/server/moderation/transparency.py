"""The public transparency report: moderation actions counted by category and month.

Counts only. An event is a moderation action when it has a `category` (malware, spam,
...); its reason, subject, actor and any reporter stay private, so the report names
none of them, and a month with one action says no more than that it happened.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.server.clock import Clock
from fpmreg.server.events import Event


@dataclass(frozen=True)
class TransparencyReport:
    """What `/transparency` shows: counts by (month, category) and by action kind."""

    generated_at: datetime
    total: int
    by_month: list[tuple[str, str, int]]  # (`YYYY-MM`, category, count), newest first
    by_action: list[tuple[str, int]]  # (kind, count), most frequent first


def action_kind(action: str, data: dict[str, object]) -> str:
    """The kind of a moderation action: `version.yank` is a yank, `package.quarantine`
    a quarantine; a report decision counts as what was decided (`dismiss`, ...)."""
    decision = data.get("decision")
    if isinstance(decision, str) and decision:
        return decision
    return action.rpartition(".")[2]


def month_of(moment: datetime) -> str:
    """The UTC month of `moment`, `YYYY-MM`."""
    return moment.astimezone(UTC).strftime("%Y-%m")


def transparency_report(session: Session, clock: Clock) -> TransparencyReport:
    """Count every moderation action (an event with a category) ever recorded.

    Moderation actions are few (a handful a day on a busy registry), so they are read
    and counted here, which groups by UTC month alike on SQLite and PostgreSQL."""
    rows = session.execute(
        select(Event.occurred_at, Event.category, Event.action, Event.data).where(
            Event.category != ""
        )
    )
    months: Counter[tuple[str, str]] = Counter()
    kinds: Counter[str] = Counter()
    for occurred_at, category, action, data in rows:
        months[(month_of(occurred_at), category)] += 1
        kinds[action_kind(action, data or {})] += 1
    by_month = sorted(
        ((month, category, count) for (month, category), count in months.items()),
        key=lambda row: (_reverse(row[0]), row[1]),
    )
    by_action = sorted(kinds.items(), key=lambda item: (-item[1], item[0]))
    return TransparencyReport(clock.now(), sum(kinds.values()), by_month, by_action)


def _reverse(month: str) -> tuple[int, int]:
    year, _, number = month.partition("-")
    return (-int(year), -int(number))
