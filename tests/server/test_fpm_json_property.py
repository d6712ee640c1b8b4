"""Whatever a package's metadata says, fpm can parse the registry's answers about it."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from fpmreg.core.checks import UploadForm
from fpmreg.core.fpmjson import fpm_json_problems
from fpmreg.core.manifest import CONTROL_CHARACTER
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.clock import SystemClock
from fpmreg.server.errors import InvalidInput
from fpmreg.server.packages.service import PackagesService
from fpmreg.server.storage import BlobStore
from tests.factories import make_publisher, unique
from tests.support.tarballs import library_source, tarball

toml_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


def _toml_string(value: str) -> str:
    escaped = "".join(
        c if c.isprintable() and c not in '"\\' else f"\\U{ord(c):08X}" for c in value
    )
    return f'"{escaped}"'


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(description=toml_text, author=toml_text, keyword=toml_text)
def test_every_fpm_answer_parses_whatever_the_metadata(
    client: TestClient,
    session: Session,
    store: BlobStore,
    description: str,
    author: str,
    keyword: str,
) -> None:
    publisher = make_publisher(session)
    name = unique("uni")
    manifest = (
        f'name = "{name}"\nversion = "1.0.0"\nlicense = "MIT"\n'
        f"description = {_toml_string(description)}\nauthor = {_toml_string(author)}\n"
        f"keywords = [{_toml_string(keyword)}]\n[build]\nmodule-naming = true\n"
    )
    data = tarball({"fpm.toml": manifest, f"src/{name}.f90": library_source(name)})
    service = PackagesService(session, SystemClock(), store)
    accounts = AccountsService(session, SystemClock())
    if any(CONTROL_CHARACTER.search(text) for text in (description, author, keyword)):
        # Refused with a clear problem, never stored (PostgreSQL cannot even hold NUL).
        with pytest.raises(InvalidInput) as refused:
            service.publish_version(
                accounts, io.BytesIO(data), token=publisher.token, form=UploadForm()
            )
        assert {p.code for p in refused.value.problems} == {"manifest-control-character"}
        return
    service.publish_version(accounts, io.BytesIO(data), token=publisher.token, form=UploadForm())
    ns = publisher.namespace.name
    for url in (
        f"/packages/{ns}/{name}",
        f"/packages/{ns}/{name}/1.0",
        f"/packages/{ns}/nope",
        f"/packages?query={name}",
    ):
        body = client.get(url).content
        assert fpm_json_problems(body) == [], (url, body)
    latest = client.get(f"/packages/{ns}/{name}").json()["data"]
    assert latest["description"] == description


def test_openapi_describes_the_public_endpoints(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in (
        "/packages",
        "/packages/{namespace}/{name}",
        "/api/v1/packages",
        "/api/v1/packages/{namespace}/{name}",
        "/tarballs/{namespace}/{name}/{filename}",
    ):
        assert path in paths
