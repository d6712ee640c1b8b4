"""`/api/v1` download series and stats (JSON and CSV), and the operators' `/metrics`."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from fpmreg.server.metrics.deps import DownloadsDep, MetricsDep
from fpmreg.server.metrics.service import PackageReport, check_range
from fpmreg.server.packages.deps import PackagesDep

router = APIRouter(prefix="/api/v1", tags=["downloads"])
operator_router = APIRouter(include_in_schema=False)

# Counts reach the database every few seconds; a minute of caching costs nothing.
CACHE_CONTROL = "public, max-age=60"
CSV_COLUMNS = ("date", "period", "version", "client", "ci", "count")
MAX_TOP = 100

FromQuery = Annotated[
    date | None, Query(alias="from", description="first UTC day, `YYYY-MM-DD` (90 days ago)")
]
ToQuery = Annotated[date | None, Query(alias="to", description="last UTC day (today)")]


def report_csv(report: PackageReport) -> str:
    """The series as CSV with a header row, one line per version, period, client and CI."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        writer.writerow(
            [
                row.day.isoformat(),
                row.period,
                row.version,
                row.client,
                "true" if row.ci else "false",
                row.count,
            ]
        )
    return out.getvalue()


@router.get("/packages/{namespace}/{name}/downloads", summary="Downloads of a package")
def package_downloads(
    namespace: str,
    name: str,
    packages: PackagesDep,
    downloads: DownloadsDep,
    start: FromQuery = None,
    end: ToQuery = None,
    shape: Annotated[
        Literal["json", "csv"], Query(alias="format", description="`csv` for a CSV file")
    ] = "json",
) -> Response:
    """Per version, per UTC day (per month once older than the retention), per client kind
    (`fpm`, `fpmreg`, `mirror`, `browser`, `other`) and CI flag, between `from` and `to`
    inclusive; with totals per version in the range and since publishing."""
    package = packages.get_package(namespace, name)
    versions = packages.versions(package)
    first, last = check_range(start, end, downloads.today())
    report = downloads.package_report(package, versions, first, last)
    headers = {"Cache-Control": CACHE_CONTROL}
    if shape == "csv":
        filename = f"{package.namespace.name}-{package.name}-downloads.csv"
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return Response(report_csv(report), media_type="text/csv; charset=utf-8", headers=headers)
    body: dict[str, Any] = {
        "namespace": package.namespace.name,
        "name": package.name,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "total": report.total,
        "all_time": report.all_time,
        "versions": [
            {"version": v.version, "downloads": v.in_range, "all_time": v.all_time}
            for v in report.versions
        ],
        "downloads": [row.as_dict() for row in report.rows],
    }
    return JSONResponse(body, headers=headers)


@router.get("/stats/downloads", summary="Downloads of the whole registry")
def registry_downloads(
    downloads: DownloadsDep,
    start: FromQuery = None,
    end: ToQuery = None,
    top: Annotated[int, Query(ge=1, le=MAX_TOP, description="how many top packages")] = 10,
) -> JSONResponse:
    """Totals by client kind, CI downloads, a daily series and the most downloaded
    packages between `from` and `to`; `all_time` counts every download ever stored."""
    first, last = check_range(start, end, downloads.today())
    stats = downloads.registry_stats(first, last, top=top)
    body = {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "total": stats.total,
        "all_time": stats.all_time,
        "ci": stats.ci,
        "by_client": stats.by_client,
        "daily": [{"date": day.isoformat(), "count": n} for day, n in stats.daily],
        "top_packages": [
            {"namespace": p.namespace, "name": p.name, "downloads": p.downloads}
            for p in stats.top_packages
        ],
    }
    return JSONResponse(body, headers={"Cache-Control": CACHE_CONTROL})


@operator_router.get("/metrics")
def prometheus_metrics(metrics: MetricsDep) -> Response:
    """Prometheus text format: requests, latencies, uploads, downloads, errors."""
    body, content_type = metrics.instruments.exposition()
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
