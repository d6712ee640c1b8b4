"""nginx's download log counted once: restarts, rotation, partial and malformed lines."""

from __future__ import annotations

import json
import time
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from fpmreg.server.clock import SystemClock
from fpmreg.server.db import Database
from fpmreg.server.front.ingest import LogIngest
from fpmreg.server.metrics.models import DownloadCount
from fpmreg.server.storage import BlobStore
from tests.factories import make_publisher, publish


def line(ns: str, version: str = "1.0.0", **over: str) -> bytes:
    entry = {
        "time": f"{time.time():.3f}", "method": "GET", "status": "200", "completion": "OK",
        "uri": f"/tarballs/{ns}/lib/{version}.tar.gz", "bytes": "100", "ua": "curl/8.0",
        "ci": "", "upstream": "", "request_id": str(time.monotonic_ns()),
    }  # fmt: skip
    entry.update(over)
    return json.dumps(entry).encode() + b"\n"


def counted(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(DownloadCount.count), 0))) or 0)


def test_each_download_counts_once_across_restarts_rotation_and_partial_lines(
    engine: Engine, sessions: sessionmaker[Session], session: Session, store: BlobStore,
    tmp_path: Path,
) -> None:  # fmt: skip
    owner = make_publisher(session)
    ns = owner.namespace.name
    publish(session, store, owner, "lib", "1.0.0")
    database = Database(engine, sessions)
    log = tmp_path / "fpmreg-downloads.log"
    log.write_bytes(line(ns) * 3 + line(ns, method="HEAD") + b"not json\n" + line(ns)[:20])
    first = LogIngest(database, SystemClock(), log).run()
    assert (first.counted, first.ignored, first.malformed) == (3, 1, 1)
    assert counted(session) == 3
    # The partial line ends; a new process (a restart) goes on from the cursor.
    with log.open("ab") as out:
        out.write(line(ns)[20:] + line(ns, status="404"))
    assert LogIngest(database, SystemClock(), log).run().counted == 1
    assert counted(session) == 4
    # Rotation by rename: nginx still writes to the old file until it reopens.
    with log.open("ab") as out:
        out.write(line(ns) * 2)
    log.rename(tmp_path / "fpmreg-downloads.log.1")
    log.write_bytes(line(ns) * 5)
    assert LogIngest(database, SystemClock(), log).run().counted == 7
    assert LogIngest(database, SystemClock(), log).run().counted == 0
    assert counted(session) == 11
