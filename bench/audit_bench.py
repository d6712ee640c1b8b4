"""`fpmreg audit` of a 200-package lock against the loopback registry's own OSV API.

Publishes 200 small packages (two versions each), locks a project on the first version
of all of them, publishes an advisory on every tenth package (fixed in the second
version), then times the whole `fpmreg audit` process (interpreter start included):
once with a cold index cache and three times warm (`If-None-Match` revalidations). The
audit must find exactly the 20 advisories. Target (issue 12): under 1 s.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.scenarios import BenchFailure, Context, Outcome, Target, scenario
from fpmreg.server.accounts.models import Scope
from tests.support.tarballs import fpm_publish_form, package_tarball

PACKAGES = 200
ADVISORY_EVERY = 10
WARM_RUNS = 3
TARGET_SECONDS = 1.0
FPMREG = Path(sys.executable).with_name("fpmreg")
NAMESPACE = "auditbench"


def _seed(ctx: Context) -> None:
    token = ctx.server.publisher_token(
        NAMESPACE, username="auditbench", scopes={Scope.PUBLISH, Scope.MANAGE}
    )
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=ctx.server.url, timeout=30) as client:
        for i in range(PACKAGES):
            for version in ("1.0.0", "1.1.0"):
                data = package_tarball(f"a{i:03d}", version)
                form = fpm_publish_form(f"a{i:03d}", version, "MIT", token, data)
                answer = client.post("/packages", **form).json()
                if answer.get("code") != 200:
                    raise BenchFailure(f"seeding a{i:03d} {version} failed: {answer}")
        for i in range(0, PACKAGES, ADVISORY_EVERY):
            body = {
                "package": f"{NAMESPACE}/a{i:03d}",
                "summary": f"a flaw in a{i:03d}",
                "events": [{"introduced": "0"}, {"fixed": "1.1.0"}],
            }
            created = client.post("/api/v1/advisories", json=body, headers=auth)
            if created.status_code != 201:
                raise BenchFailure(f"advisory on a{i:03d}: {created.text}")
            advisory_id = created.json()["id"]
            published = client.post(f"/api/v1/advisories/{advisory_id}/publish", headers=auth)
            if published.status_code != 200:
                raise BenchFailure(f"publishing {advisory_id}: {published.text}")


def _audit(project: Path, env: dict[str, str]) -> tuple[float, dict[str, object]]:
    start = time.perf_counter()
    done = subprocess.run(
        [str(FPMREG), "audit", "--format", "json"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 1:  # 1: something was found, as it must be
        raise BenchFailure(f"fpmreg audit exited {done.returncode}:\n{done.stderr}")
    report: dict[str, object] = json.loads(done.stdout)
    return seconds, report


@scenario("audit-200", "fpmreg audit: a 200-package lock, 20 advisories, via the OSV API")
def audit_scenario(ctx: Context, outcome: Outcome) -> None:
    """Seed, lock (with `v = "1.0.0"` pins, so every package stays affected), audit."""
    _seed(ctx)
    project = ctx.workdir / "audit-project"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir()
    deps = "".join(
        f'a{i:03d} = {{ namespace = "{NAMESPACE}", v = "1.0.0" }}\n' for i in range(PACKAGES)
    )
    (project / "fpm.toml").write_text(
        f'name = "consumer"\nversion = "0.1.0"\nlicense = "MIT"\n[dependencies]\n{deps}'
    )
    env = dict(os.environ, XDG_CACHE_HOME=str(ctx.workdir / "audit-cache"))
    env.pop("CI", None)
    env.pop("FPMREG_OSV_URL", None)
    locked = subprocess.run(
        [str(FPMREG), "lock", "--registry", ctx.server.url],
        cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if locked.returncode != 0:
        raise BenchFailure(f"fpmreg lock failed:\n{locked.stderr}")
    shutil.rmtree(ctx.workdir / "audit-cache", ignore_errors=True)
    cold_s, report = _audit(project, env)
    warm = [_audit(project, env)[0] for _ in range(WARM_RUNS)]
    summary = report["summary"]
    assert isinstance(summary, dict)
    expected = PACKAGES // ADVISORY_EVERY
    if summary.get("by_kind") != {"advisory": expected}:
        raise BenchFailure(f"expected {expected} advisories, the audit found {summary}")
    median = statistics.median(warm)
    start = time.perf_counter()
    subprocess.run([str(FPMREG), "version"], env=env, capture_output=True, check=True)
    startup_s = time.perf_counter() - start
    outcome.metrics.update(
        {
            "packages": PACKAGES,
            "advisories_found": expected,
            "audit_cold_cache_s": round(cold_s, 3),
            "audit_warm_cache_median_s": round(median, 3),
            # `fpmreg version`: the interpreter and imports alone, on the same machine.
            "client_startup_s": round(startup_s, 3),
        }
    )
    outcome.target = Target.at_most("audit_cold_cache_s", TARGET_SECONDS, cold_s)
