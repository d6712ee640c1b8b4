"""`/api/v1` download series and stats (JSON and CSV), and the operators' `/metrics`."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BeforeValidator

from fpmreg.core.wire import WireModel
from fpmreg.core.wire.downloads import (
    DailyCount,
    DownloadRow,
    PackageDownloads,
    RegistryDownloads,
    TopPackage,
    VersionDownloads,
)
from fpmreg.server.metrics.deps import DownloadsDep, MetricsDep
from fpmreg.server.metrics.service import PackageReport, check_range
from fpmreg.server.openapi import api_errors
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.schemas import NamePath, NamespacePath

router = APIRouter(prefix="/api/v1", tags=["downloads"])
operator_router = APIRouter(include_in_schema=False)

# Counts reach the database every few seconds; a minute of caching costs nothing.
CACHE_CONTROL = "public, max-age=60"
CSV_COLUMNS = ("date", "period", "version", "client", "ci", "count")
MAX_TOP = 100


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: object) -> object:
    """Only `YYYY-MM-DD`: pydantic alone would also read `0` as 1970-01-01."""
    if isinstance(value, str) and not _ISO_DAY.fullmatch(value):
        raise ValueError("expected a day as `YYYY-MM-DD`")
    return value


Day = Annotated[date, BeforeValidator(_iso_day)]
FromQuery = Annotated[
    Day | None, Query(alias="from", description="first UTC day, `YYYY-MM-DD` (90 days ago)")
]
ToQuery = Annotated[Day | None, Query(alias="to", description="last UTC day (today)")]


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


@router.get(
    "/packages/{namespace}/{name}/downloads",
    summary="Downloads of a package",
    response_model=PackageDownloads,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        **api_errors(400, 404, 422),
    },
)
def package_downloads(
    namespace: NamespacePath,
    name: NamePath,
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
    body = PackageDownloads(
        namespace=package.namespace.name,
        name=package.name,
        start=first,
        end=last,
        total=report.total,
        all_time=report.all_time,
        versions=[
            VersionDownloads(version=v.version, downloads=v.in_range, all_time=v.all_time)
            for v in report.versions
        ],
        downloads=[DownloadRow.model_validate(row.as_dict()) for row in report.rows],
    )
    return _json(body, headers)


def _json(body: WireModel, headers: dict[str, str]) -> Response:
    return Response(body.model_dump_json(), media_type="application/json", headers=headers)


@router.get(
    "/stats/downloads",
    summary="Downloads of the whole registry",
    response_model=RegistryDownloads,
    responses=api_errors(400, 422),
)
def registry_downloads(
    downloads: DownloadsDep,
    start: FromQuery = None,
    end: ToQuery = None,
    top: Annotated[int, Query(ge=1, le=MAX_TOP, description="how many top packages")] = 10,
) -> Response:
    """Totals by client kind, CI downloads, a daily series and the most downloaded
    packages between `from` and `to`; `all_time` counts every download ever stored."""
    first, last = check_range(start, end, downloads.today())
    stats = downloads.registry_stats(first, last, top=top)
    body = RegistryDownloads(
        start=first,
        end=last,
        total=stats.total,
        all_time=stats.all_time,
        ci=stats.ci,
        by_client=stats.by_client,
        daily=[DailyCount(date=day, count=n) for day, n in stats.daily],
        top_packages=[
            TopPackage(namespace=p.namespace, name=p.name, downloads=p.downloads)
            for p in stats.top_packages
        ],
    )
    return _json(body, {"Cache-Control": CACHE_CONTROL})


@operator_router.get("/metrics")
def prometheus_metrics(metrics: MetricsDep) -> Response:
    """Prometheus text format: requests, latencies, uploads, downloads, errors."""
    body, content_type = metrics.instruments.exposition()
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
