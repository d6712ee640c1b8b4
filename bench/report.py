"""Where the numbers go: results/latest.json, a line in results/history.md, a table."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import RESULTS, ROOT
from bench.scenarios import Outcome
from bench.server import nginx_version
from bench.wrk import WrkParams, wrk_version
from fpmreg import __version__

HISTORY_HEADER = "# Benchmark history\n\nOne line per `python -m bench` run, newest last.\n\n"


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine_info() -> dict[str, Any]:
    """What the numbers depend on: cores, CPU, load, versions, commit."""
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--", "fpmreg"))
    return {
        "nproc": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "cpu": _cpu_model(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "fpmreg": __version__,
        "commit": commit + ("-dirty" if commit and dirty else ""),
        "wrk": wrk_version(),
        "nginx": nginx_version(),
    }


def build_results(
    started: datetime,
    machine: dict[str, Any],
    params: dict[str, Any],
    outcomes: list[Outcome],
    setup_error: str = "",
) -> dict[str, Any]:
    """The whole run as one JSON document."""
    by_name = {o.name: o for o in outcomes}
    fpm, ceiling = by_name.get("fpmreg-latest"), by_name.get("nginx-latest")
    ratio = None
    if fpm and ceiling and fpm.rps and ceiling.rps:
        ratio = round(fpm.rps / ceiling.rps, 3)
    return {
        "date": started.isoformat(timespec="seconds"),
        "ok": not setup_error and all(o.ok for o in outcomes),
        "setup_error": setup_error,
        "machine": machine,
        "params": params,
        "fpmreg_vs_nginx": ratio,
        "scenarios": [o.as_dict() for o in outcomes],
    }


def write_latest(results: dict[str, Any], directory: Path = RESULTS) -> Path:
    """results/latest.json, replaced atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "latest.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    tmp.replace(path)
    return path


def _scenario_summary(scenario: dict[str, Any]) -> str:
    name, metrics = scenario["name"], scenario["metrics"]
    if not scenario["ok"]:
        return f"{name} FAILED"
    if "requests_per_sec" in metrics:
        details = [
            f"{key} {metrics[key]:.2f} ms"
            for key in ("latency_p50_ms", "latency_p99_ms")
            if key in metrics  # scenarios comparing several loads record only rates
        ]
        target = scenario["target"]
        if target:
            details.append(f"target {_target_cell(target)}")
        text = f"{name} {metrics['requests_per_sec']:,.0f} req/s"
        return text + (f" ({', '.join(details)})" if details else "")
    target = scenario["target"]
    if target:
        value = metrics.get(target["metric"])
        return f"{name} {target['metric']} {value} (target {_target_cell(target)})"
    return f"{name} pass"


def _target_cell(target: dict[str, Any]) -> str:
    """`>= 5,000: met` or `<= 0.5: missed`."""
    return f"{target['bound']}: {'met' if target['met'] else 'missed'}"


def history_line(results: dict[str, Any]) -> str:
    """One markdown line summing up a run."""
    machine = results["machine"]
    parts = [_scenario_summary(s) for s in results["scenarios"]]
    if results["setup_error"]:
        parts.append(f"setup FAILED: {results['setup_error'].splitlines()[0][:120]}")
    if results["fpmreg_vs_nginx"] is not None:
        parts.append(f"fpmreg/nginx {results['fpmreg_vs_nginx']:.1%}")
    head = (
        f"- {results['date']} `{machine['commit'] or 'no-git'}` nproc {machine['nproc']} "
        f"py{machine['python']} load {machine['loadavg'][0]} "
        f"[{results['params']['wrk']['command']}]"
    )
    return head + ": " + "; ".join(parts)


def append_history(results: dict[str, Any], directory: Path = RESULTS) -> Path:
    """Append the run's line to results/history.md (created with a header if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "history.md"
    if not path.exists():
        path.write_text(HISTORY_HEADER)
    with path.open("a") as history:
        history.write(history_line(results) + "\n")
    return path


def _measured(metrics: dict[str, Any], target: dict[str, Any] | None) -> str:
    """The targeted number of a scenario that is not about requests per second."""
    if not target or target["metric"] == "requests_per_sec":
        return "-"
    return f"{target['metric']} {metrics.get(target['metric'], '?')}"


def table(results: dict[str, Any], params: WrkParams) -> str:
    """A readable summary of the run."""
    rows = [("scenario", "result", "req/s", "p50 ms", "p99 ms", "measured", "target")]
    for s in results["scenarios"]:
        m, target = s["metrics"], s["target"]
        rows.append(
            (
                s["name"],
                "ok" if s["ok"] else "FAILED",
                f"{m['requests_per_sec']:,.0f}" if "requests_per_sec" in m else "-",
                f"{m['latency_p50_ms']:.2f}" if "latency_p50_ms" in m else "-",
                f"{m['latency_p99_ms']:.2f}" if "latency_p99_ms" in m else "-",
                _measured(m, target),
                _target_cell(target) if target else "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    machine = results["machine"]
    out = [
        f"fpmreg benchmark {results['date']}  commit {machine['commit'] or '?'}  "
        f"nproc {machine['nproc']}  python {machine['python']}  load {machine['loadavg']}",
        f"load: {params.describe()} (after a {params.warmup_s}s warm-up), wrk on the "
        "same machine as the server",
        "",
        *lines,
    ]
    if results["fpmreg_vs_nginx"] is not None:
        out += ["", f"fpmreg reaches {results['fpmreg_vs_nginx']:.1%} of nginx's rate"]
    for s in results["scenarios"]:
        if s["error"]:
            out += ["", f"{s['name']}: {s['error']}"]
    if results["setup_error"]:
        out += ["", f"setup failed: {results['setup_error']}"]
    out += ["", "overall: " + ("ok" if results["ok"] else "BROKEN")]
    return "\n".join(out)
