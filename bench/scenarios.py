"""Scenarios: each a function from the shared `Context` to an `Outcome`, run in order.

Add one by writing a function and decorating it with `@scenario(...)`; it is run after
the ones above it, and its outcome lands in results/latest.json and the summary table.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.client
import io
import json
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.payloads import GzipBomb, big_package, gzip_bomb
from bench.seed import SeededPackage, publish_next
from bench.server import Nginx, memory_kib, reset_peak_rss, serving_pid, worker_pids
from bench.wrk import WrkParams, WrkResult, run_wrk
from fpmreg.core.archive import DEFAULT_LIMITS, read_archive
from fpmreg.core.checks import inspect_package
from fpmreg.core.fpmjson import fpm_json_problems
from tests.support.live import LiveServer
from tests.support.tarballs import DEFAULT_LICENSE, fpm_publish_form, package_tarball

# What a single production fpmreg (2 workers) should sustain for fpm's hottest request.
LATEST_TARGET_RPS = 5000.0


class BenchFailure(Exception):
    """Something is broken (a wrong answer, a failed request): the run must fail."""


@dataclass
class Context:
    """What every scenario may use: the running processes, the data, the load shape."""

    server: LiveServer
    nginx: Nginx
    package: SeededPackage
    wrk: WrkParams
    workdir: Path
    workers: int
    notes: dict[str, Any] = field(default_factory=dict)  # shared between scenarios


@dataclass
class Target:
    """A number to reach: recorded and reported, never a reason to fail the run.

    `Target(metric, minimum, met)` is a floor (requests per second); `Target.at_most`
    makes a ceiling (seconds, megabytes)."""

    metric: str
    minimum: float | None = None
    met: bool = False
    maximum: float | None = None

    @classmethod
    def at_most(cls, metric: str, maximum: float, value: float) -> Target:
        """`metric` must stay at or below `maximum`; `value` is what was measured."""
        return cls(metric, None, value <= maximum, maximum)

    @property
    def bound(self) -> str:
        """`>= 5,000` or `<= 0.5`."""
        if self.maximum is not None:
            return f"<= {_number(self.maximum)}"
        return f">= {_number(self.minimum or 0.0)}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: `minimum` or `maximum`, whichever bounds the metric."""
        bound: dict[str, float | None] = {}
        if self.maximum is not None:
            bound["maximum"] = self.maximum
        if self.minimum is not None or not bound:
            bound = {"minimum": self.minimum, **bound}
        return {"metric": self.metric, **bound, "bound": self.bound, "met": self.met}


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:g}"


@dataclass
class Outcome:
    """What one scenario found. `ok` is correctness only; numbers go in `metrics`."""

    name: str
    description: str
    ok: bool = True
    metrics: dict[str, Any] = field(default_factory=dict)
    target: Target | None = None
    error: str = ""
    seconds: float = 0.0

    @property
    def rps(self) -> float | None:
        """Requests per second, for throughput scenarios."""
        value = self.metrics.get("requests_per_sec")
        return float(value) if value is not None else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "name": self.name,
            "description": self.description,
            "ok": self.ok,
            "error": self.error,
            "seconds": round(self.seconds, 2),
            "target": self.target.as_dict() if self.target else None,
            "metrics": self.metrics,
        }


ScenarioFn = Callable[[Context, Outcome], None]


@dataclass(frozen=True)
class Scenario:
    """A registered scenario."""

    name: str
    description: str
    run: ScenarioFn


SCENARIOS: list[Scenario] = []


def scenario(name: str, description: str) -> Callable[[ScenarioFn], ScenarioFn]:
    """Register `fn(ctx, outcome)`: it fills `outcome` in, or raises `BenchFailure`."""

    def register(fn: ScenarioFn) -> ScenarioFn:
        SCENARIOS.append(Scenario(name, description, fn))
        return fn

    return register


def run_scenario(item: Scenario, ctx: Context) -> Outcome:
    """Run one scenario; any exception marks it broken instead of stopping the run."""
    outcome = Outcome(item.name, item.description)
    start = time.monotonic()
    try:
        item.run(ctx, outcome)
    except Exception as exc:
        outcome.ok = False
        outcome.error = f"{type(exc).__name__}: {exc}"
    outcome.seconds = time.monotonic() - start
    return outcome


# Helpers ----------------------------------------------------------------------


