"""Scenario: the nginx front (deploy/nginx/fpmreg.conf) against plain nginx and the app
alone, side by side in one run (issue 14, item 4). Target: the front at >= 0.9x plain
nginx for metadata and tarballs, with the download log (counting) on. Then a freshness
check through the front: right after a publish, a yank and a delete it answers right."""

from __future__ import annotations

import json

import httpx

from bench import ROOT
from bench.scenarios import BenchFailure, Context, Outcome, Target, load, scenario
from bench.seed import seed_package
from bench.server import production_registry
from fpmreg.server.accounts.models import Scope
from tests.support.front_nginx import FrontNginx
from tests.support.tarballs import DEFAULT_LICENSE, fpm_publish_form, package_tarball

SHARE_TARGET = 0.9
SCOPES = {Scope.PUBLISH, Scope.YANK, Scope.MANAGE}
FRESH_VERSION = "99.0.0"


def _check_freshness(token: str, front: str, ns: str, name: str) -> None:
    """Through the front, with no wait: a publish is the latest at once, a yank takes it
    back at once, a delete makes its tarball gone at once."""
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=front, timeout=30) as web:
        data = package_tarball(name, FRESH_VERSION)
        form = fpm_publish_form(name, FRESH_VERSION, DEFAULT_LICENSE, token, data)
        if web.post("/packages", **form).json().get("code") != 200:
            raise BenchFailure("the freshness publish was refused")
        latest = web.get(f"/packages/{ns}/{name}").json()["data"]["latest_version_data"]
        if latest["version"] != FRESH_VERSION:
            raise BenchFailure(f"after a publish the front answers {latest['version']}")
        tarball = f"/tarballs/{ns}/{name}/{FRESH_VERSION}.tar.gz"
        if web.get(tarball).content != data:
            raise BenchFailure("after a publish the front serves other tarball bytes")
        yank = web.put(f"/api/v1/packages/{ns}/{name}/versions/{FRESH_VERSION}/yank",
                       json={"reason": "freshness check"}, headers=auth)  # fmt: skip
        latest = web.get(f"/packages/{ns}/{name}").json()["data"]["latest_version_data"]
        if yank.status_code != 200 or latest["version"] == FRESH_VERSION:
            raise BenchFailure("after a yank the front still offers the yanked version")
        gone = web.request("DELETE", f"/api/v1/packages/{ns}/{name}/versions/{FRESH_VERSION}",
                           json={"reason": "freshness check", "category": "other"},
                           headers=auth)  # fmt: skip
        if gone.status_code != 200 or web.get(tarball).status_code != 410:
            raise BenchFailure("after a delete the front still serves the tarball")


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
            _check_freshness(server.publisher_token(package.namespace, "bench", SCOPES),
                             nginx.url, package.namespace, package.name)  # fmt: skip
            outcome.metrics["fresh_after_publish_yank_delete"] = "pass"
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
