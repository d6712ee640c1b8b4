"""Throughput benchmarks of a production fpmreg, with nginx serving the same bytes as a ceiling."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

# `tests.support` (live server, tarballs) lives beside `bench/`: make it importable
# however the benchmark was started.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