def check_latest_document(body: bytes, package: SeededPackage, expected: str) -> dict[str, Any]:
    """The parsed body, if it is fpm-readable and names `expected` as the latest version."""
    problems = fpm_json_problems(body)
    if problems:
        raise BenchFailure(f"fpm could not read {package.path}: {problems}")
    document: dict[str, Any] = json.loads(body)
    data = document.get("data", {})
    latest = data.get("latest_version_data", {})
    if document.get("code") != 200 or latest.get("version") != expected:
        raise BenchFailure(
            f"{package.path} answered latest {latest.get('version')!r} "
            f"(code {document.get('code')!r}), expected {expected!r}"
        )
    history = data.get("version_history", [])
    if sorted(history) != sorted(package.versions) or history[0] != expected:
        raise BenchFailure(
            f"{package.path} version_history is {history}, "
            f"expected {len(package.versions)} versions newest first"
        )
    if not latest.get("dependencies"):
        raise BenchFailure(f"{package.path} latest version has no dependencies listed")
    return document


def latest_body(ctx: Context) -> bytes:
    """`GET /packages/{ns}/{name}` from fpmreg, checked; fetched once per run."""
    if "latest_body" not in ctx.notes:
        response = httpx.get(ctx.server.url + ctx.package.path, timeout=10)
        if response.status_code != 200:
            raise BenchFailure(f"GET {ctx.package.path}: HTTP {response.status_code}")
        check_latest_document(response.content, ctx.package, ctx.package.latest)
        ctx.notes["latest_body"] = response.content
    body: bytes = ctx.notes["latest_body"]
    return body


def load(ctx: Context, outcome: Outcome, url: str) -> WrkResult:
    """wrk `url` with the run's parameters; fill in the outcome's metrics."""
    load_before = os.getloadavg()[0]
    result = run_wrk(url, ctx.wrk)
    outcome.metrics.update(
        {
            "url": url,
            "requests_per_sec": round(result.requests_per_sec, 1),
            "latency_p50_ms": round(result.latency_ms["p50"], 3),
            "latency_p99_ms": round(result.latency_ms["p99"], 3),
            "wrk": ctx.wrk.as_dict(),
            "result": result.as_dict(),
            "loadavg_1m_before": round(load_before, 2),
        }
    )
    if result.errors:
        raise BenchFailure(
            f"{result.errors} broken requests under load "
            f"(non-2xx/3xx {result.non_2xx_3xx}, socket {result.socket_errors})"
        )
    return result


# Scenarios, in running order ----------------------------------------------------------


@scenario("fpmreg-latest", "fpmreg: GET /packages/{ns}/{name} (fpm resolving the latest version)")
def fpmreg_latest(ctx: Context, outcome: Outcome) -> None:
    """The production server answering fpm's hottest request."""
    body = latest_body(ctx)
    outcome.metrics["body_bytes"] = len(body)
    result = load(ctx, outcome, ctx.server.url + ctx.package.path)
    outcome.target = Target(
        "requests_per_sec", LATEST_TARGET_RPS, result.requests_per_sec >= LATEST_TARGET_RPS
    )


@scenario("nginx-latest", "nginx: the same JSON bytes as a static file (the ceiling)")
def nginx_latest(ctx: Context, outcome: Outcome) -> None:
    """nginx serving exactly fpmreg's body at the same path: what this machine can do."""
    body = latest_body(ctx)
    ctx.nginx.put(ctx.package.path, body)
    served = httpx.get(ctx.nginx.url + ctx.package.path, timeout=10)
    if served.status_code != 200 or served.content != body:
        raise BenchFailure(
            f"nginx served HTTP {served.status_code}, "
            f"{len(served.content)} bytes instead of fpmreg's {len(body)}"
        )
    outcome.metrics["body_bytes"] = len(body)
    load(ctx, outcome, ctx.nginx.url + ctx.package.path)


