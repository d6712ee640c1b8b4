"""Publishing over fpm's form and reading it back through fpm's API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fpmreg.core.fpmjson import fpm_json_problems
from tests.factories import make_publisher
from tests.support.tarballs import package_tarball


def test_fpm_publish_then_resolve_latest(client: TestClient, session: Session) -> None:
    publisher = make_publisher(session)
    session.commit()
    response = client.post(
        "/packages",
        data={
            "package_name": "hello",
            "package_license": "MIT",
            "package_version": "1.0.0",
            "upload_token": publisher.token,
        },
        files={
            "tarball": ("fileB0Nbbs", package_tarball("hello", "1.0.0"), "application/octet-stream")
        },
    )
    assert response.json()["code"] == 200, response.text
    meta = client.get(f"/packages/{publisher.namespace.name}/hello")
    assert fpm_json_problems(meta.content) == []
    data = meta.json()["data"]["latest_version_data"]
    assert data["version"] == "1.0.0"
    tar = client.get(data["download_url"])
    assert tar.status_code == 200 and tar.content[:2] == b"\x1f\x8b"


def test_head_on_a_tarball_gives_its_size_and_digest_without_a_body(
    client: TestClient, session: Session
) -> None:
    publisher = make_publisher(session)
    session.commit()
    data = package_tarball("headed", "1.0.0")
    client.post("/packages", data={"upload_token": publisher.token}, files={"tarball": ("f", data)})
    url = f"/tarballs/{publisher.namespace.name}/headed/1.0.0.tar.gz"
    head = client.head(url)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(data)
    import hashlib

    assert head.headers["x-checksum-sha256"] == hashlib.sha256(data).hexdigest()
