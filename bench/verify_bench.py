"""`fpmreg verify` of a 200-package lock against the loopback registry's log.

Publishes 200 small packages, locks a project on all of them, then times the whole
`fpmreg verify` process (interpreter start included): first run (nothing pinned: trust
on first use) and a second run (the pinned checkpoint is checked for consistency).
Every package must verify. Target (issue 15): under 1 s.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.scenarios import BenchFailure, Context, Outcome, Target, scenario
from tests.support.tarballs import fpm_publish_form, package_tarball

PACKAGES = 200
TARGET_SECONDS = 1.0
FPMREG = Path(sys.executable).with_name("fpmreg")
NAMESPACE = "verifybench"


def _seed(ctx: Context) -> None:
    token = ctx.server.publisher_token(NAMESPACE, username="verifybench")
    with httpx.Client(base_url=ctx.server.url, timeout=30) as client:
        for i in range(PACKAGES):
            data = package_tarball(f"v{i:03d}", "1.0.0")
            form = fpm_publish_form(f"v{i:03d}", "1.0.0", "MIT", token, data)
            answer = client.post("/packages", **form).json()
            if answer.get("code") != 200:
                raise BenchFailure(f"seeding v{i:03d} failed: {answer}")


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _verify(project: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one `fpmreg verify` (the CPU time shows how much of
    the wall clock a loaded machine added)."""
    cpu, start = _cpu_of_children(), time.perf_counter()
    done = subprocess.run(
        [str(FPMREG), "verify"],
        cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    seconds, cpu = time.perf_counter() - start, _cpu_of_children() - cpu
    if done.returncode != 0 or f"all {PACKAGES} locked packages" not in done.stdout:
        raise BenchFailure(f"fpmreg verify exited {done.returncode}:\n{done.stderr[-2000:]}")
    return seconds, cpu


@scenario("verify-200", "fpmreg verify: a 200-package lock against the registry's log")
def verify_scenario(ctx: Context, outcome: Outcome) -> None:
    _seed(ctx)
    project = ctx.workdir / "verify-project"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir()
    deps = "".join(f'v{i:03d} = {{ namespace = "{NAMESPACE}" }}\n' for i in range(PACKAGES))
    (project / "fpm.toml").write_text(
        f'name = "consumer"\nversion = "0.1.0"\nlicense = "MIT"\n[dependencies]\n{deps}'
    )
    env = dict(os.environ, XDG_CACHE_HOME=str(ctx.workdir / "verify-cache"))
    env.pop("CI", None)
    locked = subprocess.run(
        [str(FPMREG), "lock", "--registry", ctx.server.url],
        cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if locked.returncode != 0:
        raise BenchFailure(f"fpmreg lock failed:\n{locked.stderr}")
    shutil.rmtree(ctx.workdir / "verify-cache", ignore_errors=True)
    first_s, first_cpu_s = _verify(project, env)
    again_s, again_cpu_s = _verify(project, env)
    outcome.metrics.update(
        {
            "packages": PACKAGES,
            "verify_first_run_s": round(first_s, 3),
            "verify_pinned_run_s": round(again_s, 3),
            "verify_first_run_cpu_s": round(first_cpu_s, 3),
            "verify_pinned_run_cpu_s": round(again_cpu_s, 3),
        }
    )
    outcome.target = Target.at_most("verify_first_run_s", TARGET_SECONDS, first_s)