def _get_on_fresh_connection(ctx: Context, pids: list[int]) -> tuple[int | None, int, bytes]:
    """One GET of the latest document on a new connection: (worker pid, status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", ctx.server.port, timeout=10)
    try:
        conn.request("GET", ctx.package.path)
        response = conn.getresponse()
        body = response.read()
        assert conn.sock is not None
        return serving_pid(conn.sock, pids), response.status, body
    finally:
        conn.close()


def _ask_every_worker(
    ctx: Context, expected: str, per_worker: int, max_tries: int
) -> dict[str, Any]:
    """Fresh connections until each worker answered `per_worker` times; every answer checked."""
    assert ctx.server.process is not None
    pids = worker_pids(ctx.server.process.pid)
    answers: dict[int | None, int] = {pid: 0 for pid in pids}
    tries = 0
    while tries < max_tries:
        tries += 1
        pid, status, body = _get_on_fresh_connection(ctx, pids)
        answers[pid] = answers.get(pid, 0) + 1
        if status != 200:
            raise BenchFailure(f"fresh connection {tries} (worker {pid}): HTTP {status}")
        check_latest_document(body, ctx.package, expected)
        if pids and all(answers.get(p, 0) >= per_worker for p in pids):
            break
    if len(pids) != ctx.workers:
        raise BenchFailure(f"expected {ctx.workers} gunicorn workers, found {pids}")
    unseen = [p for p in pids if answers.get(p, 0) == 0]
    if unseen:
        raise BenchFailure(f"workers {unseen} answered none of {tries} fresh connections")
    return {"requests": tries, "answers_per_worker": {str(k): v for k, v in answers.items()}}


@scenario("fresh-after-publish", "a version published is the latest on every worker at once")
def fresh_after_publish(ctx: Context, outcome: Outcome) -> None:
    """Warm every worker on the old latest, publish, then ask every worker with no pause."""
    before = _ask_every_worker(ctx, ctx.package.latest, per_worker=2, max_tries=200)
    start = time.monotonic()
    version = publish_next(ctx.package)
    published = time.monotonic()
    after = _ask_every_worker(ctx, version, per_worker=3, max_tries=200)
    ctx.notes.pop("latest_body", None)
    outcome.metrics.update(
        {
            "published_version": version,
            "publish_ms": round((published - start) * 1000, 1),
            "checked_within_ms": round((time.monotonic() - published) * 1000, 1),
            "before": before,
            "after": after,
        }
    )


# Upload checks -------------------------------------------------------------------

CHECK_TARGET_S = 0.5  # a ~10 MB package checked by the server (dry run), median
BOMB_TARGET_MB = 100.0  # peak RSS a worker may gain refusing a gzip bomb
CHECK_RUNS = 5
BOMB_RUNS = 3  # uploads per endpoint and bomb
BIG_MINIMUM_BYTES = 10_000_000  # "~10 MB": at least 10 MB and under the 10 MiB limit
MB = 1_000_000


def _mb(kib: int) -> float:
    return round(kib * 1024 / MB, 1)


def _timings(runs: list[float]) -> dict[str, Any]:
    return {
        "median": round(statistics.median(runs), 4),
        "min": round(min(runs), 4),
        "max": round(max(runs), 4),
        "runs": [round(r, 4) for r in runs],
    }


def _api_upload(
    client: httpx.Client, ctx: Context, data: bytes, *, dry_run: bool
) -> tuple[float, httpx.Response]:
    """`POST /api/v1/packages` with the seeded token: (seconds, response)."""
    start = time.perf_counter()
    response = client.post(
        f"{ctx.server.url}/api/v1/packages",
        headers={"Authorization": f"Bearer {ctx.package.token}"},
        data={"dry_run": "true"} if dry_run else {},
        files={"tarball": ("package.tar.gz", data, "application/gzip")},
    )
    return time.perf_counter() - start, response


def _accepted(response: httpx.Response, expected: int, name: str, data: bytes) -> dict[str, Any]:
    """The API's answer to a good package, checked; raise if it was refused."""
    if response.status_code != expected:
        raise BenchFailure(
            f"{name}: expected HTTP {expected}, got {response.status_code} {response.text[:600]}"
        )
    body: dict[str, Any] = response.json()
    if body.get("name") != name or body.get("size") != len(data):
        raise BenchFailure(f"{name}: unexpected answer {body}")
    if body.get("dry_run") is not (expected == 200):
        raise BenchFailure(f"{name}: dry_run is {body.get('dry_run')!r} in {body}")
    return body


def _server_dry_runs(ctx: Context, name: str, data: bytes, runs: int) -> list[float]:
    with httpx.Client(timeout=60) as client:
        times = []
        for _ in range(runs):
            elapsed, response = _api_upload(client, ctx, data, dry_run=True)
            _accepted(response, 200, name, data)
            times.append(elapsed)
    return times


