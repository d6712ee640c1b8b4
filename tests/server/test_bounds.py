"""Search bounds: page numbers, cursors and queries past their limits are a 400 in the
envelope of the part of the site asked (fpm, JSON API, HTML), never a 500 or an echo."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fpmreg.core.wire import MAX_ROW_ID
from fpmreg.core.wire.errors import ErrorEnvelope, FpmMessage
from fpmreg.server.accounts.models import Scope
from fpmreg.server.packages.schemas import MAX_CURSOR_LENGTH, MAX_SEARCH_PAGE
from fpmreg.server.packages.service import MAX_QUERY_LENGTH
from tests.factories import make_publisher

HUGE = str(10**20)  # past SQLite's 64-bit integers once multiplied by the page size


def cursor(page: str) -> str:
    return base64.urlsafe_b64encode(page.encode()).decode()


def api_codes(response: object) -> list[str]:
    envelope = ErrorEnvelope.model_validate_json(response.content)  # type: ignore[attr-defined]
    return [e.code for e in envelope.errors]


def test_a_huge_page_on_the_fpm_search_is_a_400_in_fpms_envelope(client: TestClient) -> None:
    response = client.get("/packages", params={"query": "x", "page": HUGE})
    assert response.status_code == 400
    message = FpmMessage.model_validate_json(response.content)
    assert message.code == 400
    assert f"pages go from 1 to {MAX_SEARCH_PAGE}" in message.message


def test_a_cursor_for_a_huge_page_is_a_400_in_the_api_envelope(client: TestClient) -> None:
    for page in (HUGE, str(MAX_SEARCH_PAGE + 1), "0", "-1"):
        response = client.get("/api/v1/packages", params={"cursor": cursor(page)})
        assert response.status_code == 400, page
        assert api_codes(response) == ["cursor-invalid"]
    long = client.get("/api/v1/packages", params={"cursor": "A" * (MAX_CURSOR_LENGTH + 4)})
    assert long.status_code == 400


def test_pages_past_the_limit_are_refused_on_the_fpm_search_and_the_search_page(
    client: TestClient,
) -> None:
    for page in (str(MAX_SEARCH_PAGE + 1), "0", HUGE):
        fpm = client.get("/packages", params={"page": page})
        assert fpm.status_code == 400 and fpm.json()["code"] == 400, page
        html = client.get("/search", params={"q": "x", "page": page})
        assert html.status_code == 400, page
        assert html.headers["content-type"].startswith("text/html")
        assert f"pages go from 1 to {MAX_SEARCH_PAGE}" in html.text
    # The last page allowed still answers, empty past the results.
    fpm = client.get("/packages", params={"page": MAX_SEARCH_PAGE})
    assert fpm.status_code == 200 and fpm.json()["packages"] == []
    api = client.get("/api/v1/packages", params={"cursor": cursor(str(MAX_SEARCH_PAGE))})
    assert api.status_code == 200 and "next_cursor" not in api.json()
    assert client.get("/search", params={"page": MAX_SEARCH_PAGE}).status_code == 200


def test_a_query_over_the_limit_is_refused_in_each_envelope(client: TestClient) -> None:
    long = "x" * (MAX_QUERY_LENGTH + 1)
    api = client.get("/api/v1/packages", params={"q": long})
    assert api.status_code == 400 and api_codes(api) == ["query-too-long"]
    fpm = client.get("/packages", params={"query": long})
    assert fpm.status_code == 400
    assert f"at most {MAX_QUERY_LENGTH}" in FpmMessage.model_validate_json(fpm.content).message
    html = client.get("/search", params={"q": long})
    assert html.status_code == 400 and f"at most {MAX_QUERY_LENGTH}" in html.text
    exact = "x" * MAX_QUERY_LENGTH
    assert client.get("/api/v1/packages", params={"q": exact}).status_code == 200


def test_a_65_kb_query_is_not_echoed_into_the_search_page(client: TestClient) -> None:
    query = "needle" * 10_800  # 65 KB, near the longest URL httpx sends
    response = client.get("/search", params={"q": query})
    assert response.status_code == 400
    assert "needleneedle" not in response.text
    assert len(response.content) < 20_000


def test_the_limits_are_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]

    def schema(path: str, name: str) -> dict[str, object]:
        params = paths[path]["get"]["parameters"]
        found: dict[str, object] = next(p["schema"] for p in params if p["name"] == name)
        return found

    assert schema("/api/v1/packages", "q")["maxLength"] == MAX_QUERY_LENGTH
    assert schema("/api/v1/packages", "cursor")["maxLength"] == MAX_CURSOR_LENGTH
    assert schema("/packages", "query")["maxLength"] == MAX_QUERY_LENGTH
    assert schema("/packages", "page")["maximum"] == MAX_SEARCH_PAGE
    assert schema("/packages", "page")["minimum"] == 1


def test_a_search_with_a_nul_byte_finds_nothing_on_every_route(client: TestClient) -> None:
    # PostgreSQL refuses NUL in text: the registry answers "no match" instead of a 500.
    fpm = client.get("/packages", params={"query": "a\x00b", "namespace": "n\x00"})
    assert fpm.status_code == 200 and fpm.json()["packages"] == []
    api = client.get("/api/v1/packages", params={"q": "a\x00b"})
    assert api.status_code == 200 and api.json()["packages"] == []
    page = client.get("/search", params={"q": "a\x00b"})
    assert page.status_code == 200


def test_ids_past_a_database_integer_are_a_422_or_a_404_never_a_500(
    client: TestClient, session: Session
) -> None:
    # PostgreSQL's `integer` stops at 2**31 - 1: a larger id must not reach the query.
    pub = make_publisher(session, scopes=set(Scope))
    session.commit()
    auth = {"Authorization": f"Bearer {pub.token}"}
    too_big = MAX_ROW_ID + 1
    api_calls = [
        ("DELETE", f"/api/v1/tokens/{too_big}", None),
        ("POST", "/api/v1/notifications/read", {"ids": [too_big]}),
        ("POST", f"/api/v1/transfers/{too_big}/accept", None),
        ("GET", f"/api/v1/moderation/reports/{too_big}", None),
    ]
    for method, path, body in api_calls:
        answer = client.request(method, path, headers=auth, json=body)
        assert answer.status_code == 422, (path, answer.text)
        assert "less than or equal to" in answer.text
    # The largest id allowed is looked up and simply not found.
    at_limit = client.delete(f"/api/v1/tokens/{MAX_ROW_ID}", headers=auth)
    assert at_limit.status_code == 404, at_limit.text
    page = client.get(f"/moderation/reports/{too_big}")
    assert page.status_code in (400, 404) and page.headers["content-type"].startswith("text/html")
