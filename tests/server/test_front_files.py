"""The front folder (FPMREG_FRONT_DIR) holds exactly the app's 200 answers, after every
change: publish, yank, deprecate, quarantine, delete, and a rebuild from scratch."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from fpmreg.server.accounts.models import Scope
from fpmreg.server.app import create_app
from fpmreg.server.db import Database
from fpmreg.server.settings import Settings
from fpmreg.server.storage import BlobStore
from tests.factories import Publisher, make_moderator, make_owner_token, make_publisher, publish

MALWARE = {"reason": "steals tokens from CI (see ticket 12)", "category": "malware"}


@pytest.fixture
def front(tmp_path: Path) -> Path:
    return tmp_path / "front"


@pytest.fixture
def front_app(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session], front: Path
) -> FastAPI:
    settings = settings.model_copy(update={"front_dir": str(front)})
    return create_app(settings, database=Database(engine, sessions))


@pytest.fixture
def client(front_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(front_app) as c:
        yield c


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def front_files(front: Path, ns: str, name: str) -> dict[str, bytes]:
    """Every front file of a package, by the URL path nginx serves it at."""
    found: dict[str, bytes] = {}
    for path in sorted((front / "packages" / ns / name).glob("*.json")):
        suffix = "" if path.stem == "latest" else f"/{path.stem}"
        found[f"/packages/{ns}/{name}{suffix}"] = path.read_bytes()
    for path in sorted((front / "tarballs" / ns / name).glob("*.tar.gz")):
        found[f"/tarballs/{ns}/{name}/{path.name}"] = path.read_bytes()
    return found


def assert_front_is_the_app(client: TestClient, front: Path, ns: str, name: str) -> set[str]:
    """Each file equals the app's 200 answer at its URL, byte for byte, and every URL
    the app answers with 200 has its file; returns the URLs served from files."""
    files = front_files(front, ns, name)
    for url, body in files.items():
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert answer.content == body, url
    versions = client.get(f"/api/v1/packages/{ns}/{name}")
    if versions.status_code == 200:
        for v in versions.json()["versions"]:
            for url in (f"/packages/{ns}/{name}/{v['version']}", v["download_url"]):
                path = url.removeprefix("http://testserver")
                if client.get(path).status_code == 200:
                    assert path in files, path
        if client.get(f"/packages/{ns}/{name}").status_code == 200:
            assert f"/packages/{ns}/{name}" in files
    return set(files)


@pytest.fixture
def owner(session: Session, store: BlobStore) -> Publisher:
    owner = make_publisher(session)
    publish(session, store, owner, "lib", "1.0.0")
    publish(session, store, owner, "lib", "1.1.0")
    return owner


def test_a_publish_writes_the_apps_answers_byte_for_byte(
    client: TestClient, front: Path, owner: Publisher
) -> None:
    ns = owner.namespace.name
    served = assert_front_is_the_app(client, front, ns, "lib")
    assert served == {
        f"/packages/{ns}/lib",
        f"/packages/{ns}/lib/1.0.0",
        f"/packages/{ns}/lib/1.1.0",
        f"/tarballs/{ns}/lib/1.0.0.tar.gz",
        f"/tarballs/{ns}/lib/1.1.0.tar.gz",
    }
    latest = (front / "packages" / ns / "lib" / "latest.json").read_text()
    assert '"version":"1.1.0"' in latest.replace(" ", "")
    tarball = (front / "tarballs" / ns / "lib" / "1.1.0.tar.gz").read_bytes()
    digest = client.get(f"/tarballs/{ns}/lib/1.1.0.tar.gz").headers["x-checksum-sha256"]
    assert hashlib.sha256(tarball).hexdigest() == digest


def test_yanking_rewrites_latest_and_yanking_all_leaves_it_to_the_app(
    client: TestClient, session: Session, front: Path, owner: Publisher
) -> None:
    ns = owner.namespace.name
    token = make_owner_token(session, owner, Scope.YANK)
    for version in ("1.1.0", "1.0.0"):
        answer = client.put(
            f"/api/v1/packages/{ns}/lib/versions/{version}/yank",
            json={"reason": "miscompiles with gfortran 13"},
            headers=_bearer(token),
        )
        assert answer.status_code == 200, answer.text
        assert_front_is_the_app(client, front, ns, "lib")
        if version == "1.1.0":
            latest = (front / "packages" / ns / "lib" / "latest.json").read_bytes()
            assert b'"version":"1.0.0"' in latest.replace(b" ", b"")
    # Every version yanked: the app answers latest with fpm's 404 envelope, so nginx
    # must pass it on; pinned versions are still served.
    assert not (front / "packages" / ns / "lib" / "latest.json").exists()
    assert (front / "packages" / ns / "lib" / "1.0.0.json").exists()
    client.delete(f"/api/v1/packages/{ns}/lib/versions/1.1.0/yank", headers=_bearer(token))
    assert (front / "packages" / ns / "lib" / "latest.json").exists()
    assert_front_is_the_app(client, front, ns, "lib")


def test_deprecation_is_in_the_files_at_once(
    client: TestClient, session: Session, front: Path, owner: Publisher
) -> None:
    ns = owner.namespace.name
    token = make_owner_token(session, owner, Scope.MANAGE)
    before = (front / "packages" / ns / "lib" / "latest.json").read_bytes()
    answer = client.put(
        f"/api/v1/packages/{ns}/lib/deprecation",
        json={"message": "use lib2 instead"},
        headers=_bearer(token),
    )
    assert answer.status_code == 200, answer.text
    after = (front / "packages" / ns / "lib" / "latest.json").read_bytes()
    assert after != before and b"use lib2 instead" in after
    assert_front_is_the_app(client, front, ns, "lib")


def test_quarantine_removes_the_files_and_release_brings_them_back(
    client: TestClient, session: Session, front: Path, owner: Publisher
) -> None:
    ns = owner.namespace.name
    moderator = make_moderator(session)
    url = f"/api/v1/packages/{ns}/lib/quarantine"
    answer = client.put(url, json=MALWARE, headers=_bearer(moderator.token))
    assert answer.status_code == 200, answer.text
    assert front_files(front, ns, "lib") == {}
    assert client.get(f"/packages/{ns}/lib").status_code == 403  # what nginx passes on
    answer = client.request(
        "DELETE", url, json={"reason": "false alarm"}, headers=_bearer(moderator.token)
    )
    assert answer.status_code == 200, answer.text
    assert len(assert_front_is_the_app(client, front, ns, "lib")) == 5


def test_deleting_a_version_then_the_package_removes_their_files(
    client: TestClient, session: Session, front: Path, owner: Publisher
) -> None:
    ns = owner.namespace.name
    moderator = make_moderator(session)
    answer = client.request(
        "DELETE",
        f"/api/v1/packages/{ns}/lib/versions/1.1.0",
        json=MALWARE,
        headers=_bearer(moderator.token),
    )
    assert answer.status_code == 200, answer.text
    served = assert_front_is_the_app(client, front, ns, "lib")
    assert served == {
        f"/packages/{ns}/lib",
        f"/packages/{ns}/lib/1.0.0",
        f"/tarballs/{ns}/lib/1.0.0.tar.gz",
    }
    assert client.get(f"/packages/{ns}/lib/1.1.0").status_code == 410
    answer = client.request(
        "DELETE", f"/api/v1/packages/{ns}/lib", json=MALWARE, headers=_bearer(moderator.token)
    )
    assert answer.status_code == 200, answer.text
    assert front_files(front, ns, "lib") == {}
    assert client.get(f"/packages/{ns}/lib").status_code == 410


def test_rebuild_writes_everything_again_and_removes_what_no_package_owns(
    client: TestClient, front_app: FastAPI, front: Path, owner: Publisher
) -> None:
    ns = owner.namespace.name
    before = front_files(front, ns, "lib")
    shutil.rmtree(front / "packages" / ns)
    stale = front / "packages" / "gone" / "old"
    stale.mkdir(parents=True)
    (stale / "latest.json").write_text("{}")
    front_app.state.front.rebuild()
    assert front_files(front, ns, "lib") == before
    assert not stale.exists()