@scenario("check-10mb", "upload checks of a ~10 MB package: in-process and a server dry run")
def check_10mb(ctx: Context, outcome: Outcome) -> None:
    """Every check on a package just under the compressed limit, in-process
    (`inspect_package`) and through `POST /api/v1/packages` with `dry_run=true`; then
    published for real once, and downloaded back."""
    start = time.perf_counter()
    package = big_package("bench-big", "1.0.0", limit=DEFAULT_LIMITS.max_compressed_bytes)
    outcome.metrics["build_s"] = round(time.perf_counter() - start, 2)
    outcome.metrics["package"] = package.describe()
    if not BIG_MINIMUM_BYTES <= package.compressed_bytes <= DEFAULT_LIMITS.max_compressed_bytes:
        raise BenchFailure(f"the package is {package.compressed_bytes} bytes, not ~10 MB")

    runs = []
    for _ in range(CHECK_RUNS):
        start = time.perf_counter()
        inspection = inspect_package(io.BytesIO(package.data))
        runs.append(time.perf_counter() - start)
    if not inspection.ok or inspection.manifest is None:
        raise BenchFailure(f"inspect_package refused the package: {inspection.problems}")
    if len(inspection.scan.modules) != package.sources:
        raise BenchFailure(
            f"the scan found {len(inspection.scan.modules)} modules, not {package.sources}"
        )
    outcome.metrics["inspect_s"] = _timings(runs)
    outcome.metrics["inspect_problems"] = [p.code for p in inspection.problems]
    # The share of gunzip and the tar walk alone (no source scan, no manifest checks).
    runs = []
    for _ in range(CHECK_RUNS):
        start = time.perf_counter()
        read_archive(io.BytesIO(package.data))
        runs.append(time.perf_counter() - start)
    outcome.metrics["read_archive_only_s"] = _timings(runs)

    dry_runs = _server_dry_runs(ctx, package.name, package.data, CHECK_RUNS)
    outcome.metrics["server_dry_run_s"] = _timings(dry_runs)
    # The same request with a 1 KB package: what every upload costs, whatever its size.
    small = package_tarball("bench-small", "1.0.0")
    outcome.metrics["server_dry_run_small_s"] = _timings(
        _server_dry_runs(ctx, "bench-small", small, CHECK_RUNS)
    )

    with httpx.Client(timeout=60) as client:
        elapsed, response = _api_upload(client, ctx, package.data, dry_run=False)
        body = _accepted(response, 201, package.name, package.data)
        if body["sha256"] != hashlib.sha256(package.data).hexdigest():
            raise BenchFailure(f"published sha256 {body['sha256']} is not the tarball's")
        outcome.metrics["publish_s"] = round(elapsed, 4)
        outcome.metrics["warnings"] = [w["code"] for w in body["warnings"]]
        path = f"/tarballs/{ctx.package.namespace}/{package.name}/{package.version}.tar.gz"
        download = client.get(ctx.server.url + path)
        if download.status_code != 200 or download.content != package.data:
            raise BenchFailure(
                f"GET {path}: HTTP {download.status_code}, {len(download.content)} bytes "
                f"instead of the {package.compressed_bytes} published"
            )
    median = statistics.median(dry_runs)
    outcome.metrics["server_dry_run_median_s"] = round(median, 4)
    outcome.target = Target.at_most("server_dry_run_median_s", CHECK_TARGET_S, median)


def _bombs(ctx: Context) -> dict[str, GzipBomb]:
    """1 GiB of zeros as one tar member (refused on its header) and as 32 members of
    32 MiB (each under the per-file limit: the reader unpacks ~96 MiB before refusing)."""
    folder = ctx.workdir / "bombs"
    return {
        "one-member": gzip_bomb(folder / "one-member.tar.gz", total=1 << 30, members=1),
        "32-members": gzip_bomb(folder / "32-members.tar.gz", total=1 << 30, members=32),
    }


def _refused_as_too_big(response: httpx.Response, where: str) -> str:
    """The refusal's text; raise unless it is a 400 naming the uncompressed limit."""
    limit = DEFAULT_LIMITS.max_uncompressed_bytes
    body: dict[str, Any] = {}
    with contextlib.suppress(ValueError):
        body = response.json()
    if where.startswith("/api/"):
        errors = body.get("errors", [])
        text = " ".join(e.get("detail", "") for e in errors)
        refused = any(e.get("code") == "archive-too-large-uncompressed" for e in errors)
    else:
        text = str(body.get("message", ""))
        refused = body.get("code") == 400
    if response.status_code != 400 or not refused or f"limit {limit} bytes" not in text:
        raise BenchFailure(
            f"POST {where} with a gzip bomb: HTTP {response.status_code} {response.text[:400]}"
            f" (expected a 400 naming the {limit}-byte uncompressed limit)"
        )
    return text


