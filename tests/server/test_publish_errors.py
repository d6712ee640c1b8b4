"""Bad uploads over both publish endpoints: a clear message, and nothing left behind.

`POST /packages` is what `fpm publish` calls and answers in fpm's envelope
(`{"code": N, "message": ...}`); `POST /api/v1/packages` answers `{"errors": [...]}`.
Every refusal is checked from the outside: the message names the problem, no version
appears through the API, and the blob store holds no new blob and no staging file.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from fpmreg.core.fpmjson import fpm_json_problems
from fpmreg.server.app import FORM_OVERHEAD_BYTES, create_app
from fpmreg.server.db import Database
from fpmreg.server.settings import Settings
from fpmreg.server.storage import BlobStore
from tests.factories import Publisher, make_publisher, publish, unique
from tests.support.tarballs import manifest, package_tarball, tarball

ENDPOINTS = ("fpm", "api")
# What fpm's unquoted `curl` command line can carry (docs/api-design.md, "download_url").
SAFE_URL_PATH = re.compile(r"^/[A-Za-z0-9._~/-]+$")
SMALL_UPLOAD_LIMIT = 1024


# Sending ------------------------------------------------------------------------------


def fpm_publish(
    client: TestClient,
    token: str,
    data: bytes | None,
    *,
    name: str = "hello",
    version: str = "0.1.0",
    license: str = "MIT",
    **extra: str,
) -> httpx.Response:
    """Upload as `fpm publish` does: five multipart fields, the tarball under a temp name."""
    fields = {
        "package_name": name,
        "package_license": license,
        "package_version": version,
        "upload_token": token,
        **extra,
    }
    files = {"tarball": ("fileB0Nbbs", data, "application/octet-stream")}
    return client.post("/packages", data=fields, files=files if data is not None else None)


def api_publish(
    client: TestClient, token: str, data: bytes | None, *, dry_run: str | None = None
) -> httpx.Response:
    """Upload through `/api/v1/packages` with a Bearer token."""
    files = {"tarball": ("hello.tar.gz", data, "application/gzip")} if data is not None else None
    form = {"dry_run": dry_run} if dry_run is not None else None
    return client.post(
        "/api/v1/packages", files=files, data=form, headers={"Authorization": f"Bearer {token}"}
    )


def send(
    endpoint: str,
    client: TestClient,
    token: str,
    data: bytes,
    *,
    name: str = "hello",
    version: str = "0.1.0",
    license: str = "MIT",
) -> httpx.Response:
    """Publish through one of the two endpoints (fpm also sends name, version, license)."""
    if endpoint == "fpm":
        return fpm_publish(client, token, data, name=name, version=version, license=license)
    return api_publish(client, token, data)


# Checking -----------------------------------------------------------------------------


def refusal(
    response: httpx.Response, endpoint: str, status: int, *fragments: str, code: str = ""
) -> str:
    """Assert the endpoint's error envelope with this status; return the message shown."""
    assert response.status_code == status, response.text
    if endpoint == "fpm":
        assert fpm_json_problems(response.content) == []
        body = response.json()
        assert set(body) == {"code", "message"}
        assert type(body["code"]) is int and body["code"] == status
        message = str(body["message"])
    else:
        errors = response.json()["errors"]
        assert errors and all(set(e) == {"code", "field", "detail"} for e in errors)
        if code:
            assert code in [e["code"] for e in errors], errors
        message = " ".join(e["detail"] for e in errors)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def blob_hashes(store: BlobStore) -> set[str]:
    """The hashes of every blob file in the store."""
    return {p.name for p in (store.root / "sha256").glob("**/*") if p.is_file()}


def staging_files(store: BlobStore) -> list[Path]:
    """Whatever an upload left in the staging folder."""
    return [p for p in (store.root / "tmp").iterdir()]


