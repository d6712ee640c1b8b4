"""`POST /v1/querybatch`: 1,000 queries against 10,000 advisories (issue 12's target).

The advisories are written straight into the production registry's database (as an
import would store them): 5,000 fpm packages with two advisories each. A batch asks
for 1,000 of those packages at version `1.0.0` (each affected by one of its two
advisories) and is answered over loopback by the running server, as pip-audit or
`fpmreg audit` would send it. The median of several batches is recorded.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.scenarios import BenchFailure, Context, Outcome, Target, scenario
from fpmreg.server.advisories.models import Advisory, AdvisoryPackage
from fpmreg.server.db import Database

ADVISORIES = 10_000
PACKAGES = ADVISORIES // 2
QUERIES = 1_000
RUNS = 10
TARGET_MS = 200.0
NAMESPACE = "osvbench"


def _record(osv_id: str, package: str, events: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "schema_version": "1.7.0",
        "id": osv_id,
        "modified": "2026-01-01T00:00:00Z",
        "published": "2026-01-01T00:00:00Z",
        "summary": f"Benchmark advisory for {package}",
        "affected": [
            {
                "package": {"ecosystem": "fpm", "name": package},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
            }
        ],
    }


def seed_advisories(database_url: str) -> None:
    """10,000 published advisories: per package, one fixed in 1.1.0 (affects 1.0.0)
    and one from 2.0.0 to 2.1.0 (does not)."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    database = Database.from_url(database_url)
    try:
        with database.session() as session:
            rows = []
            for i in range(PACKAGES):
                package = f"{NAMESPACE}/p{i:05d}"
                ranges = (
                    [{"introduced": "0"}, {"fixed": "1.1.0"}],
                    [{"introduced": "2.0.0"}, {"fixed": "2.1.0"}],
                )
                for j, events in enumerate(ranges):
                    osv_id = f"FPMREG-2026-{2 * i + j + 1:05d}"
                    advisory = Advisory(
                        osv_id=osv_id,
                        ecosystem="fpm",
                        package=package,
                        record=_record(osv_id, package, events),
                        summary="Benchmark advisory",
                        draft=False,
                        created_at=now,
                        published_at=now,
                        modified_at=now,
                    )
                    advisory.packages = [AdvisoryPackage(ecosystem="fpm", name=package)]
                    rows.append(advisory)
            session.add_all(rows)
            session.commit()
    finally:
        database.engine.dispose()


def batch() -> dict[str, Any]:
    """1,000 queries spread over the packages, each at version 1.0.0."""
    step = PACKAGES // QUERIES
    return {
        "queries": [
            {
                "package": {"name": f"{NAMESPACE}/p{i * step:05d}", "ecosystem": "fpm"},
                "version": "1.0.0",
            }
            for i in range(QUERIES)
        ]
    }


@scenario("osv-querybatch", "POST /v1/querybatch: 1,000 queries against 10,000 advisories")
def querybatch_scenario(ctx: Context, outcome: Outcome) -> None:
    """Seed, check one answer in full, then time `RUNS` batches (after one warm-up)."""
    start = time.perf_counter()
    seed_advisories(ctx.server.database_url)
    seed_s = time.perf_counter() - start
    body = batch()
    timings = []
    with httpx.Client(base_url=ctx.server.url, timeout=60) as client:
        for run in range(RUNS + 1):
            began = time.perf_counter()
            answer = client.post("/v1/querybatch", json=body)
            elapsed = time.perf_counter() - began
            if answer.status_code != 200:
                raise BenchFailure(f"querybatch answered {answer.status_code}: {answer.text[:200]}")
            results = answer.json()["results"]
            if len(results) != QUERIES or any(len(r.get("vulns", [])) != 1 for r in results):
                raise BenchFailure("querybatch did not find exactly one advisory per query")
            if run:  # the first is the warm-up
                timings.append(elapsed)
    median_ms = statistics.median(timings) * 1000
    outcome.metrics.update(
        {
            "advisories": ADVISORIES,
            "queries": QUERIES,
            "seed_s": round(seed_s, 2),
            "querybatch_median_ms": round(median_ms, 1),
            "querybatch_max_ms": round(max(timings) * 1000, 1),
        }
    )
    outcome.target = Target.at_most("querybatch_median_ms", TARGET_MS, median_ms)
