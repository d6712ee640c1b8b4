"""The transparency log: append 10,000 signed records, then serve their inclusion proofs.

On a fresh SQLite database: 10,000 records signed with the registry's key and appended
in batches of 100 transactions, as publishes would (timed: records per second); then a
live `fpmreg-server run` on that database answers `GET /api/v1/log/entries/{i}` for
1,000 random indexes over loopback (timed: proofs per second, latency percentiles), and
every answer is checked: the record's signature, and its inclusion under the checkpoint
it came with. Finally a client rebuilds the root from the tiles alone.
"""

from __future__ import annotations

import base64
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.scenarios import BenchFailure, Context, Outcome, scenario
from fpmreg.core.integrity import canonical, parse_multikey, verify_proof
from fpmreg.core.tlog.merkle import leaf_hash, root_hash, verify_inclusion
from fpmreg.core.tlog.note import Checkpoint, Verifier, open_note
from fpmreg.core.tlog.tiles import TileReader
from fpmreg.server.db import Database
from fpmreg.server.federation.keys import load_keys
from fpmreg.server.federation.log import TransparencyLog
from fpmreg.server.federation.records import signed_record
from tests.support.databases import fresh_database
from tests.support.live import LiveServer

RECORDS = 10_000
PER_TRANSACTION = 100
PROOFS = 1_000


def _append(url: str, keys_dir: Path, base_url: str) -> float:
    """Append the records; seconds taken."""
    keys = load_keys(keys_dir, base_url)
    database = Database.from_url(url)
    start = time.perf_counter()
    try:
        for batch in range(RECORDS // PER_TRANSACTION):
            with database.sessions() as session:
                log = TransparencyLog(session)
                for i in range(PER_TRANSACTION):
                    n = batch * PER_TRANSACTION + i
                    at = datetime.now(UTC)
                    body: dict[str, Any] = {
                        "type": "fpmreg-record/v1",
                        "action": "version.publish",
                        "subject": f"pkg:fpm/bench/p{n}@1.0.0",
                        "sha256": f"{n:064x}",
                    }

                    def make(index: int, body: dict[str, Any] = body, at: datetime = at) -> bytes:
                        return signed_record(keys, {**body, "logIndex": index}, at)

                    subject = str(body["subject"])
                    log.append(make, action="version.publish", subject=subject, at=at)
                session.commit()
    finally:
        database.engine.dispose()
    return time.perf_counter() - start


def _check_proofs(server: LiveServer) -> tuple[list[float], int]:
    """Fetch and verify `PROOFS` inclusion proofs; their latencies and the tree size."""
    keys = httpx.get(server.url + "/log/keys").json()
    note_key = Verifier.parse(keys["note_key"])
    public = parse_multikey(keys["keys"][0]["publicKeyMultibase"])
    latencies, size = [], 0
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for index in random.Random(7).sample(range(RECORDS), PROOFS):
            start = time.perf_counter()
            answer = client.get(f"/api/v1/log/entries/{index}")
            latencies.append(time.perf_counter() - start)
            if answer.status_code != 200:
                raise BenchFailure(f"entry {index}: {answer.status_code} {answer.text[:200]}")
            body = answer.json()
            verify_proof(body["record"], public)
            checkpoint = Checkpoint.parse(open_note(body["checkpoint"], [note_key])[0])
            proof = [base64.b64decode(h) for h in body["proof"]]
            leaf = leaf_hash(canonical(body["record"]))
            verify_inclusion(leaf, index, checkpoint.size, proof, checkpoint.root)
            size = checkpoint.size
        reader = TileReader(lambda t: client.get(f"/log/{t.path()}").content, size)
        if root_hash(reader, size) != checkpoint.root:
            raise BenchFailure("the root rebuilt from the tiles differs from the checkpoint")
    return latencies, size


def run_tlog_benchmark() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="fpmreg-tlog-") as tmp:
        work = Path(tmp)
        with fresh_database(work) as url:
            server = LiveServer(url, work)
            append_s = _append(url, work / "keys", server.url)
            with server:
                latencies, size = _check_proofs(server)
    if size != RECORDS:
        raise BenchFailure(f"the log holds {size} records, not {RECORDS}")
    ordered = sorted(latencies)
    return {
        "records": RECORDS,
        "append_s": round(append_s, 3),
        "append_records_per_s": round(RECORDS / append_s, 1),
        "proofs": PROOFS,
        "proofs_per_s": round(PROOFS / sum(latencies), 1),
        "proof_p50_ms": round(statistics.median(ordered) * 1000, 2),
        "proof_p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2),
    }


@scenario("tlog-10k", "transparency log: append 10,000 signed records, serve 1,000 proofs")
def tlog_scenario(ctx: Context, outcome: Outcome) -> None:
    """In-process appends and a live server of its own (the shared one is not used)."""
    numbers = run_tlog_benchmark()
    outcome.metrics.update(numbers)  # the issue names no target: recorded