def versions_of(client: TestClient, namespace: str, name: str) -> list[str] | None:
    """The versions the API shows for a package, or None when it does not exist."""
    response = client.get(f"/api/v1/packages/{namespace}/{name}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return [v["version"] for v in response.json()["versions"]]


def assert_nothing_stored(
    client: TestClient,
    store: BlobStore,
    namespace: str,
    name: str,
    *,
    versions: list[str] | None = None,
    blobs: set[str] | None = None,
) -> None:
    """No version became visible and no blob or staging file was left behind."""
    assert versions_of(client, namespace, name) == versions
    assert blob_hashes(store) == (blobs or set())
    assert staging_files(store) == []


# Tarballs -----------------------------------------------------------------------------


def tar_members(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    """A gzip tar of exactly these members (links and odd names included)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def regular(path: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(path)
    info.mode = 0o644
    return info, data


def symlink(path: str, target: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(path)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info, None


def valid_members(name: str = "hello") -> list[tuple[tarfile.TarInfo, bytes | None]]:
    return [regular("fpm.toml", manifest(name).encode()), regular("README.md", b"# hi\n")]


def incompressible(size: int) -> bytes:
    return os.urandom(size)


@dataclass(frozen=True)
class Bad:
    """A tarball one check must refuse, and what the uploader must be told."""

    data: bytes
    code: str
    fragments: tuple[str, ...]
    name: str = "hello"
    version: str = "0.1.0"
    license: str = "MIT"


BAD_TARBALLS = {
    "not-gzip": Bad(
        b"PK\x03\x04 a zip file, not a gzip tar",
        "archive-not-gzip",
        ("not gzip-compressed", "`.tar.gz`"),
    ),
    "gzip-but-not-tar": Bad(
        gzip.compress(b"just some text\n" * 50),
        "archive-corrupt",
        ("cannot be read as gzip tar", "git archive"),
    ),
    "no-fpm-toml": Bad(
        tarball({"README.md": "# hello\n", "src/hello.f90": "module hello\n"}),
        "archive-no-manifest",
        ("no `fpm.toml` at its root",),
    ),
    "fpm-toml-in-top-folder": Bad(
        tarball({"hello-0.1.0/fpm.toml": manifest("hello"), "hello-0.1.0/README.md": "# hi\n"}),
        "archive-no-manifest",
        ("no `fpm.toml` at its root", "`hello-0.1.0/fpm.toml`", "no top folder"),
    ),
    "symlink-member": Bad(
        tar_members([*valid_members(), symlink("src/x.f90", "/etc/passwd")]),
        "archive-link",
        ("`src/x.f90`", "is a link"),
    ),
    "parent-dir-member": Bad(
        tar_members([*valid_members(), regular("../evil.f90", b"x")]),
        "archive-parent-path",
        ("`../evil.f90`", "`..`"),
    ),
    "absolute-member": Bad(
        tar_members([*valid_members(), regular("/tmp/evil.f90", b"x")]),
        "archive-absolute-path",
        ("`/tmp/evil.f90`", "absolute path"),
    ),
    "invalid-toml": Bad(
        tarball({"fpm.toml": 'name = "hello\nversion = \n'}),
        "manifest-syntax",
        ("fpm.toml is not valid TOML",),
    ),
    "name-starts-with-digit": Bad(
        package_tarball("1hello"),
        "name-invalid",
        ("package name `1hello` is not valid", "start with a letter"),
        name="1hello",
    ),
    "name-not-ascii": Bad(
        package_tarball("héllo"),
        "name-invalid",
        ("package name `héllo` is not valid",),
        name="héllo",
    ),
    "version-prerelease": Bad(
        package_tarball("hello", "1.0.0-alpha"),
        "version-invalid",
        ("`1.0.0-alpha` is not a valid fpm version", "pre-release"),
        version="1.0.0-alpha",
    ),
    "version-four-parts": Bad(
        package_tarball("hello", "1.2.3.4"),
        "version-invalid",
        ("`1.2.3.4` is not a valid fpm version",),
        version="1.2.3.4",
    ),
    "version-zero": Bad(
        package_tarball("hello", "0"),
        "version-zero",
        ('Invalid version: "0"', 'version = "0.1.0"'),
        version="0",
    ),
    "license-not-spdx": Bad(
        package_tarball("hello", license="Proprietary-Foo"),
        "license-invalid",
        ("`Proprietary-Foo` is not a valid SPDX expression", "spdx.org"),
        license="Proprietary-Foo",
    ),
}


# Fixtures -----------------------------------------------------------------------------


@pytest.fixture(params=ENDPOINTS)
def endpoint(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def publisher(session: Session) -> Publisher:
    publisher = make_publisher(session)
    session.commit()
    return publisher


@pytest.fixture
def small_client(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session]
) -> Iterator[TestClient]:
    """The real app with a 1 KiB upload limit."""
    small = settings.model_copy(update={"max_upload_bytes": SMALL_UPLOAD_LIMIT})
    with TestClient(create_app(small, database=Database(engine, sessions))) as client:
        yield client


# Refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", BAD_TARBALLS.values(), ids=BAD_TARBALLS.keys())
def test_bad_tarball_is_refused_with_its_reason_and_nothing_is_stored(
    client: TestClient, store: BlobStore, publisher: Publisher, endpoint: str, case: Bad
) -> None:
    response = send(
        endpoint,
        client,
        publisher.token,
        case.data,
        name=case.name,
        version=case.version,
        license=case.license,
    )
    refusal(response, endpoint, 400, *case.fragments, code=case.code)
    assert_nothing_stored(client, store, publisher.namespace.name, case.name)
    assert_nothing_stored(client, store, publisher.namespace.name, "hello")


def test_fpm_upload_without_tarball_field_is_refused(
    client: TestClient, store: BlobStore, publisher: Publisher
) -> None:
    fields = {
        "package_name": "hello",
        "package_version": "0.1.0",
        "package_license": "MIT",
        "upload_token": publisher.token,
    }
    misspelled = client.post(
        "/packages",
        data=fields,
        files={"tarbal": ("f", package_tarball("hello"), "application/gzip")},
    )
    refusal(misspelled, "fpm", 400, "no `tarball` file field")
    as_text = client.post("/packages", data={**fields, "tarball": "hello.tar.gz"})
    refusal(as_text, "fpm", 400, "no `tarball` file field")
    assert_nothing_stored(client, store, publisher.namespace.name, "hello")


def test_api_upload_without_tarball_field_is_refused(
    client: TestClient, store: BlobStore, publisher: Publisher
) -> None:
    response = api_publish(client, publisher.token, None, dry_run="false")
    message = refusal(response, "api", 422, "`tarball`", code="request-invalid")
    assert "required" in message.lower()
    assert response.json()["errors"][0]["field"] == "tarball"
    assert_nothing_stored(client, store, publisher.namespace.name, "hello")


@pytest.mark.parametrize(
    ("field", "value", "fragments"),
    [
        (
            "package_name",
            "hello-world",
            ("the form says package `hello-world`", "fpm.toml says `hello`", "commit"),
        ),
        (
            "package_version",
            "1.0.1",
            ("the form says version `1.0.1`", "fpm.toml says `1.0.0`", "commit"),
        ),
        (
            "package_license",
            "Apache-2.0",
            ("the form says license `Apache-2.0`", "fpm.toml says `MIT`"),
        ),
    ],
)
def test_fpm_form_differing_from_the_tarball_is_refused(
    client: TestClient,
    store: BlobStore,
    publisher: Publisher,
    field: str,
    value: str,
    fragments: tuple[str, ...],
) -> None:
    claims = {"name": "hello", "version": "1.0.0", "license": "MIT"}
    claims[field.removeprefix("package_")] = value
    response = fpm_publish(client, publisher.token, package_tarball("hello", "1.0.0"), **claims)
    refusal(response, "fpm", 400, *fragments)
    assert_nothing_stored(client, store, publisher.namespace.name, "hello")
    assert_nothing_stored(client, store, publisher.namespace.name, "hello-world")


def test_fpm_form_version_written_short_matches_the_tarball(
    client: TestClient, publisher: Publisher
) -> None:
    response = fpm_publish(
        client, publisher.token, package_tarball("hello", "1.0.0"), version="1.0"
    )
    assert response.json()["code"] == 200, response.text
    assert versions_of(client, publisher.namespace.name, "hello") == ["1.0.0"]


@pytest.mark.parametrize("variant", ["same-bytes", "other-bytes", "short-version"])
def test_republishing_a_version_is_refused_as_immutable(
    client: TestClient,
    session: Session,
    store: BlobStore,
    publisher: Publisher,
    endpoint: str,
    variant: str,
) -> None:
    original = package_tarball("hello", "1.0.0")
    first = fpm_publish(client, publisher.token, original, version="1.0.0")
    assert first.json()["code"] == 200, first.text
    again = {
        "same-bytes": original,
        "other-bytes": package_tarball("hello", "1.0.0", readme="# changed\n"),
        "short-version": package_tarball("hello", "1.0"),
    }[variant]
    version = "1.0" if variant == "short-version" else "1.0.0"
    response = send(endpoint, client, publisher.token, again, version=version)
    ns = publisher.namespace.name
    refusal(
        response,
        endpoint,
        409,
        f"`{ns}/hello` already has a version `1.0.0`",
        "immutable",
        code="version-exists",
    )
    sha = hashlib.sha256(original).hexdigest()
    assert_nothing_stored(client, store, ns, "hello", versions=["1.0.0"], blobs={sha})
    download = client.get(f"/tarballs/{ns}/hello/1.0.0.tar.gz")
    assert download.status_code == 200
    assert download.content == original


def test_confusable_name_in_the_same_namespace_is_refused(
    client: TestClient, session: Session, store: BlobStore, publisher: Publisher, endpoint: str
) -> None:
    first = publish(session, store, publisher, "hello", "1.0.0")
    ns = publisher.namespace.name
    response = send(
        endpoint,
        client,
        publisher.token,
        package_tarball("he11o", "1.0.0"),
        name="he11o",
        version="1.0.0",
    )
    refusal(
        response,
        endpoint,
        409,
        f"`he11o` is too easily confused with `{ns}/hello`",
        "more distinct name",
        code="name-confusable",
    )
    assert_nothing_stored(client, store, ns, "he11o", blobs={first.sha256})
    assert versions_of(client, ns, "hello") == ["1.0.0"]


@pytest.mark.parametrize("spelling", ["Hello", "HELLO"])
def test_name_spelled_differently_from_the_existing_package_is_refused(
    client: TestClient,
    session: Session,
    store: BlobStore,
    publisher: Publisher,
    endpoint: str,
    spelling: str,
) -> None:
    first = publish(session, store, publisher, "hello", "1.0.0")
    ns = publisher.namespace.name
    response = send(
        endpoint,
        client,
        publisher.token,
        package_tarball(spelling, "1.1.0"),
        name=spelling,
        version="1.1.0",
    )
    refusal(
        response,
        endpoint,
        409,
        "already has the package `hello`",
        f"use that exact spelling, not `{spelling}`",
        code="name-spelling",
    )
    assert_nothing_stored(client, store, ns, "hello", versions=["1.0.0"], blobs={first.sha256})
    latest = client.get(f"/packages/{ns}/hello").json()["data"]["latest_version_data"]
    assert latest["version"] == "1.0.0"


# Size limit ---------------------------------------------------------------------------


def big_tarball(extra_bytes: int) -> bytes:
    return package_tarball("hello", "1.0.0", files={"data/blob.bin": incompressible(extra_bytes)})


@pytest.mark.parametrize(
    ("extra_bytes", "fragment"),
    [
        # Fits the request allowance (limit + form overhead) but not the tarball limit.
        (8 * 1024, f"larger than {SMALL_UPLOAD_LIMIT} bytes"),
        # Over the whole-request limit: cut off before the form is parsed.
        (2 * FORM_OVERHEAD_BYTES, f"larger than {SMALL_UPLOAD_LIMIT} bytes"),
    ],
    ids=["over-tarball-limit", "over-request-limit"],
)
def test_oversized_upload_is_refused_and_nothing_is_stored(
    small_client: TestClient,
    store: BlobStore,
    publisher: Publisher,
    endpoint: str,
    extra_bytes: int,
    fragment: str,
) -> None:
    data = big_tarball(extra_bytes)
    response = send(endpoint, small_client, publisher.token, data, version="1.0.0")
    refusal(response, endpoint, 413, fragment)
    assert_nothing_stored(small_client, store, publisher.namespace.name, "hello")


def test_oversized_upload_without_content_length_is_refused(
    small_client: TestClient, store: BlobStore, publisher: Publisher, endpoint: str
) -> None:
    """A chunked body has no Content-Length to check up front; it is cut off while read."""
    fields = (
        {
            "package_name": "hello",
            "package_version": "1.0.0",
            "package_license": "MIT",
            "upload_token": publisher.token,
        }
        if endpoint == "fpm"
        else {}
    )
    built = httpx.Request(
        "POST",
        "http://testserver/",
        data=fields,
        files={"tarball": ("f", big_tarball(4 * FORM_OVERHEAD_BYTES))},
    )
    body = built.read()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 16 * 1024):
            yield body[start : start + 16 * 1024]

    path = "/packages" if endpoint == "fpm" else "/api/v1/packages"
    response = small_client.post(
        path,
        content=chunks(),
        headers={
            "Content-Type": built.headers["Content-Type"],
            "Authorization": f"Bearer {publisher.token}",
        },
    )
    refusal(response, endpoint, 413, "the tarball is larger than")
    assert_nothing_stored(small_client, store, publisher.namespace.name, "hello")


# Dry runs -----------------------------------------------------------------------------


def test_dry_run_checks_everything_and_stores_nothing(
    client: TestClient, store: BlobStore, publisher: Publisher, endpoint: str
) -> None:
    data = package_tarball("hello", "1.0.0")
    ns = publisher.namespace.name
    if endpoint == "fpm":
        response = fpm_publish(client, publisher.token, data, version="1.0.0", dry_run="true")
        assert response.status_code == 200 and response.json()["code"] == 200, response.text
        assert "Dry run successful" in response.json()["message"]
        assert "not stored" in response.json()["message"]
    else:
        response = api_publish(client, publisher.token, data, dry_run="true")
        assert response.status_code in (200, 201), response.text
        body = response.json()
        assert body["dry_run"] is True
        assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert_nothing_stored(client, store, ns, "hello")
    assert client.get(f"/packages/{ns}/hello").json()["code"] == 404

    # Nothing was reserved either: the real upload goes through.
    real = send(endpoint, client, publisher.token, data, version="1.0.0")
    assert real.status_code in (200, 201), real.text
    assert versions_of(client, ns, "hello") == ["1.0.0"]
    assert blob_hashes(store) == {hashlib.sha256(data).hexdigest()}


def test_dry_run_still_refuses_a_bad_package(
    client: TestClient, store: BlobStore, publisher: Publisher, endpoint: str
) -> None:
    data = package_tarball("hello", "1.0.0", license="Proprietary-Foo")
    if endpoint == "fpm":
        response = fpm_publish(
            client,
            publisher.token,
            data,
            version="1.0.0",
            license="Proprietary-Foo",
            dry_run="true",
        )
    else:
        response = api_publish(client, publisher.token, data, dry_run="true")
    refusal(response, endpoint, 400, "`Proprietary-Foo` is not a valid SPDX expression")
    assert_nothing_stored(client, store, publisher.namespace.name, "hello")


def test_dry_run_still_refuses_an_existing_version(
    client: TestClient, session: Session, store: BlobStore, publisher: Publisher, endpoint: str
) -> None:
    first = publish(session, store, publisher, "hello", "1.0.0")
    data = package_tarball("hello", "1.0.0", readme="# other\n")
    if endpoint == "fpm":
        response = fpm_publish(client, publisher.token, data, version="1.0.0", dry_run="true")
    else:
        response = api_publish(client, publisher.token, data, dry_run="true")
    refusal(response, endpoint, 409, "already has a version `1.0.0`", "immutable")
    assert_nothing_stored(
        client, store, publisher.namespace.name, "hello", versions=["1.0.0"], blobs={first.sha256}
    )


# What fpm reads back ------------------------------------------------------------------


def described_tarball(name: str, version: str, description: str) -> bytes:
    toml = (
        f'name = "{name}"\nversion = "{version}"\nlicense = "MIT"\n'
        f'description = "{description}"\nauthor = "A. Fortran"\n[build]\nmodule-naming = true\n'
    )
    return tarball({"fpm.toml": toml, "README.md": f"# {name}\n\n{description}\n"})


def test_short_version_resolves_to_the_full_version(
    client: TestClient, session: Session, store: BlobStore, publisher: Publisher
) -> None:
    publish(session, store, publisher, "hello", "1.0.0")
    publish(session, store, publisher, "hello", "1.2.0")
    ns = publisher.namespace.name
    for short, full in [("1.0", "1.0.0"), ("1", "1.0.0"), ("1.2", "1.2.0")]:
        response = client.get(f"/packages/{ns}/hello/{short}")
        assert response.status_code == 200, response.text
        assert response.json()["data"]["version_data"]["version"] == full
    missing = client.get(f"/packages/{ns}/hello/1.1")
    assert missing.status_code == 404 and missing.json()["code"] == 404
    assert "no version `1.1`" in missing.json()["message"]


def test_double_slash_package_url_answers_without_redirect(
    client: TestClient, session: Session, store: BlobStore, publisher: Publisher
) -> None:
    """fpm with `registry = "https://host/"` asks for `//packages/...`."""
    publish(session, store, publisher, "hello", "1.0.0")
    ns = publisher.namespace.name
    for path in [f"//packages/{ns}/hello", f"//packages/{ns}/hello/1.0.0"]:
        response = client.get(f"http://testserver{path}", follow_redirects=False)
        assert response.status_code == 200, (path, response.text)
        assert "location" not in response.headers
        assert response.json()["data"]["name"] == "hello"
        assert fpm_json_problems(response.content) == []


def test_every_fpm_answer_is_json_fpm_can_parse(
    client: TestClient, session: Session, store: BlobStore, publisher: Publisher
) -> None:
    description = "Lösungen für Gleichungen — naïve ✓ 数値計算"
    ns = publisher.namespace.name
    published = fpm_publish(
        client, publisher.token, described_tarball("hello", "1.0.0", description), version="1.0.0"
    )
    assert published.json()["code"] == 200, published.text
    refused = fpm_publish(client, publisher.token, package_tarball("héllo"), name="héllo")
    too_big = client.post(
        "/packages",
        content=b"x" * 20_000_000,
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    answers = [
        published,
        refused,
        too_big,
        client.get(f"/packages/{ns}/hello"),
        client.get(f"/packages/{ns}/hello"),  # again: possibly served from a cache
        client.get(f"/packages/{ns}/hello/1.0.0"),
        client.get(f"/packages/{ns}/hello/1.0"),
        client.get("/packages", params={"query": "hello"}),
        client.get("/packages", params={"query": "Lösungen"}),
        client.get("/packages", params={"query": "nothing-like-this"}),
        client.get("/packages", params={"page": "not-a-number"}),
        client.get(f"/packages/{ns}/missing"),
        client.get(f"/packages/{ns}/hello/9.9.9"),
        client.get(f"/packages/{ns}/hello/1.0.0-alpha"),
        client.get(f"/tarballs/{ns}/hello/9.9.9.tar.gz"),
        client.get(f"/tarballs/{ns}/hello/1.0.0.zip"),
        client.post("/packages", data={"upload_token": publisher.token}),
    ]
    for response in answers:
        where = f"{response.request.method} {response.request.url}"
        assert response.headers["content-type"].startswith("application/json"), where
        assert fpm_json_problems(response.content) == [], (where, response.content)
        assert response.json()["code"] == response.status_code, where
    assert [r.status_code for r in answers[-7:]] == [400, 404, 404, 400, 404, 404, 400]
    assert "`héllo`".encode() in refused.content

    document = answers[3]
    assert description.encode("utf-8") in document.content
    assert document.json()["data"]["description"] == description
    found = answers[8].json()["packages"]
    assert [p["name"] for p in found] == ["hello"]


def test_download_url_is_a_plain_path_fpm_can_fetch(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    publisher = make_publisher(session, namespace=unique("my-ns_"))
    session.commit()
    name = "hello-fortran_lib"
    result = publish(session, store, publisher, name, "2.0.1")
    ns = publisher.namespace.name
    for path, key in [
        (f"/packages/{ns}/{name}", "latest_version_data"),
        (f"/packages/{ns}/{name}/2.0.1", "version_data"),
    ]:
        url = client.get(path).json()["data"][key]["download_url"]
        assert SAFE_URL_PATH.match(url), url
        download = client.get(url, follow_redirects=False)
        assert download.status_code == 200
        assert hashlib.sha256(download.content).hexdigest() == result.sha256


def test_tarball_is_sent_as_stored_even_when_gzip_is_accepted(
    client: TestClient, session: Session, store: BlobStore, publisher: Publisher
) -> None:
    result = publish(session, store, publisher, "hello", "1.0.0")
    url = client.get(f"/packages/{publisher.namespace.name}/hello").json()["data"][
        "latest_version_data"
    ]["download_url"]
    for accept in ["gzip", "gzip, deflate, br", "identity"]:
        response = client.get(url, headers={"Accept-Encoding": accept})
        assert response.status_code == 200
        assert "content-encoding" not in response.headers
        assert response.content[:2] == b"\x1f\x8b"
        assert len(response.content) == result.size
        assert hashlib.sha256(response.content).hexdigest() == result.sha256
        assert response.headers["X-Checksum-Sha256"] == result.sha256
