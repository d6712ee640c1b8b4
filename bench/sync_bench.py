"""`fpmreg sync` throughput: 200 locked packages fetched from a loopback registry."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.scenarios import Context, Outcome, scenario
from tests.support.tarballs import fpm_publish_form, package_tarball

SYNC_PACKAGES = 200
FPMREG = Path(sys.executable).with_name("fpmreg")


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [str(FPMREG), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"fpmreg {args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - start


@scenario("sync-200", "fpmreg sync: 200 locked packages from the loopback registry")
def sync_scenario(ctx: Context, outcome: Outcome) -> None:
    """Publish 200 small packages, lock a project on all of them, then time `sync`
    with an empty cache (downloads, sha256 checks, safe unpacking) and a warm one."""
    namespace = "syncbench"
    token = ctx.server.publisher_token(namespace, username="syncbench")
    total_bytes = 0
    with httpx.Client(timeout=30) as client:
        for i in range(SYNC_PACKAGES):
            data = package_tarball(f"s{i:03d}", "1.0.0")
            total_bytes += len(data)
            form = fpm_publish_form(f"s{i:03d}", "1.0.0", "MIT", token, data)
            answer = client.post(f"{ctx.server.url}/packages", **form).json()
            if answer.get("code") != 200:
                raise RuntimeError(f"seeding s{i:03d} failed: {answer}")
    project = ctx.workdir / "sync-project"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir()
    deps = "".join(f's{i:03d} = {{ namespace = "{namespace}" }}\n' for i in range(SYNC_PACKAGES))
    (project / "fpm.toml").write_text(
        f'name = "consumer"\nversion = "0.1.0"\nlicense = "MIT"\n[dependencies]\n{deps}'
    )
    env = dict(os.environ, XDG_CACHE_HOME=str(ctx.workdir / "sync-cache"))
    env.pop("CI", None)
    lock_s = _run(["lock", "--registry", ctx.server.url], project, env)
    cold_s = _run(["sync", "--registry", ctx.server.url, "--force"], project, env)
    warm_s = _run(["sync", "--registry", ctx.server.url, "--force"], project, env)
    installed = list((project / "build" / "fpmreg" / "registry" / namespace).glob("*/1.0.0"))
    if len(installed) != SYNC_PACKAGES:
        raise RuntimeError(f"sync installed {len(installed)} of {SYNC_PACKAGES} packages")
    outcome.metrics.update(
        {
            "packages": SYNC_PACKAGES,
            "tarball_bytes": total_bytes,
            "lock_s": round(lock_s, 3),
            "sync_cold_s": round(cold_s, 3),
            "sync_warm_cache_s": round(warm_s, 3),
            "packages_per_s_cold": round(SYNC_PACKAGES / cold_s, 1),
        }
    )
