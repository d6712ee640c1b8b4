"""A mixed load on two app processes sharing one PostgreSQL (issue 14, docs/operating.md).

200 concurrent clients, for `LOAD_SECONDS` (60 by default), each sending fpm's requests
in a fixed mix — the latest version, one version, a tarball, a search, and now and then
a publish of a new version — to two production fpmreg processes in turn, as a load
balancer would. Both processes use one PostgreSQL database and one blob store, and count
every download (`FPMREG_DOWNLOAD_DEDUP_SECONDS=0`). After the load the processes are
stopped (they flush their counts) and the database must hold exactly as many downloads as
the clients received tarballs. Every failed request (a transport error, a timeout, an
unexpected status) is counted: the target is none. p50 and p99 latencies per kind of
request are recorded.

PostgreSQL comes from `FPMREG_BENCH_DATABASE_URL` (default
`postgresql://postgres@127.0.0.1:5432/test`; a fresh database is created beside it and
dropped afterwards); without it the scenario says so and fails.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select

from bench.scenarios import BenchFailure, Context, Outcome, Target, scenario
from bench.seed import SeededPackage, seed_package, version_number
from bench.server import log_tail, production_env
from fpmreg.server.metrics.models import DownloadCount
from tests.support.databases import fresh_postgres_database
from tests.support.live import LiveServer
from tests.support.tarballs import DEFAULT_LICENSE, fpm_publish_form, package_tarball

CLIENTS = 200
LOAD_SECONDS = float(os.environ.get("FPMREG_BENCH_LOAD_SECONDS", "60"))
DATABASE_URL = os.environ.get(
    "FPMREG_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
# What each client sends, over and over (from a different starting point per client):
# mostly fpm's metadata and tarball requests, some searches, one publish in 40.
MIX = ["latest"] * 12 + ["version"] * 8 + ["tarball"] * 12 + ["search"] * 7 + ["publish"] * 1
REQUEST_TIMEOUT_S = 30.0
SEED_VERSIONS = 5


@dataclass
class Tally:
    """What the clients saw: latencies per kind, failures, tarballs received."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    tarballs: int = 0

    def record(self, kind: str, seconds: float, problem: str = "") -> None:
        if problem:
            self.failures[kind] += 1
            if len(self.examples) < 5:
                self.examples.append(f"{kind}: {problem}")
            return
        self.latencies.setdefault(kind, []).append(seconds)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database beside `DATABASE_URL`; dropped on exit."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(fresh_postgres_database(DATABASE_URL, "fpmreg_bench"))
        except Exception as exc:  # any driver error: PostgreSQL is not there
            raise BenchFailure(f"no PostgreSQL at {DATABASE_URL} ({type(exc).__name__})") from exc
        yield url


def _two_apps(stack: ExitStack, workdir: Path, database_url: str) -> list[LiveServer]:
    """Two production processes (one gunicorn worker each), one database, one blob store."""
    env = {
        **production_env(publishes_per_minute=100_000),
        "FPMREG_DOWNLOAD_DEDUP_SECONDS": "0",
        "FPMREG_STORAGE_PATH": str(workdir / "shared-blobs"),
    }
    servers = []
    for name in ("app-a", "app-b"):
        folder = workdir / name
        folder.mkdir(parents=True, exist_ok=True)
        server = LiveServer(database_url, folder, workers=1, env=env)
        server.storage = workdir / "shared-blobs"
        server.start()
        stack.callback(server.stop)
        servers.append(server)
    return servers


