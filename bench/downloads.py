"""Scenarios: tarball downloads with download counting on, against nginx serving the same
bytes. Registered after those in `scenarios.py` (imported by `__main__`)."""

from __future__ import annotations

import hashlib

import httpx
from sqlalchemy import create_engine, func, select

from bench.scenarios import BenchFailure, Context, Outcome, Target, load, scenario
from bench.seed import seed_package
from bench.server import production_registry
from fpmreg.server.metrics.models import DownloadCount

# Counting must not make downloads slow: fpmreg should reach half of nginx's rate for
# the same bytes (issue 5).
SHARE_OF_NGINX_TARGET = 0.5


def tarball(ctx: Context, base_url: str | None = None) -> tuple[str, bytes]:
    """The newest seeded version's tarball path and bytes, checked against its sha256."""
    path = f"/tarballs/{ctx.package.namespace}/{ctx.package.name}/{ctx.package.latest}.tar.gz"
    response = httpx.get((base_url or ctx.server.url) + path, timeout=10)
    digest = hashlib.sha256(response.content).hexdigest()
    if (
        response.status_code != 200
        or response.content[:2] != b"\x1f\x8b"
        or response.headers.get("x-checksum-sha256") != digest
    ):
        raise BenchFailure(
            f"GET {path}: HTTP {response.status_code}, {len(response.content)} bytes, "
            f"sha256 {digest} vs header {response.headers.get('x-checksum-sha256')}"
        )
    return path, response.content


def share_of_nginx(ctx: Context, outcome: Outcome, rps: float) -> None:
    """Record fpmreg's rate as a share of nginx's for the same file (if nginx ran)."""
    ceiling = ctx.notes.get("nginx_tarball_rps")
    if not ceiling:
        return
    share = rps / float(ceiling)
    outcome.metrics["nginx_requests_per_sec"] = ceiling
    outcome.metrics["share_of_nginx"] = round(share, 3)
    outcome.target = Target("share_of_nginx", SHARE_OF_NGINX_TARGET, share >= SHARE_OF_NGINX_TARGET)


@scenario("nginx-tarball", "nginx: the same tarball bytes as a static file (the ceiling)")
def nginx_tarball(ctx: Context, outcome: Outcome) -> None:
    """nginx serving exactly fpmreg's tarball at the same path."""
    path, body = tarball(ctx)
    ctx.nginx.put(path, body)
    served = httpx.get(ctx.nginx.url + path, timeout=10)
    if served.status_code != 200 or served.content != body:
        raise BenchFailure(f"nginx served HTTP {served.status_code}, {len(served.content)} bytes")
    outcome.metrics["body_bytes"] = len(body)
    result = load(ctx, outcome, ctx.nginx.url + path)
    ctx.notes["nginx_tarball_rps"] = round(result.requests_per_sec, 1)


@scenario(
    "fpmreg-tarball",
    "fpmreg: GET /tarballs/{ns}/{name}/{v}.tar.gz, downloads counted (60 s repeat window)",
)
def fpmreg_tarball(ctx: Context, outcome: Outcome) -> None:
    """What fpm does for every dependency, with the production settings: every request
    goes through the repeat filter (an HMAC), wrk's repeats are not counted."""
    path, body = tarball(ctx)
    outcome.metrics["body_bytes"] = len(body)
    result = load(ctx, outcome, ctx.server.url + path)
    share_of_nginx(ctx, outcome, result.requests_per_sec)


@scenario(
    "fpmreg-tarball-count-all",
    "fpmreg: the same with every download counted and flushed (no repeat window)",
)
def fpmreg_tarball_count_all(ctx: Context, outcome: Outcome) -> None:
    """A server of its own with `FPMREG_DOWNLOAD_DEDUP_SECONDS=0`: every response is
    counted and flushed every 5 s while wrk runs; after SIGTERM the database must hold
    at least every request wrk saw completed (warm-up included)."""
    directory = ctx.workdir / "count-all"
    directory.mkdir(exist_ok=True)
    env = {"FPMREG_DOWNLOAD_DEDUP_SECONDS": "0"}
    with production_registry(directory, workers=ctx.workers, env=env) as server:
        package = seed_package(server, versions=1)
        path = f"/tarballs/{package.namespace}/{package.name}/{package.latest}.tar.gz"
        if httpx.get(server.url + path, timeout=10).status_code != 200:
            raise BenchFailure(f"GET {path} failed on the count-all server")
        result = load(ctx, outcome, server.url + path)  # after a warm-up run, also counted
        database_url = server.database_url
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            counted = int(conn.scalar(select(func.sum(DownloadCount.count))) or 0)
    finally:
        engine.dispose()
    outcome.metrics["downloads_counted"] = counted
    outcome.metrics["wrk_requests_measured"] = result.requests
    # +1: the checking GET above. wrk's warm-up requests are counted too, so more is fine;
    # fewer would mean lost counts.
    if counted < result.requests + 1:
        raise BenchFailure(f"only {counted} downloads stored for {result.requests + 1} served")
    share_of_nginx(ctx, outcome, result.requests_per_sec)
