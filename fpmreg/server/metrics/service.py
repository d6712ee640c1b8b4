"""Download counts: who-kind classification, additive upserts, series, totals, rollup.

No HTTP here, and nothing about the person downloading: a count is (version, UTC day,
client kind, CI flag) and a number. See `docs/data-policy.md`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    String,
    Subquery,
    Table,
    and_,
    delete,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from fpmreg.server.accounts.models import Namespace
from fpmreg.server.clock import Clock
from fpmreg.server.errors import InvalidInput
from fpmreg.server.metrics.models import (
    ClientKind,
    DownloadCount,
    PackageDownloads,
    Period,
    VersionDownloads,
)
from fpmreg.server.packages.models import Package, Version

# crates.io's window for per-day series; also the package page's chart.
DEFAULT_RANGE_DAYS = 90
# Ten years per request bounds the rows one answer can hold (versions x days x kinds).
MAX_RANGE_DAYS = 3660
# Rows per INSERT statement: 6 parameters each stays far below SQLite's 32,766 limit.
UPSERT_CHUNK = 500
# Only the start of a User-Agent is looked at; longer ones are cut here.
MAX_USER_AGENT_CHARS = 512
# Words of crawlers that announce themselves with a browser-like `Mozilla/` prefix.
_BOT_WORDS = ("bot", "crawler", "spider", "slurp", "scanner")

COUNTS: Table = DownloadCount.__table__  # type: ignore[assignment]
VERSION_TOTALS: Table = VersionDownloads.__table__  # type: ignore[assignment]
PACKAGE_TOTALS: Table = PackageDownloads.__table__  # type: ignore[assignment]
# The `period` of the all-time rows `package_report` reads with the series.
_TOTAL = "total"


def client_kind(user_agent: str) -> ClientKind:
    """The kind of client from its User-Agent (`docs/data-policy.md`, "Client kinds").

    fpm downloads tarballs by running `curl` (or `wget`), so their User-Agents are fpm's.
    Mirrors are told apart first because they fetch every new version (npm/npm#7164)."""
    agent = user_agent[:MAX_USER_AGENT_CHARS].strip().lower()
    if "mirror" in agent:
        return ClientKind.MIRROR
    if agent.startswith("fpmreg/"):
        return ClientKind.FPMREG
    if agent.startswith(("curl/", "wget")):
        return ClientKind.FPM
    if agent.startswith("mozilla/") and not any(word in agent for word in _BOT_WORDS):
        return ClientKind.BROWSER
    return ClientKind.OTHER


def month_start(day: date) -> date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def next_month(day: date) -> date:
    """The first day of the month after `day`'s."""
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


@dataclass(frozen=True, slots=True, order=True)
class CountKey:
    """What one buffered count is about: a version, a UTC day, a client kind, CI or not."""

    version_id: int
    day: date
    client: str
    ci: bool


@dataclass(frozen=True, slots=True)
class DownloadRow:
    """One row of a series: `count` downloads of `version` in the period from `day`."""

    day: date
    period: str
    version: str
    client: str
    ci: bool
    count: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "date": self.day.isoformat(),
            "period": self.period,
            "version": self.version,
            "client": self.client,
            "ci": self.ci,
            "count": self.count,
        }


@dataclass(frozen=True, slots=True)
class VersionTotal:
    """Downloads of one version: in the asked range and since it was published."""

    version: str
    in_range: int
    all_time: int


@dataclass(frozen=True, slots=True)
class PackageReport:
    """A package's downloads between `start` and `end` (inclusive, UTC days)."""

    start: date
    end: date
    rows: list[DownloadRow]
    versions: list[VersionTotal]

    @property
    def total(self) -> int:
        """Downloads in the range."""
        return sum(row.count for row in self.rows)

    @property
    def all_time(self) -> int:
        """Downloads since the first version was published."""
        return sum(v.all_time for v in self.versions)


@dataclass(frozen=True, slots=True)
class TopPackage:
    """A package among the most downloaded in a range."""

    namespace: str
    name: str
    downloads: int


@dataclass(frozen=True, slots=True)
class RegistryStats:
    """Registry-wide downloads between `start` and `end`."""

    start: date
    end: date
    total: int
    all_time: int
    ci: int
    by_client: dict[str, int]
    daily: list[tuple[date, int]]
    top_packages: list[TopPackage]


@dataclass(frozen=True, slots=True)
class RollupResult:
    """What a rollup moved from daily into monthly rows."""

    cutoff: date  # daily rows before this day were rolled up
    months: int
    rows: int
    downloads: int


