"""Real server processes: no download is lost or doubled across processes and SIGTERM,
no client address is stored anywhere, and `/metrics` adds up every gunicorn worker."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import String, Text, cast, func, select

from fpmreg.server.db import Base, Database
from fpmreg.server.metrics.models import DownloadCount, PackageDownloads, VersionDownloads
from fpmreg.server.models import import_all_models
from tests.support.databases import backend_name, fresh_database
from tests.support.live import LiveServer
from tests.support.tarballs import package_tarball

# Clients connect from this loopback address; the servers listen on 127.0.0.1, so any
# trace of this one in the database or a log can only be a stored client address.
CLIENT_ADDRESS = "127.0.0.2"
NAMESPACE = "live"
NAME = "counted"
VERSIONS = ("1.0.0", "1.1.0", "2.0.0")
AGENTS = {
    "curl/8.5.0": ("fpm", False),
    "fpmreg/0.1.0 (linux)": ("fpmreg", True),  # sent with X-Fpmreg-CI: 1
    "fpmreg-mirror/1.0": ("mirror", False),
    "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0": ("browser", False),
    "python-httpx/0.28": ("other", False),
}
THREADS = 16
REQUESTS_PER_THREAD = 300  # 4,800 requests, one in ten a HEAD


@dataclass
class Tally:
    """What the clients saw: whole 200 GETs per (version, kind, CI), and the rest."""

    successes: Counter[tuple[str, str, bool]] = field(default_factory=Counter)
    heads: int = 0
    failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def total(self) -> int:
        return sum(self.successes.values())


def publish_versions(server: LiveServer) -> dict[str, bytes]:
    token = server.publisher_token(NAMESPACE)
    tarballs = {}
    for version in VERSIONS:
        data = package_tarball(NAME, version)
        response = httpx.post(
            server.url + "/api/v1/packages",
            headers={"Authorization": f"Bearer {token}"},
            files={"tarball": ("t.tar.gz", data, "application/gzip")},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        tarballs[version] = data
    return tarballs


def download_loop(
    worker: int, servers: list[LiveServer], tarballs: dict[str, bytes], tally: Tally
) -> None:
    transport = httpx.HTTPTransport(local_address=CLIENT_ADDRESS)
    agents = list(AGENTS)
    with httpx.Client(transport=transport, timeout=30) as client:
        for i in range(REQUESTS_PER_THREAD):
            server = servers[(worker + i) % len(servers)]
            version = VERSIONS[(worker * 7 + i) % len(VERSIONS)]
            agent = agents[(worker + i * 3) % len(agents)]
            kind, ci = AGENTS[agent]
            headers = {"User-Agent": agent, **({"X-Fpmreg-CI": "1"} if ci else {})}
            if i % 2:
                url = f"{server.url}/tarballs/{NAMESPACE}/{NAME}/{version}.tar.gz"
            else:
                url = f"{server.url}/api/v1/packages/{NAMESPACE}/{NAME}/versions/{version}/download"
            head = i % 10 == 9
            try:
                if head:
                    response = client.head(url, headers=headers)
                else:
                    response = client.get(url, headers=headers)
            except httpx.TransportError:
                with tally.lock:
                    tally.failures += 1
                continue
            with tally.lock:
                if head and response.status_code == 200:
                    tally.heads += 1
                elif response.status_code == 200 and response.content == tarballs[version]:
                    tally.successes[(version, kind, ci)] += 1
                else:
                    tally.failures += 1


def stored_counts(database: Database) -> Counter[tuple[str, str, bool]]:
    from fpmreg.server.packages.models import Version

    with database.session() as session:
        rows = session.execute(
            select(
                Version.version, DownloadCount.client, DownloadCount.ci, DownloadCount.count
            ).join(Version, Version.id == DownloadCount.version_id)
        ).all()
    counts: Counter[tuple[str, str, bool]] = Counter()
    for version, client, ci, count in rows:
        counts[(version, client, bool(ci))] += count
    return counts


def text_cells_containing(database: Database, needle: str) -> list[str]:
    """`table.column` of every text-like cell (every column cast to text) holding `needle`."""
    import_all_models()
    found = []
    with database.session() as session:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                as_text = column if isinstance(column.type, String | Text) else cast(column, Text)
                hits = session.scalar(
                    select(func.count()).select_from(table).where(as_text.contains(needle))
                )
                if hits:
                    found.append(f"{table.name}.{column.name}")
    return found


def test_every_download_is_counted_once_across_processes_and_a_sigterm(
    tmp_path: Path,
) -> None:
    env = {"FPMREG_DOWNLOAD_DEDUP_SECONDS": "0", "FPMREG_METRICS_FLUSH_SECONDS": "0.5"}
    with fresh_database(tmp_path) as url:
        first = LiveServer(url, tmp_path, workers=2, env=env)
        second = LiveServer(url, tmp_path, workers=2, env=env)
        tally = Tally()
        try:
            first.start()
            second.start()
            tarballs = publish_versions(first)
            threads = [
                threading.Thread(target=download_loop, args=(n, [first, second], tarballs, tally))
                for n in range(THREADS)
            ]
            for thread in threads:
                thread.start()
            # Stop one server (gunicorn and its two workers) with SIGTERM in mid-run.
            deadline = time.monotonic() + 120
            while tally.total < THREADS * REQUESTS_PER_THREAD // 3:
                assert time.monotonic() < deadline, "downloads are not progressing"
                time.sleep(0.05)
            counted_before_stop = tally.total
            assert first.stop() == 0
            for thread in threads:
                thread.join()
        finally:
            first.stop()
            assert second.stop() == 0
        database = Database.from_url(url)
        try:
            stored = stored_counts(database)
            with database.session() as session:
                versions_total = session.scalar(select(func.sum(VersionDownloads.count)))
                package_total = session.scalar(select(func.sum(PackageDownloads.count)))
            assert counted_before_stop > 0 and tally.failures > 0  # the stop hit mid-run
            assert tally.total > counted_before_stop  # and the other server kept serving
            assert sum(stored.values()) == tally.total
            assert stored == tally.successes
            assert versions_total == package_total == tally.total
            # No client address anywhere: database cells, the database files, the logs.
            assert text_cells_containing(database, CLIENT_ADDRESS) == []
        finally:
            database.engine.dispose()
        if backend_name() == "sqlite":
            path = Path(url.removeprefix("sqlite:///"))
            for stored_file in path.parent.glob(path.name + "*"):
                assert CLIENT_ADDRESS.encode() not in stored_file.read_bytes(), stored_file
        for log in (first.log, second.log):
            assert CLIENT_ADDRESS not in log.read_text(errors="replace"), log.read_text()[-2000:]


def test_metrics_add_up_every_gunicorn_worker_in_multiprocess_mode(tmp_path: Path) -> None:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(directory)}
    requests = 60
    with fresh_database(tmp_path) as url, LiveServer(url, tmp_path, workers=2, env=env) as server:
        for _ in range(requests):  # a new connection each: gunicorn spreads them over workers
            assert httpx.get(server.url + "/api/v1/packages", timeout=10).status_code == 200
        pids = {
            match.group(1)
            for f in directory.iterdir()
            if (match := re.match(r"(?:counter|histogram)_(\d+)\.db$", f.name))
        }
        assert len(pids) == 2, sorted(p.name for p in directory.iterdir())
        line = 'fpmreg_http_requests_total{method="GET",route="/api/v1/packages",status="200"}'
        for _ in range(4):  # whichever worker answers, it reports both workers' sum
            body = httpx.get(server.url + "/metrics", timeout=10).text
            value = next(
                float(row.rsplit(" ", 1)[1]) for row in body.splitlines() if row.startswith(line)
            )
            assert value == requests
            assert (
                'fpmreg_http_request_duration_seconds_count{method="GET",route="/api/v1/packages"}'
                in body
            )


def test_counts_reach_the_database_within_the_flush_interval(tmp_path: Path) -> None:
    env = {"FPMREG_DOWNLOAD_DEDUP_SECONDS": "0", "FPMREG_METRICS_FLUSH_SECONDS": "0.2"}
    with fresh_database(tmp_path) as url, LiveServer(url, tmp_path, env=env) as server:
        tarballs = publish_versions(server)
        for _ in range(3):
            response = httpx.get(
                f"{server.url}/tarballs/{NAMESPACE}/{NAME}/1.0.0.tar.gz",
                headers={"User-Agent": "curl/8.5.0"},
            )
            assert response.content == tarballs["1.0.0"]
        database = Database.from_url(url)
        try:
            deadline = time.monotonic() + 10
            while sum(stored_counts(database).values()) < 3:
                assert time.monotonic() < deadline, "counts never reached the database"
                time.sleep(0.1)
            assert stored_counts(database) == {("1.0.0", "fpm", False): 3}
        finally:
            database.engine.dispose()
