"""Scenarios: each a function from the shared `Context` to an `Outcome`, run in order.

Add one by writing a function and decorating it with `@scenario(...)`; it is run after
the ones above it, and its outcome lands in results/latest.json and the summary table.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.seed import SeededPackage, publish_next
from bench.server import Nginx, serving_pid, worker_pids
from bench.wrk import WrkParams, WrkResult, run_wrk
from fpmreg.core.fpmjson import fpm_json_problems
from tests.support.live import LiveServer

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
    """A number to reach: recorded and reported, never a reason to fail the run."""

    metric: str
    minimum: float
    met: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"metric": self.metric, "minimum": self.minimum, "met": self.met}


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
