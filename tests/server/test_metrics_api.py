"""Publishing download data: the JSON and CSV series, registry stats, search order, the
package page chart, the data policy page and the operators' `/metrics`."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from fpmreg.server.app import create_app
from fpmreg.server.db import Database
from fpmreg.server.metrics.jobs import roll_up_in
from fpmreg.server.metrics.service import CountKey, DownloadsService
from fpmreg.server.packages.models import Package, Version
from fpmreg.server.settings import Settings
from fpmreg.server.storage import BlobStore
from tests.factories import Publisher, make_publisher, publish, unique

TODAY = date(2026, 11, 20)


class FixedClock:
    """Noon UTC on `TODAY`."""

    def now(self) -> datetime:
        return datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=UTC)


@pytest.fixture
def client(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session]
) -> Iterator[TestClient]:
    quiet = settings.model_copy(update={"metrics_flush_seconds": 0})
    app = create_app(quiet, database=Database(engine, sessions), clock=FixedClock())
    with TestClient(app) as test_client:
        yield test_client


@dataclass
class Seeded:
    publisher: Publisher
    name: str
    versions: dict[str, int]  # version -> id

    @property
    def path(self) -> str:
        return f"/api/v1/packages/{self.publisher.namespace.name}/{self.name}/downloads"


def seed(
    session: Session, store: BlobStore, versions: tuple[str, ...] = ("1.0.0", "1.1.0")
) -> Seeded:
    publisher = make_publisher(session)
    name = unique("dl")
    for version in versions:
        publish(session, store, publisher, name, version)
    session.commit()
    rows = session.execute(
        select(Version.version, Version.id)
        .join(Package)
        .where(Package.namespace_id == publisher.namespace.id, Package.name == name)
    ).all()
    return Seeded(publisher, name, {v: i for v, i in rows})


def add(session: Session, counts: dict[tuple[int, date, str, bool], int]) -> None:
    DownloadsService(session, FixedClock()).add_counts(
        {CountKey(v, d, client, ci): n for (v, d, client, ci), n in counts.items()}
    )
    session.commit()


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


@pytest.fixture
def seeded(session: Session, store: BlobStore) -> Seeded:
    pkg = seed(session, store)
    old, new = pkg.versions["1.0.0"], pkg.versions["1.1.0"]
    add(
        session,
        {
            (old, days_ago(2), "fpm", False): 5,
            (old, days_ago(1), "fpm", True): 3,
            (new, days_ago(1), "fpmreg", False): 2,
            (new, TODAY, "mirror", False): 1,
            (old, days_ago(120), "browser", False): 7,  # outside the default 90 days
        },
    )
    return pkg


def test_json_series_has_every_version_day_and_client_kind(
    client: TestClient, seeded: Seeded
) -> None:
    response = client.get(seeded.path)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["namespace"] == seeded.publisher.namespace.name and body["name"] == seeded.name
    assert (body["from"], body["to"]) == (days_ago(89).isoformat(), TODAY.isoformat())
    assert body["total"] == 11 and body["all_time"] == 18
    assert body["versions"] == [
        {"version": "1.1.0", "downloads": 3, "all_time": 3},
        {"version": "1.0.0", "downloads": 8, "all_time": 15},
    ]
    assert body["downloads"] == [
        {"date": days_ago(2).isoformat(), "period": "day", "version": "1.0.0",
         "client": "fpm", "ci": False, "count": 5},
        {"date": days_ago(1).isoformat(), "period": "day", "version": "1.1.0",
         "client": "fpmreg", "ci": False, "count": 2},
        {"date": days_ago(1).isoformat(), "period": "day", "version": "1.0.0",
         "client": "fpm", "ci": True, "count": 3},
        {"date": TODAY.isoformat(), "period": "day", "version": "1.1.0",
         "client": "mirror", "ci": False, "count": 1},
    ]  # fmt: skip
    assert "max-age" in response.headers["cache-control"]


def test_csv_has_a_header_row_and_the_same_rows_as_json(client: TestClient, seeded: Seeded) -> None:
    as_json = client.get(seeded.path).json()["downloads"]
    response = client.get(seeded.path, params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert f"{seeded.name}-downloads.csv" in response.headers["content-disposition"]
    lines = response.text.splitlines()
    assert lines[0] == "date,period,version,client,ci,count"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [
        {**row, "ci": row["ci"] == "true", "count": int(row["count"])} for row in rows
    ] == as_json


def test_from_and_to_are_inclusive_utc_days(client: TestClient, seeded: Seeded) -> None:
    one_day = client.get(
        seeded.path, params={"from": days_ago(1).isoformat(), "to": days_ago(1).isoformat()}
    ).json()
    assert one_day["total"] == 5
    assert {row["date"] for row in one_day["downloads"]} == {days_ago(1).isoformat()}
    long_ago = client.get(seeded.path, params={"from": days_ago(200).isoformat()}).json()
    assert long_ago["total"] == 18  # the 120-day-old browser download is in range now
    empty = client.get(seeded.path, params={"from": "2020-01-01", "to": "2020-01-31"}).json()
    assert empty["total"] == 0 and empty["downloads"] == [] and empty["all_time"] == 18


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"from": "2026-11-10", "to": "2026-11-01"}, 400, "range-invalid"),
        ({"from": "2000-01-01", "to": "2026-11-01"}, 400, "range-too-long"),
        ({"from": "yesterday"}, 422, "request-invalid"),
        ({"format": "xml"}, 422, "request-invalid"),
    ],
)
def test_bad_ranges_are_refused_with_the_api_envelope(
    client: TestClient, seeded: Seeded, params: dict[str, str], status: int, code: str
) -> None:
    response = client.get(seeded.path, params=params)
    assert response.status_code == status
    assert response.json()["errors"][0]["code"] == code


def test_downloads_of_a_missing_package_are_a_404(client: TestClient) -> None:
    response = client.get("/api/v1/packages/nobody/nothing/downloads")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "package-not-found"


def test_rolled_up_months_appear_as_monthly_rows(
    client: TestClient, session: Session, seeded: Seeded
) -> None:
    result = roll_up_in(session, FixedClock(), 60)
    assert result.downloads == 7  # the 120-day-old download moved into its month
    body = client.get(seeded.path, params={"from": days_ago(125).isoformat()}).json()
    monthly = [row for row in body["downloads"] if row["period"] == "month"]
    assert monthly == [
        {"date": days_ago(120).replace(day=1).isoformat(), "period": "month",
         "version": "1.0.0", "client": "browser", "ci": False, "count": 7}
    ]  # fmt: skip
    assert body["all_time"] == 18


def test_registry_stats_give_totals_kinds_days_and_top_packages(
    client: TestClient, session: Session, store: BlobStore, seeded: Seeded
) -> None:
    other = seed(session, store, ("2.0.0",))
    add(session, {(other.versions["2.0.0"], TODAY, "fpm", False): 40})
    response = client.get("/api/v1/stats/downloads", params={"top": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    # The shared test database may hold other tests' committed rows: compare at least.
    assert body["total"] >= 51 and body["all_time"] >= 58 and body["ci"] >= 3
    assert set(body["by_client"]) == {"fpm", "fpmreg", "mirror", "browser", "other"}
    assert {"date": TODAY.isoformat(), "count": body["daily"][-1]["count"]} == body["daily"][-1]
    top = body["top_packages"]
    assert len(top) <= 2
    names = [p["name"] for p in top]
    assert names.index(other.name) < names.index(seeded.name) if seeded.name in names else True
    assert {"namespace": other.publisher.namespace.name, "name": other.name, "downloads": 40} in top


def test_search_can_sort_by_downloads(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    word = unique("sortword")
    quiet = seed(session, store, ("1.0.0",))
    busy = seed(session, store, ("1.0.0",))
    none = seed(session, store, ("1.0.0",))
    for pkg in (quiet, busy, none):  # make all three match `word`
        session.execute(
            Package.__table__.update()  # type: ignore[attr-defined]
            .where(Package.name == pkg.name)
            .values(description=f"about {word}")
        )
    session.commit()
    add(session, {(quiet.versions["1.0.0"], TODAY, "fpm", False): 2})
    add(session, {(busy.versions["1.0.0"], TODAY, "fpm", False): 9})
    by_downloads = client.get("/api/v1/packages", params={"q": word, "sort": "downloads"})
    assert [p["name"] for p in by_downloads.json()["packages"]] == [
        busy.name,
        quiet.name,
        none.name,
    ]
    page = client.get("/search", params={"q": word, "sort": "downloads"}).text
    assert page.index(busy.name) < page.index(quiet.name) < page.index(none.name)
    assert 'aria-current="true">downloads' in page
    relevance = client.get("/api/v1/packages", params={"q": word})
    assert relevance.json()["packages"][0]["name"] == none.name  # newest first
    assert client.get("/api/v1/packages", params={"sort": "stars"}).status_code == 422


def test_package_page_draws_a_chart_with_a_title_per_bar(
    client: TestClient, seeded: Seeded
) -> None:
    page = client.get(f"/project/{seeded.publisher.namespace.name}/{seeded.name}")
    assert page.status_code == 200
    html = page.text
    svg = html[html.index('<svg id="downloads-chart"') : html.index("</svg>")]
    titles = re.findall(r"<rect [^>]*><title>([^<]+)</title></rect>", svg)
    assert titles == [
        f"{days_ago(2).isoformat()}: 5 downloads",
        f"{days_ago(1).isoformat()}: 5 downloads",
        f"{TODAY.isoformat()}: 1 download",
    ]
    assert '<title id="downloads-chart-title">Daily downloads of' in svg
    assert re.search(r'<text class="y-label"[^>]*>5</text>', svg)  # the axis maximum
    assert "Nov 20" in svg  # the last day on the x axis
    assert "<strong>11</strong> in the last 90 days" in html
    assert re.search(r"<th scope=\"row\">1\.0\.0</th><td>8</td><td>15</td>", html)


def test_package_page_without_downloads_says_so(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    pkg = seed(session, store, ("1.0.0",))
    html = client.get(f"/project/{pkg.publisher.namespace.name}/{pkg.name}").text
    assert "No downloads in the last 90 days." in html
    assert "<svg" not in html


def test_data_policy_page_says_what_is_kept_and_is_linked_from_every_page(
    client: TestClient, settings: Settings
) -> None:
    home = client.get("/").text
    assert '<a href="/data-policy">Data policy</a>' in home
    policy = client.get("/data-policy")
    assert policy.status_code == 200
    text = policy.text
    assert f"at least {settings.download_retention_days} days" in text
    assert "IP addresses" in text and "never written" in text
    for registry in ("PyPI", "crates.io", "npm", "Anaconda"):
        assert registry in text


def test_metrics_endpoint_labels_requests_by_route_template(
    client: TestClient, seeded: Seeded
) -> None:
    ns = seeded.publisher.namespace.name
    assert client.get(f"/tarballs/{ns}/{seeded.name}/1.0.0.tar.gz").status_code == 200
    assert client.get(f"/packages/{ns}/{seeded.name}").status_code == 200  # cache middleware
    assert client.get("/nowhere/at/all").status_code == 404
    client.post("/packages", data={"upload_token": "fpmreg_wrong"}, files={"tarball": ("f", b"x")})
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert (
        'fpmreg_http_requests_total{method="GET",route="/tarballs/{namespace}/{name}/{filename}",'
        'status="200"} 1.0'
    ) in text
    assert 'route="/packages/{namespace}/{name}",status="200"' in text
    assert 'route="unmatched",status="404"' in text
    assert 'fpmreg_uploads_total{endpoint="fpm",outcome="refused"} 1.0' in text
    assert 'fpmreg_downloads_total{client="other"} 1.0' in text
    assert "fpmreg_http_request_duration_seconds_bucket" in text
    assert seeded.name not in text and ns not in text  # no raw paths, no package names
