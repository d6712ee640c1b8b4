"""Build verification without building (docs/builds.md): nothing is queued or shown while
it is off, a worker without the sandbox's programs says so instead of building, and the
log is plain text. The builds themselves, with the real fpm, are in
tests/e2e/test_build_verification.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fpmreg.server.app import build_job_handlers, create_app
from fpmreg.server.builds.service import BUILD_VERSION
from fpmreg.server.clock import SystemClock
from fpmreg.server.db import Database
from fpmreg.server.jobs import Job, JobRunner
from fpmreg.server.settings import Environment, Settings
from tests.factories import Publisher, make_publisher
from tests.support.databases import fresh_database
from tests.support.tarballs import package_tarball


def _app(
    tmp_path: Path, **extra: object
) -> Iterator[tuple[Settings, Database, TestClient, Publisher]]:
    with fresh_database(tmp_path) as url:
        settings = Settings(
            env=Environment.TEST,
            database_url=url,
            storage_path=tmp_path / "blobs",
            base_url="http://testserver",
            **extra,  # type: ignore[arg-type]
        )
        database = Database.from_url(url)
        with database.session() as session:
            publisher = make_publisher(session)
            session.commit()
        with TestClient(create_app(settings, database=database)) as client:
            answer = client.post(
                "/api/v1/packages",
                files={"tarball": ("t.tar.gz", package_tarball("lib"))},
                headers={"Authorization": f"Bearer {publisher.token}"},
            )
            assert answer.status_code == 201, answer.text
            yield settings, database, client, publisher
        database.engine.dispose()


@pytest.fixture
def without_builds(tmp_path: Path) -> Iterator[tuple[Settings, Database, TestClient, Publisher]]:
    yield from _app(tmp_path)


def test_nothing_is_built_or_shown_while_build_verification_is_off(
    without_builds: tuple[Settings, Database, TestClient, Publisher],
) -> None:
    _, database, client, publisher = without_builds
    ns = publisher.namespace.name
    with database.session() as session:
        assert session.scalars(select(Job).where(Job.kind == BUILD_VERSION)).all() == []
    version = client.get(f"/api/v1/packages/{ns}/lib/versions/0.1.0").json()
    assert "build" not in version
    assert 'id="build-status"' not in client.get(f"/project/{ns}/lib/0.1.0").text
    assert client.get(f"/project/{ns}/lib/0.1.0/build.log").status_code == 404


def test_a_worker_without_the_sandbox_says_the_version_is_not_verified(tmp_path: Path) -> None:
    for settings, database, client, publisher in _app(
        tmp_path, build_verification=True, build_bwrap="/nonexistent/bwrap"
    ):
        ns = publisher.namespace.name
        pending = client.get(f"/api/v1/packages/{ns}/lib/versions/0.1.0").json()["build"]
        assert pending["outcome"] == "pending"
        assert "has not built this version yet" in client.get(f"/project/{ns}/lib/0.1.0").text
        handlers = build_job_handlers(settings, SystemClock())
        assert JobRunner(database, SystemClock(), handlers, worker_id="w").run_until_idle() == 1
        build = client.get(f"/api/v1/packages/{ns}/lib/versions/0.1.0").json()["build"]
        assert build["outcome"] == "not-verified"
        assert build["summary"] == "not verified: the build worker has no `bwrap`"
        page = client.get(f"/project/{ns}/lib/0.1.0").text
        assert "not verified: the build worker has no <code>bwrap</code>" in page
        # Nothing ran, so there is no log to show.
        assert client.get(f"/project/{ns}/lib/0.1.0/build.log").status_code == 404


def test_build_verification_refuses_limits_longer_than_a_job_lease() -> None:
    with pytest.raises(ValueError, match="FPMREG_BUILD_WALL_SECONDS"):
        Settings(build_verification=True, build_wall_seconds=200, job_lease_seconds=300)