def check_range(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The asked range, defaulting to the last `DEFAULT_RANGE_DAYS` days up to `today`."""
    end = end or today
    start = start or end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if start > end:
        raise InvalidInput(
            "range-invalid",
            f"`from` ({start}) is after `to` ({end}): swap them",
            "from",
        )
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput(
            "range-too-long",
            f"the range spans {(end - start).days + 1} days; ask for at most "
            f"{MAX_RANGE_DAYS} at a time",
            "from",
        )
    return start, end


def downloads_by_package() -> Subquery:
    """`(package_id, downloads)`: all-time downloads per package, for sorting search."""
    return select(
        PackageDownloads.package_id.label("package_id"),
        PackageDownloads.count.label("downloads"),
    ).subquery("package_downloads_ranking")


def _in_range(start: date, end: date) -> Any:
    """Daily rows in [start, end] and monthly rows of the months the range touches."""
    return or_(
        and_(DownloadCount.period == Period.DAY, DownloadCount.day.between(start, end)),
        and_(
            DownloadCount.period == Period.MONTH,
            DownloadCount.day.between(month_start(start), end),
        ),
    )


class DownloadsService:
    """Add to download counts and read them back."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def today(self) -> date:
        """The current UTC day."""
        return self.clock.now().date()

    # writing -------------------------------------------------------------

    def _insert(self, table: Table) -> Any:
        """The dialect's INSERT, which has `on_conflict_do_update` on both backends."""
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table)
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(table)
        raise NotImplementedError(f"no additive upsert for the `{dialect}` database")

    def _upsert(self, table: Table, keys: list[str], rows: list[dict[str, Any]]) -> None:
        """`INSERT … ON CONFLICT (keys) DO UPDATE SET count = count + excluded.count`.

        Rows go in sorted key order, so two processes lock rows in the same order and
        cannot deadlock each other on PostgreSQL."""
        rows.sort(key=lambda row: tuple(row[k] for k in keys))
        for start in range(0, len(rows), UPSERT_CHUNK):
            stmt = self._insert(table).values(rows[start : start + UPSERT_CHUNK])
            stmt = stmt.on_conflict_do_update(
                index_elements=keys, set_={"count": table.c.count + stmt.excluded.count}
            )
            self.session.execute(stmt)

    def add_counts(self, counts: Mapping[CountKey, int]) -> int:
        """Add `counts` in the caller's transaction; returns how many were stored.

        Counts of versions deleted since they were downloaded are dropped."""
        counts = {key: n for key, n in counts.items() if n > 0}
        if not counts:
            return 0
        ids = sorted({key.version_id for key in counts})
        owners = dict(
            self.session.execute(
                select(Version.id, Version.package_id).where(Version.id.in_(ids))
            ).all()
        )
        rows = [
            {
                "version_id": key.version_id,
                "period": Period.DAY.value,
                "day": key.day,
                "client": key.client,
                "ci": key.ci,
                "count": n,
            }
            for key, n in counts.items()
            if key.version_id in owners
        ]
        per_version: Counter[int] = Counter()
        per_package: Counter[int] = Counter()
        for key, n in counts.items():
            if key.version_id in owners:
                per_version[key.version_id] += n
                per_package[owners[key.version_id]] += n
        self._upsert(COUNTS, ["version_id", "period", "day", "client", "ci"], rows)
        self._upsert(
            VERSION_TOTALS,
            ["version_id"],
            [
                {"version_id": v, "package_id": owners[v], "count": n}
                for v, n in per_version.items()
            ],
        )
        self._upsert(
            PACKAGE_TOTALS,
            ["package_id"],
            [{"package_id": p, "count": n} for p, n in per_package.items()],
        )
        return sum(per_package.values())

    def months_to_roll_up(self, retention_days: int, today: date | None = None) -> list[date]:
        """The months whose daily rows are all older than `retention_days` (whole months
        before the cutoff) and that still have daily rows, oldest first."""
        cutoff = self.rollup_cutoff(retention_days, today)
        days = self.session.scalars(
            select(DownloadCount.day)
            .where(DownloadCount.period == Period.DAY, DownloadCount.day < cutoff)
            .distinct()
        ).all()
        return sorted({month_start(day) for day in days})

    def rollup_cutoff(self, retention_days: int, today: date | None = None) -> date:
        """Daily rows before this day are rolled up."""
        return month_start((today or self.today()) - timedelta(days=retention_days))

    def roll_up_month(self, month: date) -> tuple[int, int]:
        """Fold one month's daily rows into monthly ones, in the caller's transaction;
        returns the daily rows and the downloads moved.

        It starts by deleting the month's daily rows with RETURNING: a concurrent rollup
        in another process waits for that delete and then finds nothing, so no count is
        moved twice and the sum of every row (the all-time total) never changes. Commit
        once per month (`fpmreg.server.metrics.jobs.roll_up_downloads`)."""
        deleted = self.session.execute(
            delete(COUNTS)
            .where(
                COUNTS.c.period == Period.DAY.value,
                COUNTS.c.day >= month,
                COUNTS.c.day < next_month(month),
            )
            .returning(COUNTS.c.version_id, COUNTS.c.client, COUNTS.c.ci, COUNTS.c.count)
        ).all()
        folded: Counter[tuple[int, str, bool]] = Counter()
        for version_id, client, ci, count in deleted:
            folded[(version_id, client, bool(ci))] += count
        self._upsert(
            COUNTS,
            ["version_id", "period", "day", "client", "ci"],
            [
                {
                    "version_id": version_id,
                    "period": Period.MONTH.value,
                    "day": month,
                    "client": client,
                    "ci": ci,
                    "count": n,
                }
                for (version_id, client, ci), n in folded.items()
            ],
        )
        return len(deleted), sum(folded.values())

    # reading -------------------------------------------------------------

    def package_report(
        self, package: Package, versions: Iterable[Version], start: date, end: date
    ) -> PackageReport:
        """Per version, per day (or month, once rolled up), per client kind; with each
        version's downloads in the range and all time. One query (the package page's
        query budget), the all-time totals riding along as rows of period `total`."""
        versions = list(versions)
        names = {v.id: v.version for v in versions}
        newest_first = {v.id: index for index, v in enumerate(versions)}
        series = (
            select(
                DownloadCount.version_id,
                DownloadCount.period,
                DownloadCount.day,
                DownloadCount.client,
                DownloadCount.ci,
                DownloadCount.count,
            )
            .join(Version, Version.id == DownloadCount.version_id)
            .where(Version.package_id == package.id, _in_range(start, end))
        )
        totals = select(
            VersionDownloads.version_id,
            literal(_TOTAL, String),
            null().cast(Date),
            null().cast(String),
            null().cast(Boolean),
            VersionDownloads.count,
        ).where(VersionDownloads.package_id == package.id)
        keyed: list[tuple[tuple[date, int, str, bool], DownloadRow]] = []
        all_time: dict[int, int] = {}
        for version_id, period, day, client, ci, count in self.session.execute(
            union_all(series, totals)
        ):
            if period == _TOTAL:
                all_time[version_id] = int(count)
            elif version_id in names:
                row = DownloadRow(day, period, names[version_id], client, bool(ci), int(count))
                keyed.append(((day, newest_first[version_id], client, bool(ci)), row))
        rows = [row for _, row in sorted(keyed, key=lambda item: item[0])]
        in_range: Counter[str] = Counter()
        for row in rows:
            in_range[row.version] += row.count
        return PackageReport(
            start,
            end,
            rows,
            [VersionTotal(v.version, in_range[v.version], all_time.get(v.id, 0)) for v in versions],
        )

    def registry_stats(self, start: date, end: date, *, top: int = 10) -> RegistryStats:
        """Totals, client kinds, a daily series and the most downloaded packages."""
        in_range = _in_range(start, end)
        by_client: dict[str, int] = {kind.value: 0 for kind in ClientKind}
        ci = 0
        for client, is_ci, total in self.session.execute(
            select(DownloadCount.client, DownloadCount.ci, func.sum(DownloadCount.count))
            .where(in_range)
            .group_by(DownloadCount.client, DownloadCount.ci)
        ):
            by_client[client] = by_client.get(client, 0) + int(total)
            ci += int(total) if is_ci else 0
        daily = [
            (day, int(total))
            for day, total in self.session.execute(
                select(DownloadCount.day, func.sum(DownloadCount.count))
                .where(DownloadCount.period == Period.DAY, DownloadCount.day.between(start, end))
                .group_by(DownloadCount.day)
                .order_by(DownloadCount.day)
            )
        ]
        summed = func.sum(DownloadCount.count).label("downloads")
        top_packages = [
            TopPackage(namespace, name, int(total))
            for namespace, name, total in self.session.execute(
                select(Namespace.name, Package.name, summed)
                .select_from(DownloadCount)
                .join(Version, Version.id == DownloadCount.version_id)
                .join(Package, Package.id == Version.package_id)
                .join(Namespace, Namespace.id == Package.namespace_id)
                .where(in_range)
                .group_by(Package.id, Namespace.name, Package.name)
                .order_by(summed.desc(), Namespace.name, Package.name)
                .limit(top)
            )
        ]
        all_time = self.session.scalar(select(func.sum(PackageDownloads.count))) or 0
        return RegistryStats(
            start,
            end,
            sum(by_client.values()),
            int(all_time),
            ci,
            by_client,
            daily,
            top_packages,
        )
