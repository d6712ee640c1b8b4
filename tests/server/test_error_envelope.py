"""One error envelope per part of the site, written in one place, with honest headers."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fpmreg.core.wire.errors import ErrorEnvelope, FpmMessage
from fpmreg.server.accounts.models import Scope
from tests.factories import make_publisher


def test_a_wrong_method_lists_every_allowed_method_in_allow(client: TestClient) -> None:
    cases = {
        "/packages": "GET, POST",  # search and fpm's publish are two routes
        "/api/v1/packages": "GET, POST",
        "/api/v1/packages/demo/hello/versions/1.0.0/yank": "DELETE, PUT",
        "/tarballs/demo/hello/1.0.0.tar.gz": "GET, HEAD",
        "/api/v1/checks": "GET",
    }
    for path, allow in cases.items():
        response = client.request("TRACE", path)
        assert response.status_code == 405, path
        assert response.headers["allow"] == allow, path
    assert FpmMessage.model_validate_json(client.request("PATCH", "/packages").content).code == 405
    api = ErrorEnvelope.model_validate_json(client.request("PATCH", "/api/v1/checks").content)
    assert api.errors[0].code == "method-not-allowed"


def test_a_day_must_be_written_as_a_date_not_a_number(client: TestClient) -> None:
    # pydantic alone reads `0` as a Unix time: 1970-01-01.
    response = client.get("/api/v1/stats/downloads", params={"to": "0"})
    assert response.status_code == 422
    envelope = ErrorEnvelope.model_validate_json(response.content)
    assert envelope.errors[0].field == "to"
    ok = client.get("/api/v1/stats/downloads", params={"from": "2026-01-01", "to": "2026-01-31"})
    assert ok.status_code == 200 and ok.json()["to"] == "2026-01-31"


def test_an_unreadable_form_is_a_400_in_the_api_envelope(
    client: TestClient, session: Session
) -> None:
    publisher = make_publisher(session, scopes={Scope.PUBLISH})
    session.commit()
    response = client.post(
        "/api/v1/packages",
        content=b"--x\r\nnot a part\r\n--x--\r\n",
        headers={
            "Content-Type": "multipart/form-data; boundary=x",
            "Authorization": f"Bearer {publisher.token}",
        },
    )
    assert response.status_code == 400
    problem = ErrorEnvelope.model_validate_json(response.content).errors[0]
    assert problem.code == "request-invalid"
    assert "Invalid multipart data" in problem.detail
