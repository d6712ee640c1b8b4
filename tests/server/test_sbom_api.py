"""`GET /api/v1/packages/{ns}/{name}/{version}/sbom`: formats, media types, ETag and the
error envelope (the validators run in tests/client/test_sbom.py on a live registry)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.server.packages.models import Version
from fpmreg.server.storage import BlobStore
from tests.factories import Publisher, make_publisher, publish
from tests.support.sbom_validators import PROBLEMS


@pytest.fixture
def hello(session: Session, store: BlobStore) -> Publisher:
    publisher = make_publisher(session)
    ns = publisher.namespace.name
    publish(session, store, publisher, "json", "1.0.0")
    publish(session, store, publisher, "json", "1.1.0", license="Apache-2.0")
    extra = f'[dependencies]\njson = {{ namespace = "{ns}" }}\n'
    publish(
        session,
        store,
        publisher,
        "hello",
        "1.2.0",
        license="Apache-2.0 OR MIT",
        extra_manifest=extra,
    )
    return publisher


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("spdx-2.3", "application/spdx+json"),
        ("spdx-3.0", "application/ld+json"),
        ("cyclonedx-1.6", "application/vnd.cyclonedx+json; version=1.6"),
    ],
)
def test_each_format_has_its_media_type_and_validates(
    client: TestClient, hello: Publisher, name: str, media_type: str
) -> None:
    ns = hello.namespace.name
    answer = client.get(f"/api/v1/packages/{ns}/hello/1.2.0/sbom", params={"format": name})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == media_type
    assert PROBLEMS[name](answer.content) == []
    again = client.get(f"/api/v1/packages/{ns}/hello/1.2.0/sbom", params={"format": name})
    assert again.content == answer.content
    etag = answer.headers["etag"]
    cached = client.get(
        f"/api/v1/packages/{ns}/hello/1.2.0/sbom",
        params={"format": name},
        headers={"If-None-Match": etag},
    )
    assert cached.status_code == 304


def test_spdx_2_3_is_the_default_and_takes_the_newest_dependency(
    client: TestClient, hello: Publisher
) -> None:
    ns = hello.namespace.name
    answer = client.get(f"/api/v1/packages/{ns}/hello/1.2.0/sbom")
    assert answer.headers["content-type"] == "application/spdx+json"
    document = json.loads(answer.content)
    packages = {p["name"]: p for p in document["packages"]}
    assert packages[f"{ns}/json"]["versionInfo"] == "1.1.0"
    assert packages[f"{ns}/json"]["licenseDeclared"] == "Apache-2.0"
    assert packages[f"{ns}/hello"]["licenseDeclared"] == "Apache-2.0 OR MIT"
    assert len(packages[f"{ns}/hello"]["checksums"][0]["checksumValue"]) == 64
    published = client.get(f"/api/v1/packages/{ns}/hello").json()
    assert document["creationInfo"]["created"][:10] in json.dumps(published)


def test_an_unknown_format_is_a_400_naming_the_formats(
    client: TestClient, hello: Publisher
) -> None:
    ns = hello.namespace.name
    answer = client.get(f"/api/v1/packages/{ns}/hello/1.2.0/sbom", params={"format": "swid"})
    assert answer.status_code == 400
    error = answer.json()["errors"][0]
    assert error["code"] == "sbom-format-unknown"
    assert "`spdx-2.3`, `spdx-3.0`, `cyclonedx-1.6`" in error["detail"]


def test_an_unknown_package_or_version_is_a_404(client: TestClient, hello: Publisher) -> None:
    ns = hello.namespace.name
    for path in (f"{ns}/nothing/1.0.0", f"{ns}/hello/9.9.9"):
        answer = client.get(f"/api/v1/packages/{path}/sbom")
        assert answer.status_code == 404
        assert answer.json()["errors"][0]["code"] in {"package-not-found", "version-not-found"}


def test_dependencies_that_no_longer_resolve_are_a_409(
    client: TestClient, session: Session, store: BlobStore, hello: Publisher
) -> None:
    ns = hello.namespace.name
    for row in session.scalars(select(Version).where(Version.version.in_(["1.0.0", "1.1.0"]))):
        row.yanked = True
    session.commit()
    answer = client.get(f"/api/v1/packages/{ns}/hello/1.2.0/sbom")
    assert answer.status_code == 409
    error = answer.json()["errors"][0]
    assert error["code"] == "sbom-unresolvable"
    assert f"`{ns}/json`" in error["detail"]
