"""`fpmreg verify` against a real registry: a lock whose releases are in the log passes
(with the log indexes `fpmreg lock` recorded, or without any); a tampered checksum, a
log index edited to another record, a forged record, a forked log or missing
cosignatures fail."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import text

from fpmreg.core.integrity import canonical
from fpmreg.core.lockfile import loads
from fpmreg.core.tlog.note import COSIGNATURE, Signer
from fpmreg.server.db import Database
from tests.client.conftest import fpmreg
from tests.client.pinning import NAMESPACE, publish, token_for, write_project
from tests.support.live import LiveServer


@pytest.fixture(autouse=True)
def private_cache(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(isolated / ".cache"))
    return isolated / ".cache" / "fpmreg"


def _locked_project(server: LiveServer, tmp_path: Path) -> Path:
    token = token_for(server)
    publish(server, token, "numkit", "1.0.0")
    publish(server, token, "statkit", "1.0.0", {"numkit": ""})
    project = write_project(tmp_path / "app", {"statkit": ""})
    assert fpmreg("lock", "-C", project, "--registry", server.url).exit_code == 0
    return project


def _sql(server: LiveServer, statement: str, **params: object) -> None:
    database = Database.from_url(server.database_url)
    with database.engine.begin() as conn:
        conn.execute(text(statement), params)
    database.engine.dispose()


def test_a_lock_of_logged_releases_verifies(live_server: LiveServer, tmp_path: Path) -> None:
    project = _locked_project(live_server, tmp_path)

    run = fpmreg("verify", "-C", project)

    assert run.exit_code == 0, run.stderr
    assert f"verified {NAMESPACE}/numkit@1.0.0" in run.stdout
    assert f"verified {NAMESPACE}/statkit@1.0.0" in run.stdout
    assert "all 2 locked packages are in their registries' logs" in run.stdout


def _release_indexes(server: LiveServer) -> dict[str, int]:
    """The index of every release record in the registry's log, by package URL."""
    database = Database.from_url(server.database_url)
    with database.engine.begin() as conn:
        rows = conn.execute(
            text('SELECT subject, "index" FROM log_entries WHERE action = :a'),
            {"a": "version.publish"},
        ).all()
    database.engine.dispose()
    return {subject: index for subject, index in rows}


def test_the_lock_records_each_release_log_index(live_server: LiveServer, tmp_path: Path) -> None:
    project = _locked_project(live_server, tmp_path)

    lock = loads((project / "fpm.lock").read_text())

    logged = _release_indexes(live_server)
    assert {p.name: p.log_index for p in lock.packages} == {
        "numkit": logged[f"pkg:fpm/{NAMESPACE}/numkit@1.0.0"],
        "statkit": logged[f"pkg:fpm/{NAMESPACE}/statkit@1.0.0"],
    }
    assert fpmreg("verify", "-C", project).exit_code == 0


def test_a_log_index_edited_to_another_record_fails_saying_whose(
    live_server: LiveServer, tmp_path: Path
) -> None:
    project = _locked_project(live_server, tmp_path)
    logged = _release_indexes(live_server)
    numkit = logged[f"pkg:fpm/{NAMESPACE}/numkit@1.0.0"]
    statkit = logged[f"pkg:fpm/{NAMESPACE}/statkit@1.0.0"]
    lock = (project / "fpm.lock").read_text()
    (project / "fpm.lock").write_text(
        lock.replace(f"log-index = {numkit}\n", f"log-index = {statkit}\n", 1)
    )

    run = fpmreg("verify", "-C", project)

    assert run.exit_code == 1
    assert (
        f"pkg:fpm/{NAMESPACE}/numkit@1.0.0: the lock's log index {statkit} is the record of "
        f"pkg:fpm/{NAMESPACE}/statkit@1.0.0, not of pkg:fpm/{NAMESPACE}/numkit@1.0.0"
    ) in run.stderr
    assert "a tampered lock or a forked log" in run.stderr
    assert f"verified {NAMESPACE}/statkit@1.0.0" in run.stdout
    assert "1 of 2 locked packages not verified" in run.stderr


def test_a_log_index_past_the_log_fails(live_server: LiveServer, tmp_path: Path) -> None:
    project = _locked_project(live_server, tmp_path)
    lock = (project / "fpm.lock").read_text()
    (project / "fpm.lock").write_text(re.sub(r"log-index = \d+", "log-index = 999999", lock))

    run = fpmreg("verify", "-C", project)

    assert run.exit_code == 1
    assert "the lock's log index 999999 is past the checkpoint" in run.stderr
    assert "2 of 2 locked packages not verified" in run.stderr


