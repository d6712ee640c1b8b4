"""The OpenAPI document: a committed snapshot, and what every operation must declare.

An API change is deliberate: the snapshot test fails until the new document is
committed. Regenerate it with `make snapshots` (which runs this file with
`UPDATE_SNAPSHOTS=1`) and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from fpmreg.server.http import API_PREFIX

SNAPSHOT = Path(__file__).parent / "snapshots" / "openapi.json"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS", "") == "1"
ENVELOPE = "#/components/schemas/ErrorEnvelope"
FPM_ENVELOPE = "#/components/schemas/FpmMessage"
METHODS = ("get", "put", "post", "delete", "patch", "head")


def document(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_the_openapi_document_matches_the_committed_snapshot(client: TestClient) -> None:
    live = json.dumps(document(client), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if UPDATE:
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(live, encoding="utf-8")
    committed = SNAPSHOT.read_text(encoding="utf-8") if SNAPSHOT.exists() else ""
    assert committed == live, (
        "the API changed: if that is deliberate, run `make snapshots`, review the diff of "
        "tests/server/snapshots/openapi.json and commit it"
    )


def test_every_error_answer_is_documented_with_its_envelope(client: TestClient) -> None:
    doc = document(client)
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, method, operation in operations(doc):
        expected = ENVELOPE if path.startswith(API_PREFIX) else FPM_ENVELOPE
        errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
        if operation.get("parameters") or "requestBody" in operation:
            assert errors, f"{method.upper()} {path} documents no error answer"
        for status, answer in errors.items():
            schema = answer["content"]["application/json"]["schema"]
            assert schema == {"$ref": expected}, (method, path, status)
        if not path.startswith(API_PREFIX):
            assert "422" not in errors, f"{method.upper()} {path}: fpm routes answer 400"


def test_every_success_answer_has_a_typed_body(client: TestClient) -> None:
    doc = document(client)
    for path, method, operation in operations(doc):
        ok = operation["responses"][
            next(s for s in ("200", "201", "202") if s in operation["responses"])
        ]
        for media_type, content in ok["content"].items():
            schema = content["schema"]
            if media_type == "application/json":
                assert "$ref" in schema, f"{method.upper()} {path} answers an untyped object"
            elif media_type.split(";")[0].endswith(
                "+json"
            ):  # JSON-LD: CodeMeta is typed, credentials are
                # signed documents of their own vocabularies (docs/credentials.md)
                assert "$ref" in schema or schema["type"] == "object", (method, path, media_type)
            else:
                assert schema["type"] == "string", (method, path, media_type)


def test_files_are_documented_with_their_media_types(client: TestClient) -> None:
    paths = document(client)["paths"]
    tarball = paths["/tarballs/{namespace}/{name}/{filename}"]["get"]["responses"]["200"]
    assert set(tarball["content"]) == {"application/gzip"}
    download = paths["/api/v1/packages/{namespace}/{name}/versions/{version}/download"]
    assert set(download["get"]["responses"]["200"]["content"]) == {"application/gzip"}
    csv = paths["/api/v1/packages/{namespace}/{name}/downloads"]["get"]["responses"]["200"]
    assert set(csv["content"]) == {"application/json", "text/csv"}


def test_operations_that_take_a_token_declare_the_bearer_scheme(client: TestClient) -> None:
    doc = document(client)
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "fpmreg_…",
        "description": "An API token made on `/account` (`Authorization: Bearer fpmreg_…`).",
    }
    secured = {(method, path) for path, method, op in operations(doc) if op.get("security")}
    assert secured == {
        ("post", "/api/v1/packages"),
        ("put", "/api/v1/packages/{namespace}/{name}/versions/{version}/yank"),
        ("delete", "/api/v1/packages/{namespace}/{name}/versions/{version}/yank"),
        ("get", "/api/v1/notifications"),  # a token, or the session (moderation/notices_api)
        ("post", "/api/v1/notifications/read"),
        ("get", "/api/v1/packages/{namespace}/{name}/events"),
        ("get", "/api/v1/moderation/events"),
        # moderation states (the `states` helper)
        ("delete", "/api/v1/packages/{namespace}/{name}"),
        ("get", "/api/v1/whoami"),
        ("get", "/api/v1/tokens"),
        ("post", "/api/v1/tokens"),
        ("delete", "/api/v1/tokens/{token_id}"),
        ("put", "/api/v1/namespaces/{namespace}/members/{username}"),
        ("delete", "/api/v1/namespaces/{namespace}/members/{username}"),
        ("put", "/api/v1/packages/{namespace}/{name}/maintainers/{username}"),
        ("delete", "/api/v1/packages/{namespace}/{name}/maintainers/{username}"),
        ("post", "/api/v1/packages/{namespace}/{name}/transfers"),
        ("post", "/api/v1/transfers/{transfer_id}/accept"),
        ("post", "/api/v1/transfers/{transfer_id}/cancel"),
        ("put", "/api/v1/packages/{namespace}/{name}/deprecation"),
        ("delete", "/api/v1/packages/{namespace}/{name}/deprecation"),
        ("put", "/api/v1/packages/{namespace}/{name}/expectations"),  # docs/expectations.md
        ("put", "/api/v1/packages/{namespace}/{name}/quarantine"),
        ("delete", "/api/v1/packages/{namespace}/{name}/quarantine"),
        ("delete", "/api/v1/packages/{namespace}/{name}/versions/{version}"),
        # reports and the queue (any scope, or the session)
        ("post", "/api/v1/packages/{namespace}/{name}/reports"),
        ("get", "/api/v1/moderation/reports"),
        ("get", "/api/v1/moderation/reports/{report_id}"),
        ("post", "/api/v1/moderation/reports/{report_id}/claim"),
        ("post", "/api/v1/moderation/reports/{report_id}/decision"),
        # advisories (issue 12)
        ("post", "/api/v1/advisories"),
        ("get", "/api/v1/advisories/{osv_id}"),  # optional: drafts need a token
        ("put", "/api/v1/advisories/{osv_id}"),
        ("post", "/api/v1/advisories/{osv_id}/publish"),
        ("post", "/api/v1/advisories/{osv_id}/withdraw"),
        # communities (docs/communities.md)
        ("post", "/api/v1/communities"),
        ("put", "/api/v1/communities/{community}/members"),
        ("put", "/api/v1/communities/{community}/rules"),
        ("put", "/api/v1/communities/{community}/criteria/{slug}"),
        ("put", "/api/v1/communities/{community}/guidance/{slug}"),
        ("put", "/api/v1/communities/{community}/policies/{slug}"),
        ("post", "/api/v1/communities/{community}/audits"),
        ("post", "/api/v1/communities/{community}/audits/{audit_id}/decision"),
        ("post", "/api/v1/communities/{community}/audits/{audit_id}/revoke"),
        ("put", "/api/v1/communities/{community}/trust"),
        # organisations (docs/organisations.md)
        ("post", "/api/v1/organisations"),
        ("put", "/api/v1/organisations/{org}/members"),
        ("post", "/api/v1/organisations/{org}/endorsements"),
        ("post", "/api/v1/organisations/{org}/endorsements/{endorsement}/revoke"),
        ("post", "/api/v1/submissions"),
        ("get", "/api/v1/submissions"),
        ("get", "/api/v1/submissions/{submission_id}"),
    }
    for path, method, operation in operations(doc):
        names = {p["name"].lower() for p in operation.get("parameters", [])}
        assert "authorization" not in names, f"{method.upper()} {path}: use the scheme"


def test_the_multipart_publish_forms_are_documented(client: TestClient) -> None:
    paths = document(client)["paths"]
    fpm = paths["/packages"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert {"tarball", "upload_token", "package_name"} <= set(fpm["schema"]["properties"])
    api = paths["/api/v1/packages"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in api