class Load:
    """The clients' shared state: where to send, what to publish next, what they saw."""

    def __init__(self, urls: list[str], package: SeededPackage) -> None:
        self.urls = urls
        self.package = package
        self.tally = Tally()
        self.next_version = itertools.count(len(package.versions))
        self.deadline = 0.0

    def request(self, kind: str, turn: int) -> tuple[str, str, dict[str, object]]:
        """Method, URL and httpx arguments of one request of `kind`."""
        base = self.urls[turn % len(self.urls)]
        pkg = self.package
        version = pkg.versions[turn % len(pkg.versions)]
        if kind == "latest":
            return "GET", f"{base}{pkg.path}", {}
        if kind == "version":
            return "GET", f"{base}{pkg.path}/{version}", {}
        if kind == "tarball":
            return "GET", f"{base}/tarballs/{pkg.namespace}/{pkg.name}/{version}.tar.gz", {}
        if kind == "search":
            return "GET", f"{base}/packages", {"params": {"query": pkg.name[:4], "page": 1}}
        new = version_number(next(self.next_version))
        data = package_tarball(pkg.name, new)
        form = fpm_publish_form(pkg.name, new, DEFAULT_LICENSE, pkg.token, data)
        return "POST", f"{base}/packages", dict(form)

    async def client(self, http: httpx.AsyncClient, index: int) -> None:
        """One client: the mix from its own starting point until the deadline."""
        for turn in itertools.count(index):
            if time.monotonic() >= self.deadline:
                return
            kind = MIX[turn % len(MIX)]
            method, url, kwargs = self.request(kind, turn)
            start = time.monotonic()
            try:
                response = await http.request(method, url, **kwargs)  # type: ignore[arg-type]
            except httpx.HTTPError as exc:
                self.tally.record(kind, 0.0, f"{type(exc).__name__} on {url}")
                continue
            seconds = time.monotonic() - start
            problem = _problem(kind, response)
            self.tally.record(kind, seconds, problem)
            if kind == "tarball" and not problem:
                self.tally.tarballs += 1

    async def run(self, seconds: float) -> float:
        """All clients at once for `seconds`; the wall time it took."""
        limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
        timeout = httpx.Timeout(REQUEST_TIMEOUT_S)
        async with httpx.AsyncClient(limits=limits, timeout=timeout) as http:
            start = time.monotonic()
            self.deadline = start + seconds
            await asyncio.gather(*(self.client(http, i) for i in range(CLIENTS)))
            return time.monotonic() - start


def _problem(kind: str, response: httpx.Response) -> str:
    """Why `response` is a failure for a request of `kind`; empty when it is not."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if kind == "publish" and response.json().get("code") != 200:
        return f"publish refused: {response.text[:200]}"
    if kind == "tarball" and response.content[:2] != b"\x1f\x8b":
        return "the tarball is not gzip"
    return ""


def _percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {"p50_ms": round(1000 * (values[0] if values else 0.0), 2), "p99_ms": 0.0}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50_ms": round(1000 * cuts[49], 2), "p99_ms": round(1000 * cuts[98], 2)}


def _counted(database_url: str) -> int:
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.sum(DownloadCount.count))) or 0)
    finally:
        engine.dispose()


@scenario(
    "load-two-apps-postgres",
    f"{CLIENTS} clients for {LOAD_SECONDS:g} s: metadata, tarballs, search and publish "
    "on two app processes sharing PostgreSQL; exact download counts",
)
def load_two_apps(ctx: Context, outcome: Outcome) -> None:
    """Seed on A, load A and B in turn, stop both, compare the counts."""
    workdir = ctx.workdir / "load-two-apps"
    with postgres_database() as database_url, ExitStack() as stack:
        servers = _two_apps(stack, workdir, database_url)
        package = seed_package(servers[0], versions=SEED_VERSIONS)
        load = Load([s.url for s in servers], package)
        wall = asyncio.run(load.run(LOAD_SECONDS))
        for server in servers:  # SIGTERM: each flushes its buffered counts
            if server.stop() not in (0, -15):
                raise BenchFailure(f"an app did not stop cleanly:\n{log_tail(server.log)}")
        counted = _counted(database_url)
    tally = load.tally
    done = sum(len(v) for v in tally.latencies.values())
    failed = sum(tally.failures.values())
    everything = [s for values in tally.latencies.values() for s in values]
    overall = _percentiles(everything)
    outcome.metrics.update(
        {
            "clients": CLIENTS,
            "seconds": round(wall, 1),
            "requests_ok": done,
            "requests_failed": failed,
            "failures_by_kind": dict(tally.failures),
            "failure_examples": tally.examples,
            "requests_per_sec": round(done / wall, 1) if wall else 0.0,
            "latency_p50_ms": overall["p50_ms"],
            "latency_p99_ms": overall["p99_ms"],
            "latency_by_kind": {k: _percentiles(v) for k, v in sorted(tally.latencies.items())},
            "requests_by_kind": {k: len(v) for k, v in sorted(tally.latencies.items())},
            "tarballs_received": tally.tarballs,
            "downloads_counted": counted,
        }
    )
    outcome.target = Target.at_most("requests_failed", 0, failed)
    if counted != tally.tarballs:
        raise BenchFailure(f"{counted} downloads stored for {tally.tarballs} tarballs served")
