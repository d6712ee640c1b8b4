"""Run wrk against one URL and read its numbers."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from typing import Any

WRK = shutil.which("wrk") or "/usr/bin/wrk"
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_DURATION = re.compile(r"^([\d.]+)(us|ms|s|m|h)$")


class WrkError(RuntimeError):
    """wrk could not run, or printed something this module cannot read."""


@dataclass(frozen=True)
class WrkParams:
    """How hard and how long to load one URL; the same for every scenario of a run."""

    threads: int = 2
    connections: int = 64
    duration_s: int = 10
    warmup_s: int = 2
    timeout_s: int = 5

    def argv(self, url: str, duration_s: int) -> list[str]:
        """wrk's command line for `url`, for `duration_s` seconds."""
        return [
            WRK,
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{duration_s}s",
            f"--timeout={self.timeout_s}s",
            "--latency",
            url,
        ]

    def describe(self) -> str:
        """The command line as a person would type it (without the URL)."""
        return f"wrk -t{self.threads} -c{self.connections} -d{self.duration_s}s --latency"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready parameters."""
        return {**asdict(self), "command": self.describe()}


@dataclass
class WrkResult:
    """What one wrk run measured."""

    requests_per_sec: float
    requests: int
    seconds: float
    latency_ms: dict[str, float]  # p50, p75, p90, p99, avg, max
    non_2xx_3xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)
    transfer_per_sec: str = ""

    @property
    def errors(self) -> int:
        """Broken requests: bad statuses and connect/read/write errors.

        Timeouts (`socket_errors["timeout"]`) are slowness, not breakage: recorded only.
        """
        socket = sum(n for kind, n in self.socket_errors.items() if kind != "timeout")
        return self.non_2xx_3xx + socket

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready numbers."""
        return {**asdict(self), "errors": self.errors}


def to_ms(text: str) -> float:
    """`1.23ms`, `850.00us` or `1.02s` in milliseconds."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise WrkError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def _search(pattern: str, output: str) -> re.Match[str]:
    match = re.search(pattern, output, re.MULTILINE)
    if match is None:
        raise WrkError(f"wrk output has no match for {pattern!r}:\n{output}")
    return match


def parse_wrk(output: str) -> WrkResult:
    """Read `wrk --latency` output."""
    percentiles = {
        f"p{m.group(1)}": to_ms(m.group(2))
        for m in re.finditer(r"^\s+(50|75|90|99)(?:\.0+)?%\s+(\S+)\s*$", output, re.MULTILINE)
    }
    if "p50" not in percentiles or "p99" not in percentiles:
        raise WrkError(f"wrk output has no latency distribution:\n{output}")
    latency = _search(r"^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)", output)
    done = _search(r"^\s+(\d+) requests in ([\d.]+)(us|ms|s|m|h)", output)
    rate = _search(r"^Requests/sec:\s+([\d.]+)", output)
    transfer = re.search(r"^Transfer/sec:\s+(\S+)", output, re.MULTILINE)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = {}
    if socket is not None:
        errors = {
            k: int(v)
            for k, v in zip(("connect", "read", "write", "timeout"), socket.groups(), strict=True)
        }
    return WrkResult(
        requests_per_sec=float(rate.group(1)),
        requests=int(done.group(1)),
        seconds=to_ms(done.group(2) + done.group(3)) / 1000,
        latency_ms={**percentiles, "avg": to_ms(latency.group(1)), "max": to_ms(latency.group(3))},
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=errors,
        transfer_per_sec=transfer.group(1) if transfer else "",
    )


def run_wrk(url: str, params: WrkParams) -> WrkResult:
    """Warm up for `warmup_s` (numbers discarded), then measure for `duration_s`."""
    if params.warmup_s > 0:
        _wrk(params.argv(url, params.warmup_s), params.warmup_s)
    return parse_wrk(_wrk(params.argv(url, params.duration_s), params.duration_s))


def _wrk(argv: list[str], duration_s: int) -> str:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, check=False, timeout=duration_s + 60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WrkError(f"wrk failed to run: {exc}") from exc
    if done.returncode != 0:
        raise WrkError(f"wrk exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def wrk_version() -> str:
    """wrk's version line."""
    try:
        done = subprocess.run([WRK, "--version"], capture_output=True, text=True, check=False)
    except OSError:
        return "missing"
    return (
        (done.stdout or done.stderr).splitlines()[0].split(" Copyright")[0]
        if (done.stdout or done.stderr)
        else "unknown"
    )
