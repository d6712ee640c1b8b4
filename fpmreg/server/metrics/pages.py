"""Pages of the metrics domain: the data policy, and the downloads chart of package pages.

The chart is an inline SVG drawn on the server: one bar per day with a `<title>`
(shown on hover and read by screen readers), labelled axes, and a table of totals
beside it, so it needs no JavaScript and no image requests.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fpmreg.server.accounts.deps import CurrentUser
from fpmreg.server.http import StateDep, render
from fpmreg.server.metrics.models import ClientKind, Period
from fpmreg.server.metrics.service import DEFAULT_RANGE_DAYS, DownloadsService, VersionTotal
from fpmreg.server.packages.models import Package, Version

router = APIRouter(include_in_schema=False)

# Chart geometry, in SVG user units (the SVG scales to its box with `viewBox`).
CHART_WIDTH = 320
CHART_HEIGHT = 150
MARGIN_LEFT = 34  # room for the y-axis labels
MARGIN_RIGHT = 6
MARGIN_TOP = 8
MARGIN_BOTTOM = 22  # room for the x-axis labels
# Versions listed under the chart; older ones are summed in one "older" line.
MAX_VERSION_ROWS = 8


@dataclass(frozen=True, slots=True)
class Bar:
    """One day's bar."""

    x: float
    y: float
    width: float
    height: float
    day: date
    count: int

    @property
    def title(self) -> str:
        """What a hover or a screen reader says."""
        return f"{self.day.isoformat()}: {self.count} download{'' if self.count == 1 else 's'}"


@dataclass(frozen=True, slots=True)
class Tick:
    """An axis label at `x`, `y` (SVG units)."""

    x: float
    y: float
    label: str


@dataclass(frozen=True, slots=True)
class DownloadChart:
    """Everything `_downloads.html` draws."""

    start: date
    end: date
    days: int
    total: int
    all_time: int
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    versions: list[VersionTotal]
    older: VersionTotal | None
    by_client: list[tuple[str, int]]
    ci: int
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    left: int = MARGIN_LEFT
    right: int = CHART_WIDTH - MARGIN_RIGHT
    top: int = MARGIN_TOP
    bottom: int = CHART_HEIGHT - MARGIN_BOTTOM

    @property
    def busiest(self) -> Bar | None:
        """The day with the most downloads."""
        return max(self.bars, key=lambda bar: bar.count, default=None)


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50… that is at least `value` (axis maximum)."""
    if value <= 1:
        return 1
    power = int(10 ** math.floor(math.log10(value)))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def download_chart(
    downloads: DownloadsService,
    package: Package,
    versions: list[Version],
    *,
    days: int = DEFAULT_RANGE_DAYS,
) -> DownloadChart:
    """The last `days` UTC days of a package's downloads, laid out as bars."""
    end = downloads.today()
    start = end - timedelta(days=days - 1)
    report = downloads.package_report(package, versions, start, end)
    per_day: Counter[date] = Counter()
    per_client: Counter[str] = Counter()
    ci = 0
    for row in report.rows:
        if row.period == Period.DAY:
            per_day[row.day] += row.count
            per_client[row.client] += row.count
            ci += row.count if row.ci else 0
    top = nice_ceiling(max(per_day.values(), default=0))
    plot_width = CHART_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = CHART_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    slot = plot_width / days
    bottom = CHART_HEIGHT - MARGIN_BOTTOM
    bars = []
    for index in range(days):
        day = start + timedelta(days=index)
        count = per_day.get(day, 0)
        if count:
            height = max(1.0, plot_height * count / top)
            bars.append(
                Bar(
                    round(MARGIN_LEFT + index * slot + slot * 0.1, 2),
                    round(bottom - height, 2),
                    round(slot * 0.8, 2),
                    round(height, 2),
                    day,
                    count,
                )
            )
    y_ticks = [
        Tick(MARGIN_LEFT - 4, round(bottom - plot_height * value / top + 3, 2), f"{value:,}")
        for value in sorted({0, top // 2, top} if top >= 2 else {0, top})
    ]
    x_ticks = [
        Tick(round(MARGIN_LEFT + (index + 0.5) * slot, 2), CHART_HEIGHT - 6, label)
        for index, label in (
            (0, start.strftime("%b %d")),
            (days // 2, (start + timedelta(days=days // 2)).strftime("%b %d")),
            (days - 1, end.strftime("%b %d")),
        )
    ]
    shown = report.versions[:MAX_VERSION_ROWS]
    rest = report.versions[MAX_VERSION_ROWS:]
    older = (
        VersionTotal(
            f"{len(rest)} older", sum(v.in_range for v in rest), sum(v.all_time for v in rest)
        )
        if rest
        else None
    )
    return DownloadChart(
        start=start,
        end=end,
        days=days,
        total=sum(per_day.values()),
        all_time=report.all_time,
        bars=bars,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        versions=shown,
        older=older,
        by_client=[(kind.value, per_client[kind.value]) for kind in ClientKind],
        ci=ci,
    )


@router.get("/data-policy")
def data_policy(request: Request, user: CurrentUser, state: StateDep) -> Response:
    """What this registry collects about downloads and visits, why, and for how long."""
    settings = state.settings
    return render(
        request,
        "data_policy.html",
        {
            "user": user,
            "retention_days": settings.download_retention_days,
            "dedup_seconds": settings.download_dedup_seconds,
            "flush_seconds": settings.metrics_flush_seconds,
            "session_days": settings.session_days,
            "client_kinds": list(ClientKind),
        },
    )