def test_a_lock_without_log_indexes_still_verifies(live_server: LiveServer, tmp_path: Path) -> None:
    project = _locked_project(live_server, tmp_path)
    lock = (project / "fpm.lock").read_text()
    older = re.sub(r"log-index = \d+\n", "", lock)  # as an older fpmreg wrote it
    assert "log-index" not in older
    (project / "fpm.lock").write_text(older)

    run = fpmreg("verify", "-C", project)

    assert run.exit_code == 0, run.stderr
    assert "all 2 locked packages are in their registries' logs" in run.stdout
    # `fpmreg lock` records the indexes it lacked, changing nothing else.
    relock = fpmreg("lock", "-C", project, "--registry", live_server.url)
    assert relock.exit_code == 0, relock.stderr
    assert (project / "fpm.lock").read_text() == lock
    assert "same versions (their transparency-log indexes recorded)" in relock.stdout


def test_a_malformed_log_index_is_a_clear_error(live_server: LiveServer, tmp_path: Path) -> None:
    project = _locked_project(live_server, tmp_path)
    lock = (project / "fpm.lock").read_text()
    (project / "fpm.lock").write_text(re.sub(r"log-index = \d+", 'log-index = "7"', lock, 1))

    run = fpmreg("verify", "-C", project)

    assert run.exit_code == 1
    assert "`log-index = '7'` is not a log index" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_tampered_checksum_fails_naming_both(live_server: LiveServer, tmp_path: Path) -> None:
    project = _locked_project(live_server, tmp_path)
    lock = (project / "fpm.lock").read_text()
    real = next(line for line in lock.splitlines() if line.startswith("sha256")).split('"')[1]
    (project / "fpm.lock").write_text(lock.replace(real, "0" * 64))

    run = fpmreg("verify", "-C", project)

    assert run.exit_code == 1
    assert "0" * 64 in run.stderr and real in run.stderr and "tampered" in run.stderr
    assert "1 of 2 locked packages not verified" in run.stderr


def test_a_forged_record_fails(live_server: LiveServer, tmp_path: Path) -> None:
    project = _locked_project(live_server, tmp_path)
    database = Database.from_url(live_server.database_url)
    with database.engine.begin() as conn:
        index, body = conn.execute(
            text('SELECT "index", body FROM log_entries WHERE subject = :s'),
            {"s": f"pkg:fpm/{NAMESPACE}/numkit@1.0.0"},
        ).one()
        record = json.loads(body)
        record["time"] = "2000-01-01T00:00:00Z"  # the proof no longer matches
        conn.execute(
            text('UPDATE log_entries SET body = :b WHERE "index" = :i'),
            {"b": canonical(record), "i": index},
        )
    database.engine.dispose()

    run = fpmreg("verify", "-C", project)

    assert run.exit_code == 1
    assert f"pkg:fpm/{NAMESPACE}/numkit@1.0.0: the record at {index} is not signed" in run.stderr


def test_a_log_that_rewrote_its_history_fails_as_a_fork(
    live_server: LiveServer, tmp_path: Path
) -> None:
    project = _locked_project(live_server, tmp_path)
    assert fpmreg("verify", "-C", project).exit_code == 0  # remembers this checkpoint
    # The operator rebuilds the log from scratch and logs the same releases again (and
    # more): the same entries, other times, so another history.
    _sql(live_server, "DELETE FROM log_nodes")
    _sql(live_server, "DELETE FROM log_entries")
    _sql(live_server, "UPDATE log_head SET size = 0")
    token = token_for(live_server)
    for version in ("1.1.0", "1.2.0", "1.3.0"):
        publish(live_server, token, "numkit", version)

    run = fpmreg("verify", "-C", project)

    assert run.exit_code == 1
    assert "is not consistent with the one seen before" in run.stderr


def test_missing_witness_cosignatures_fail(live_server: LiveServer, tmp_path: Path) -> None:
    project = _locked_project(live_server, tmp_path)
    witness = Signer.generate("witness.example/witness", COSIGNATURE).verifier.encode()

    run = fpmreg("verify", "-C", project, "--witness", witness, "--witnesses", "1")

    assert run.exit_code == 1
    assert "has 0 of the 1 witness cosignatures asked for" in run.stderr
    bad = fpmreg("verify", "-C", project, "--witness", "not-a-key")
    assert bad.exit_code == 2 and "--witness" in bad.stderr
