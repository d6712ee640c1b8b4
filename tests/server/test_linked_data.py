"""Linked data: the package page's schema.org JSON-LD and the CodeMeta 3.0 document, read
back with pyld over the vendored contexts only (nothing is fetched)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyld import jsonld
from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.server.linked.codemeta import _people, license_urls, script_json
from fpmreg.server.linked.jsonld import UnknownContext, load_document
from fpmreg.server.packages.models import Version
from fpmreg.server.storage import BlobStore
from tests.factories import Publisher, make_publisher, publish

SCHEMA = "http://schema.org/"  # the IRI base both vendored contexts expand to
CODEMETA = "https://codemeta.github.io/terms/"
REPOSITORY = "https://github.com/example/hello"
SCRIPT = re.compile(r'<script type="application/ld\+json" id="package-jsonld">(.*?)</script>', re.S)


@pytest.fixture
def hello(session: Session, store: BlobStore) -> Publisher:
    publisher = make_publisher(session)
    dep = make_publisher(session)
    publish(session, store, dep, "json", "1.0.0")
    extra = (
        f'[extra]\nrepository = "{REPOSITORY}"\n'
        f'[dependencies]\njson = {{ namespace = "{dep.namespace.name}", v = "1.0.0" }}\n'
    )
    publish(session, store, publisher, "hello", "1.2.0", license="Apache-2.0 OR MIT",
            extra_manifest=extra)  # fmt: skip
    return publisher


def expand(document: dict[str, Any]) -> dict[str, Any]:
    expanded = jsonld.expand(document, {"documentLoader": load_document})
    assert len(expanded) == 1
    node: dict[str, Any] = expanded[0]
    return node


def values(node: dict[str, Any], iri: str) -> list[str]:
    return [v.get("@value", v.get("@id")) for v in node.get(iri, [])]


def test_the_package_page_carries_schema_org_json_ld(client: TestClient, hello: Publisher) -> None:
    ns = hello.namespace.name
    page = client.get(f"/project/{ns}/hello")
    found = SCRIPT.search(page.text)
    assert found is not None
    node = expand(json.loads(found.group(1)))

    assert node["@type"] == [SCHEMA + "SoftwareSourceCode"]
    assert node["@id"] == f"http://testserver/project/{ns}/hello/1.2.0"
    assert values(node, SCHEMA + "name") == [f"{ns}/hello"]
    assert values(node, SCHEMA + "version") == ["1.2.0"]
    assert sorted(values(node, SCHEMA + "license")) == [
        "https://spdx.org/licenses/Apache-2.0",
        "https://spdx.org/licenses/MIT",
    ]
    assert values(node, SCHEMA + "codeRepository") == [REPOSITORY]
    assert values(node, SCHEMA + "programmingLanguage") == ["Fortran"]
    assert values(node, SCHEMA + "dateModified")[0][:4].isdigit()
    author = node[SCHEMA + "author"][0]
    assert author["@type"] == [SCHEMA + "Person"]
    assert values(author, SCHEMA + "name") == ["A. Fortran"]


def test_codemeta_names_the_release_its_licence_and_repository(
    client: TestClient, hello: Publisher
) -> None:
    ns = hello.namespace.name
    answer = client.get(f"/api/v1/packages/{ns}/hello/codemeta.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/ld+json"
    document = answer.json()
    assert document["@context"] == "https://w3id.org/codemeta/3.0"
    node = expand(document)

    assert node["@type"] == [SCHEMA + "SoftwareSourceCode"]
    assert values(node, SCHEMA + "name") == [f"{ns}/hello"]
    assert values(node, SCHEMA + "version") == ["1.2.0"]
    assert values(node, SCHEMA + "identifier") == [f"pkg:fpm/{ns}/hello@1.2.0"]
    assert sorted(values(node, SCHEMA + "license")) == [
        "https://spdx.org/licenses/Apache-2.0",
        "https://spdx.org/licenses/MIT",
    ]
    assert values(node, SCHEMA + "codeRepository") == [REPOSITORY]
    requirement = values(node, SCHEMA + "softwareRequirements")
    assert len(requirement) == 1 and requirement[0].endswith("/json")
    authors = node[SCHEMA + "author"][0]["@list"]  # CodeMeta keeps authors in order
    assert values(authors[0], SCHEMA + "name") == ["A. Fortran"]

    again = client.get(answer.url, headers={"If-None-Match": answer.headers["etag"]})
    assert again.status_code == 304


def test_codemeta_of_an_older_or_unknown_version(client: TestClient, hello: Publisher) -> None:
    ns = hello.namespace.name
    assert (
        client.get(f"/api/v1/packages/{ns}/hello/codemeta.json?version=1.2").json()["version"]
        == "1.2.0"
    )
    missing = client.get(f"/api/v1/packages/{ns}/hello/codemeta.json?version=9.0.0")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "version-not-found"
    bad = client.get(f"/api/v1/packages/{ns}/hello/codemeta.json?version=x")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["code"] == "version-invalid"


def test_json_ld_in_the_page_cannot_close_its_script_element(
    client: TestClient, session: Session, hello: Publisher
) -> None:
    hostile = 'x</script><script>alert(1)</script><!-- & "'
    row = session.scalar(select(Version).where(Version.version == "1.2.0"))
    assert row is not None
    row.description = hostile
    session.commit()

    page = client.get(f"/project/{hello.namespace.name}/hello").text
    found = SCRIPT.search(page)
    assert found is not None
    assert "<" not in found.group(1) and ">" not in found.group(1)
    assert "<script>alert(1)" not in page
    assert json.loads(found.group(1))["description"] == hostile


def test_script_json_escapes_every_markup_character() -> None:
    text = script_json({"a": "</script>&\u2028"})
    assert text == '{"a":"\\u003c/script\\u003e\\u0026\\u2028"}'
    assert json.loads(text) == {"a": "</script>&\u2028"}


def test_people_lose_their_addresses() -> None:
    assert _people("Ada <ada@example.org>, Bob and carl@example.org", "@type") == [
        {"@type": "Person", "name": "Ada"},
        {"@type": "Person", "name": "Bob"},
    ]


def test_licences_become_spdx_urls() -> None:
    assert license_urls("GPL-3.0-or-later WITH GCC-exception-3.1") == [
        "https://spdx.org/licenses/GPL-3.0-or-later",
        "https://spdx.org/licenses/GCC-exception-3.1",
    ]
    assert license_urls("LicenseRef-mine") == []


def test_no_context_is_ever_fetched() -> None:
    with pytest.raises(jsonld.JsonLdError) as raised:
        jsonld.expand(
            {"@context": "https://example.org/ctx", "name": "x"},
            {"documentLoader": load_document},
        )
    assert isinstance(raised.value.cause, UnknownContext) or "not vendored" in str(raised.value)
