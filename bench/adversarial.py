"""Upload checks on adversarial packages: CPU seconds per compressed byte, beside the ~10 MB
realistic package (`check-10mb`'s `bench-big`).

Each input is checked in-process with `inspect_package` (what `fpmreg check` and the
server's upload gate run), `RUNS` times; the metric is the median CPU time divided by
the tarball's size. Target: no adversarial input costs more per compressed byte than
the realistic package does. Run alone with `python -m bench.adversarial` (no server).

Each input is measured twice: as the probe was (small: the fixed per-upload cost weighs
on it), and scaled up to the largest size an attacker can send (its shape repeated until
the next doubling would pass the compressed, unpacked or member limit), the real worst
case per request, where fixed costs amortise. The target is judged on the scaled one.
"""

from __future__ import annotations

import io
import json
import statistics
import time
from typing import Any

from bench.payloads import Adversarial, adversarial_packages, big_package
from bench.scenarios import BenchFailure, Context, Outcome, Target, scenario
from fpmreg.core.archive import DEFAULT_LIMITS
from fpmreg.core.checks import inspect_package
from fpmreg.core.problem import MAX_PROBLEMS_PER_CODE
from tests.support.tarballs import package_tarball

RUNS = 5
RUNS_SCALED = 3
# What the answer to any of them may weigh: a few dozen problems, a few KB.
MAX_ANSWER_CHARS = 16 * 1024


def _cpu_seconds(data: bytes, runs: int = RUNS) -> tuple[float, list[str], int]:
    """(median CPU seconds of `inspect_package`, the codes, the answer's characters)."""
    times = []
    for _ in range(runs):
        start = time.process_time()
        inspection = inspect_package(io.BytesIO(data))
        times.append(time.process_time() - start)
    problems = inspection.problems
    size = sum(len(p.message) + len(p.field) + len(p.code) for p in problems)
    return statistics.median(times), [p.code for p in problems], size


def _check_answer(name: str, codes: list[str], size: int) -> None:
    too_many = [c for c in set(codes) if codes.count(c) > MAX_PROBLEMS_PER_CODE + 1]
    if too_many or size > MAX_ANSWER_CHARS:
        raise BenchFailure(
            f"{name}: the answer is not bounded ({len(codes)} problems, {size} chars)"
        )


def run_adversarial_benchmark() -> dict[str, Any]:
    """Every input's CPU seconds and seconds per compressed byte, and the realistic one's."""
    realistic = big_package("bench-big", "1.0.0", limit=DEFAULT_LIMITS.max_compressed_bytes)
    seconds, codes, _ = _cpu_seconds(realistic.data)
    if codes:
        raise BenchFailure(f"the realistic package got problems: {codes}")
    baseline = seconds / len(realistic.data)
    small = package_tarball("bench-small", "1.0.0")
    small_seconds, _, _ = _cpu_seconds(small)
    inputs: dict[str, Any] = {}
    for item in adversarial_packages():
        seconds, codes, size = _cpu_seconds(item.data)
        _check_answer(item.name, codes, size)
        per_byte = seconds / len(item.data)
        inputs[item.name] = {
            **item.describe(),
            "cpu_s": round(seconds, 5),
            "cpu_s_per_compressed_byte": per_byte,
            "vs_realistic": round(per_byte / baseline, 2),
            "vs_small_good_package": round(per_byte / (small_seconds / len(small)), 2),
            "problems": len(codes),
            "codes": sorted(set(codes)),
            "answer_chars": size,
            "scaled": _scaled(item, baseline),
        }
    worst = max(inputs, key=lambda n: inputs[n]["scaled"]["vs_realistic"])
    worst_small = max(inputs, key=lambda n: inputs[n]["vs_realistic"])
    return {
        "realistic": {
            "compressed_bytes": len(realistic.data),
            "cpu_s": round(baseline * len(realistic.data), 4),
            "cpu_s_per_compressed_byte": baseline,
        },
        # What every upload costs, whatever its size: a good 1 KB package.
        "small_good_package": {
            "compressed_bytes": len(small),
            "cpu_s": round(small_seconds, 5),
            "cpu_s_per_compressed_byte": small_seconds / len(small),
        },
        "inputs": inputs,
        "cpu_budget_at_10mb_s": round(DEFAULT_LIMITS.cpu_budget(len(realistic.data)), 3),
        "worst_input": worst,
        "worst_vs_realistic": inputs[worst]["scaled"]["vs_realistic"],
        "worst_small_input": worst_small,
        "worst_small_vs_realistic": inputs[worst_small]["vs_realistic"],
    }


def _scaled(item: Adversarial, baseline: float) -> dict[str, Any]:
    """The input at the largest scale that fits the archive limits, measured."""
    scale, built = item.largest()
    seconds, codes, size = _cpu_seconds(built.data, RUNS_SCALED)
    _check_answer(item.name, codes, size)
    per_byte = seconds / len(built.data)
    return {
        "scale": scale,
        "compressed_bytes": len(built.data),
        "content_bytes": built.content_bytes,
        "members": built.members,
        "cpu_s": round(seconds, 4),
        "cpu_s_per_compressed_byte": per_byte,
        "vs_realistic": round(per_byte / baseline, 2),
        "budget_used": round(seconds / DEFAULT_LIMITS.cpu_budget(len(built.data)), 3),
        "codes": sorted(set(codes)),
    }


@scenario("adversarial-checks", "upload checks on adversarial packages, per compressed byte")
def adversarial_checks(ctx: Context, outcome: Outcome) -> None:
    """In-process; the server runs the same `inspect_package` on every upload."""
    numbers = run_adversarial_benchmark()
    outcome.metrics.update(numbers)
    outcome.target = Target.at_most("worst_vs_realistic", 1.0, numbers["worst_vs_realistic"])


if __name__ == "__main__":
    print(json.dumps(run_adversarial_benchmark(), indent=2))
