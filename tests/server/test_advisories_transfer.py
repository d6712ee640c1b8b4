"""`fpmreg-server advisories import|export`: OSV records in and out, osv.dev's dump layout."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fpmreg.server.advisories.schema import record_problems
from fpmreg.server.advisories.transfer import export, import_path
from fpmreg.server.cli import app as cli
from fpmreg.server.clock import SystemClock
from fpmreg.server.db import Database
from fpmreg.server.storage import BlobStore
from tests.factories import make_advisory, make_publisher, publish, pypi_record
from tests.support.databases import fresh_database

PREFIX = "FPMREG"


@pytest.fixture
def own_session(tmp_path: Path) -> Iterator[Session]:
    """A session on a database of its own: the round trip commits and exports for real."""
    with fresh_database(tmp_path) as url:
        database = Database.from_url(url)
        try:
            with database.session() as session:
                yield session
        finally:
            database.engine.dispose()


def test_export_then_import_round_trips_in_osv_dump_layout(
    own_session: Session, store: BlobStore, tmp_path: Path
) -> None:
    session = own_session
    publisher = make_publisher(session)
    publish(session, store, publisher, "lib", "1.0.0")
    ours = make_advisory(session, publisher.user, f"{publisher.namespace.name}/lib")
    draft = make_advisory(
        session, publisher.user, f"{publisher.namespace.name}/lib", published=False
    )
    source = tmp_path / "in.json"
    source.write_text(json.dumps(pypi_record("PYSEC-2024-9", "numpy", "1.26.0")))
    assert import_path(session, SystemClock(), source, PREFIX).created == ["PYSEC-2024-9"]
    session.commit()

    folder = tmp_path / "dump"
    assert export(session, folder) == 2
    files = sorted(p.name for p in folder.iterdir())
    assert files == sorted([f"{ours}.json", "PYSEC-2024-9.json", "all.zip"])
    assert f"{draft}.json" not in files  # drafts are never exported
    with zipfile.ZipFile(folder / "all.zip") as archive:
        assert sorted(archive.namelist()) == sorted([f"{ours}.json", "PYSEC-2024-9.json"])
        for name in archive.namelist():
            record = json.loads(archive.read(name))
            assert name == f"{record['id']}.json"
            assert record_problems(record, PREFIX) == []
            assert json.loads((folder / name).read_text()) == record

    # The same records imported again change nothing; a changed one is updated.
    again = import_path(session, SystemClock(), folder / "all.zip", PREFIX)
    assert sorted(again.unchanged) == sorted([ours, "PYSEC-2024-9"])
    changed = pypi_record("PYSEC-2024-9", "numpy", "1.26.1", modified="2025-01-01T00:00:00Z")
    source.write_text(json.dumps(changed))
    assert import_path(session, SystemClock(), source, PREFIX).updated == ["PYSEC-2024-9"]


def test_import_refuses_invalid_records_and_says_why(session: Session, tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr(
            "NOPE-1.json", json.dumps({"id": "NOPE-1", "modified": "2024-01-01T00:00:00Z"})
        )
        archive.writestr("broken.json", "{not json")
        archive.writestr(
            "GHSA-xxxx-yyyy-zzzz.json", json.dumps(pypi_record("GHSA-xxxx-yyyy-zzzz", "a", "1"))
        )
    report = import_path(session, SystemClock(), bad, PREFIX)
    assert report.created == ["GHSA-xxxx-yyyy-zzzz"]
    refused = dict(report.refused)
    assert "`id`" in refused["NOPE-1.json"]
    assert "not a JSON document" in refused["broken.json"]


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The environment of `fpmreg-server` with a database of its own (it commits)."""
    with fresh_database(tmp_path) as url:
        monkeypatch.setenv("FPMREG_DATABASE_URL", url)
        monkeypatch.setenv("FPMREG_STORAGE_PATH", str(tmp_path / "blobs"))
        monkeypatch.setenv("FPMREG_ENV", "test")
        yield


@pytest.mark.usefixtures("cli_env")
def test_cli_imports_a_zip_and_exports_one(tmp_path: Path) -> None:
    dump = tmp_path / "all.zip"
    record = pypi_record("PYSEC-2030-1", "cli-demo", "2.0")
    with zipfile.ZipFile(dump, "w") as archive:
        archive.writestr("PYSEC-2030-1.json", json.dumps(record))
    runner = CliRunner()
    imported = runner.invoke(cli, ["advisories", "import", str(dump)])
    assert imported.exit_code == 0, imported.output
    assert "imported 1 new" in imported.output
    out = tmp_path / "export.zip"
    exported = runner.invoke(cli, ["advisories", "export", str(out)])
    assert exported.exit_code == 0, exported.output
    with zipfile.ZipFile(out) as archive:
        assert "PYSEC-2030-1.json" in archive.namelist()
        assert json.loads(archive.read("PYSEC-2030-1.json")) == record
