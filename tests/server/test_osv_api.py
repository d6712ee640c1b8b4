"""The OSV API at `/v1` answers in osv.dev's documented shapes (docs/advisories.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.server.accounts.models import User
from fpmreg.server.advisories import osv_api
from fpmreg.server.advisories.models import Advisory
from fpmreg.server.advisories.schema import record_problems
from fpmreg.server.advisories.service import AdvisoriesService
from fpmreg.server.advisories.transfer import import_path
from fpmreg.server.clock import SystemClock
from fpmreg.server.storage import BlobStore
from tests.factories import make_advisory, make_publisher, publish, pypi_record

PREFIX = "FPMREG"


def assert_valid(record: dict[str, Any]) -> None:
    """The record validates against the vendored OSV schema (with the fpm overlay)."""
    assert record_problems(record, PREFIX) == []


@pytest.fixture
def world(session: Session, store: BlobStore, tmp_path: Path) -> dict[str, str]:
    """`ns/lib` 1.0.0, 1.1.0, 1.2.0 with one advisory fixed in 1.2.0; two PyPI records."""
    publisher = make_publisher(session)
    ns = publisher.namespace.name
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        publish(session, store, publisher, "lib", version)
    fixed_id = make_advisory(session, publisher.user, f"{ns}/lib")
    draft_id = make_advisory(session, publisher.user, f"{ns}/lib", published=False)
    dump = tmp_path / "pypi.json"
    dump.write_text(
        json.dumps(
            [
                pypi_record("PYSEC-2024-1", "Jinja2", "2.11.3"),
                pypi_record("GHSA-aaaa-bbbb-cccc", "jinja2", "3.1.4"),
            ]
        )
    )
    report = import_path(session, SystemClock(), dump, PREFIX)
    session.commit()
    assert report.created == ["PYSEC-2024-1", "GHSA-aaaa-bbbb-cccc"]
    return {"ns": ns, "fixed": fixed_id, "draft": draft_id}


def query(client: TestClient, body: Any) -> Any:
    answer = client.post("/v1/query", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_query_by_package_and_version_returns_full_records(
    client: TestClient, world: dict[str, str]
) -> None:
    body = query(
        client, {"package": {"name": f"{world['ns']}/lib", "ecosystem": "fpm"}, "version": "1.1.0"}
    )
    assert [v["id"] for v in body["vulns"]] == [world["fixed"]]
    record = body["vulns"][0]
    assert record["affected"][0]["package"] == {"ecosystem": "fpm", "name": f"{world['ns']}/lib"}
    assert "published" in record
    assert_valid(record)


def test_fixed_version_and_unknown_packages_answer_an_empty_object(
    client: TestClient, world: dict[str, str]
) -> None:
    package = {"name": f"{world['ns']}/lib", "ecosystem": "fpm"}
    assert query(client, {"package": package, "version": "1.2.0"}) == {}
    assert query(client, {"package": {"name": "no/such", "ecosystem": "fpm"}}) == {}


def test_drafts_are_never_served(client: TestClient, world: dict[str, str]) -> None:
    body = query(client, {"package": {"name": f"{world['ns']}/lib", "ecosystem": "fpm"}})
    assert world["draft"] not in [v["id"] for v in body["vulns"]]
    missing = client.get(f"/v1/vulns/{world['draft']}")
    assert missing.status_code == 404
    assert missing.json() == {"code": 5, "message": "Bug not found."}


def test_query_by_purl_and_other_ecosystems_keep_their_ids(
    client: TestClient, world: dict[str, str]
) -> None:
    body = query(client, {"package": {"purl": "pkg:pypi/jinja2@2.11.2"}})
    assert sorted(v["id"] for v in body["vulns"]) == ["GHSA-aaaa-bbbb-cccc", "PYSEC-2024-1"]
    body = query(client, {"package": {"name": "JINJA2", "ecosystem": "PyPI"}, "version": "3.0"})
    assert [v["id"] for v in body["vulns"]] == ["GHSA-aaaa-bbbb-cccc"]
    for record in body["vulns"]:
        assert_valid(record)


def test_vulns_by_id_serves_the_stored_record(client: TestClient, world: dict[str, str]) -> None:
    answer = client.get(f"/v1/vulns/{world['fixed']}")
    assert answer.status_code == 200
    assert answer.json()["id"] == world["fixed"]
    assert_valid(answer.json())
    assert client.get("/v1/vulns/PYSEC-2024-1").json()["aliases"]


def test_querybatch_answers_ids_and_modified_in_query_order(
    client: TestClient, world: dict[str, str]
) -> None:
    queries = [
        {"package": {"name": f"{world['ns']}/lib", "ecosystem": "fpm"}, "version": "1.0.0"},
        {"package": {"name": "nobody/none", "ecosystem": "fpm"}, "version": "1.0.0"},
        {"package": {"purl": "pkg:pypi/jinja2@2.0"}},
    ]
    answer = client.post("/v1/querybatch", json={"queries": queries})
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert len(results) == 3
    assert [v["id"] for v in results[0]["vulns"]] == [world["fixed"]]
    assert set(results[0]["vulns"][0]) == {"id", "modified"}
    assert results[1] == {}
    assert len(results[2]["vulns"]) == 2


def test_querybatch_pages_with_next_page_token(
    client: TestClient, world: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(osv_api, "BATCH_PAGE_SIZE", 1)
    q: dict[str, Any] = {"package": {"name": "jinja2", "ecosystem": "PyPI"}, "version": "1.0"}
    seen = []
    for _ in range(3):
        result = client.post("/v1/querybatch", json={"queries": [q]}).json()["results"][0]
        seen += [v["id"] for v in result.get("vulns", [])]
        if "next_page_token" not in result:
            break
        q = {**q, "page_token": result["next_page_token"]}
    assert sorted(seen) == ["GHSA-aaaa-bbbb-cccc", "PYSEC-2024-1"]
    assert "page_token" in q  # a second page was asked for


def test_query_pages_too(
    client: TestClient, world: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(osv_api, "QUERY_PAGE_SIZE", 1)
    first = query(client, {"package": {"name": "jinja2", "ecosystem": "PyPI"}})
    assert len(first["vulns"]) == 1 and first["next_page_token"]
    second = query(
        client,
        {
            "package": {"name": "jinja2", "ecosystem": "PyPI"},
            "page_token": first["next_page_token"],
        },
    )
    assert len(second["vulns"]) == 1 and "next_page_token" not in second
    assert first["vulns"][0]["id"] != second["vulns"][0]["id"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("not json", "not valid JSON"),
        ([], "JSON object"),
        ({"version": "1.0"}, "package"),
        ({"package": {"name": "x/y"}}, "ecosystem"),
        ({"package": {"ecosystem": "fpm"}}, "name"),
        ({"package": {"name": 3, "ecosystem": "fpm"}}, "strings"),
        ({"package": {"name": "x/y", "ecosystem": "fpm"}, "version": 1}, "string"),
        ({"commit": "6879efc2c1596d11a6a6ad296f80063b558d5e0f"}, "Commit queries"),
        ({"package": {"purl": "pypi/jinja2"}}, "Package URL"),
        ({"package": {"purl": "pkg:pypi/jinja2@1"}, "version": "1"}, "both"),
        ({"package": {"name": "x/y", "ecosystem": "fpm"}, "page_token": "%%%"}, "page token"),
        ({"package": {"name": "x/y", "ecosystem": "fpm"}, "bogus": 1}, "Unknown field"),
    ],
)
def test_malformed_queries_get_osv_errors_with_a_4xx(
    client: TestClient, body: Any, words: str
) -> None:
    raw = body if isinstance(body, str) else json.dumps(body)
    for path, payload in (("/v1/query", raw), ("/v1/querybatch", f'{{"queries": [{raw}]}}')):
        answer = client.post(path, content=payload, headers={"content-type": "application/json"})
        assert answer.status_code == 400, (path, answer.text)
        error = answer.json()
        assert set(error) == {"code", "message"}
        assert error["code"] == 3
        assert words in error["message"]


def test_querybatch_refuses_more_than_a_thousand_queries(client: TestClient) -> None:
    queries = [{"package": {"name": "a/b", "ecosystem": "fpm"}}] * 1001
    answer = client.post("/v1/querybatch", json={"queries": queries})
    assert answer.status_code == 400
    assert answer.json()["code"] == 3
    assert "at most 1000" in answer.json()["message"]


def test_withdrawn_advisory_is_served_marked_and_affects_nothing(
    client: TestClient, session: Session, world: dict[str, str]
) -> None:
    advisory = session.scalar(select(Advisory).where(Advisory.osv_id == world["fixed"]))
    assert advisory is not None
    author = session.get(User, advisory.created_by_id)
    AdvisoriesService(session, SystemClock()).withdraw(author, world["fixed"], "not a bug")
    session.commit()
    package = {"name": f"{world['ns']}/lib", "ecosystem": "fpm"}
    assert query(client, {"package": package, "version": "1.0.0"}) == {}
    record = client.get(f"/v1/vulns/{world['fixed']}").json()
    assert record["withdrawn"]
    assert_valid(record)