@dataclass
class WorkerPeak:
    """What one request cost the worker whose peak RSS rose the most (KiB)."""

    peak_increase_kib: int  # VmHWM after - VmHWM before
    rss_before_kib: int
    reset: bool  # VmHWM was reset first; if not, the increase is only a lower bound


def _worker_peak(
    ctx: Context, send: Callable[[], httpx.Response]
) -> tuple[httpx.Response, WorkerPeak]:
    """Send one request and read every worker's VmRSS and VmHWM around it.

    Each worker's peak is first reset to its current RSS (`/proc/PID/clear_refs`), so an
    earlier, bigger request cannot hide this one's peak."""
    assert ctx.server.process is not None
    pids = worker_pids(ctx.server.process.pid)
    if len(pids) != ctx.workers:
        raise BenchFailure(f"expected {ctx.workers} gunicorn workers, found {pids}")
    reset = all([reset_peak_rss(pid) for pid in pids])
    before = {pid: memory_kib(pid) for pid in pids}
    response = send()
    after = {pid: memory_kib(pid) for pid in pids}
    worker = max(pids, key=lambda p: after[p]["VmHWM"] - before[p]["VmHWM"])
    peak = after[worker]["VmHWM"] - before[worker]["VmHWM"]
    return response, WorkerPeak(peak, before[worker]["VmRSS"], reset)


def _post_bomb(ctx: Context, where: str, data: bytes) -> httpx.Response:
    if where == "/packages":
        form = fpm_publish_form("bench-bomb", "1.0.0", DEFAULT_LICENSE, ctx.package.token, data)
        return httpx.post(ctx.server.url + where, timeout=60, **form)
    return httpx.post(
        ctx.server.url + where,
        headers={"Authorization": f"Bearer {ctx.package.token}"},
        files={"tarball": ("bomb.tar.gz", data, "application/gzip")},
        timeout=60,
    )


def _traced_inspection(bomb: GzipBomb) -> dict[str, Any]:
    """`inspect_package` on the bomb: its time, then its Python heap peak (tracemalloc)."""
    start = time.perf_counter()
    with bomb.open() as stream:
        inspection = inspect_package(stream)
    elapsed = time.perf_counter() - start
    if "archive-too-large-uncompressed" not in [p.code for p in inspection.problems]:
        raise BenchFailure(f"inspect_package did not refuse the bomb: {inspection.problems}")
    tracemalloc.start()
    try:
        with bomb.open() as stream:
            inspect_package(stream)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return {"inspect_s": round(elapsed, 4), "tracemalloc_peak_mb": round(peak / MB, 2)}


@scenario("gzip-bomb-memory", "memory a worker spends refusing a 1 GiB gzip bomb")
def gzip_bomb_memory(ctx: Context, outcome: Outcome) -> None:
    """Upload 1 GiB of zeros (~1 MB gzipped) through fpm's form and the API; each must be
    a 400 naming the uncompressed limit; measure the workers' peak RSS (VmHWM) rise."""
    start = time.perf_counter()
    bombs = _bombs(ctx)
    outcome.metrics["build_s"] = round(time.perf_counter() - start, 2)
    worst = 0
    rss_before, reset = 0, True
    results: dict[str, Any] = {}
    for label, bomb in bombs.items():
        data = bomb.path.read_bytes()
        result: dict[str, Any] = {**bomb.describe(), **_traced_inspection(bomb)}
        for where in ("/packages", "/api/v1/packages"):
            peaks, times = [], []
            for _ in range(BOMB_RUNS):
                began = time.perf_counter()
                response, peak = _worker_peak(ctx, functools.partial(_post_bomb, ctx, where, data))
                times.append(time.perf_counter() - began)
                result["refusal"] = _refused_as_too_big(response, where)
                peaks.append(peak.peak_increase_kib)
                rss_before = max(rss_before, peak.rss_before_kib)
                reset = reset and peak.reset
            worst = max(worst, *peaks)
            result[f"POST {where}"] = {
                "peak_rss_increase_mb": [_mb(p) for p in peaks],
                "request_s": _timings(times)["median"],
            }
        results[label] = result
    outcome.metrics["bombs"] = results
    outcome.metrics["server_peak_rss_increase_mb"] = _mb(worst)
    outcome.metrics["worker_rss_before_mb"] = _mb(rss_before)
    outcome.metrics["peak_reset"] = reset
    outcome.metrics["inspect_tracemalloc_peak_mb"] = max(
        r["tracemalloc_peak_mb"] for r in results.values()
    )
    outcome.target = Target.at_most("server_peak_rss_increase_mb", BOMB_TARGET_MB, _mb(worst))
