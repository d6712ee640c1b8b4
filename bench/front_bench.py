"""Scenario: the nginx front (deploy/nginx/fpmreg.conf) against plain nginx and the app
alone, side by side in one run (issue 14, item 4). Target: the front at >= 0.9x plain
nginx for metadata and tarballs, with the download log (counting) on."""

from __future__ import annotations

import json

import httpx

from bench import ROOT
from bench.scenarios import BenchFailure, Context, Outcome, Target, load, scenario
from bench.seed import seed_package
from bench.server import production_registry
from tests.support.front_nginx import FrontNginx

SHARE_TARGET = 0.9


@scenario("front", "nginx front vs plain nginx vs the app alone: metadata and tarball")
def front(ctx: Context, outcome: Outcome) -> None:
    """One registry with FPMREG_FRONT_DIR, the front nginx before it, the run's plain nginx."""
    directory = ctx.workdir / "front"
    directory.mkdir(exist_ok=True)
    front_dir = directory / "files"
    env = {"FPMREG_FRONT_DIR": str(front_dir), "FPMREG_TRUSTED_PROXIES": "127.0.0.1"}
    with production_registry(directory, workers=ctx.workers, env=env) as server:
        package = seed_package(server, versions=5)
        meta = package.path
        tar = f"/tarballs/{package.namespace}/{package.name}/{package.latest}.tar.gz"
        with FrontNginx(directory / "nginx", front_dir, f"127.0.0.1:{server.port}",
                        workers=ctx.workers) as nginx:  # fmt: skip
            rates: dict[str, float] = {}
            for label, path in (("metadata", meta), ("tarball", tar)):
                body = httpx.get(server.url + path, timeout=10).content
                if httpx.get(nginx.url + path, timeout=10).content != body:
                    raise BenchFailure(f"the front's {path} differs from the app's")
                ctx.nginx.put(f"/plain-{label}", body)
                for where, url in (
                    ("plain", ctx.nginx.url + f"/plain-{label}"),
                    ("front", nginx.url + path),
                    ("app", server.url + path),
                ):
                    rates[f"{where}_{label}"] = round(
                        load(ctx, Outcome("x", "x"), url).requests_per_sec, 1
                    )
            lines = len(nginx.download_log.read_bytes().splitlines())
    outcome.metrics.update(rates)
    outcome.metrics["download_log_lines"] = lines
    shares = {k: rates[f"front_{k}"] / rates[f"plain_{k}"] for k in ("metadata", "tarball")}
    for key, share in shares.items():
        outcome.metrics[f"front_{key}_share_of_plain"] = round(share, 3)
    worst = min(shares.values())
    outcome.metrics["requests_per_sec"] = rates["front_tarball"]
    outcome.target = Target("front share of plain nginx (worse of the two)", SHARE_TARGET,
                            worst >= SHARE_TARGET)  # fmt: skip
    # Its own file too, so `--only front` records it without replacing latest.json.
    results = ROOT / "bench" / "results" / "front.json"
    results.write_text(json.dumps({"wrk": ctx.wrk.as_dict(), **outcome.metrics}, indent=2) + "\n")
