"""Helpers for the `fpmreg audit` tests: a live registry, an OSV server, SARIF validation."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema

from tests.client.conftest import Run, fpmreg
from tests.client.pinning import NAMESPACE
from tests.support.live import LiveServer
from tests.support.osv_server import OsvServer

SARIF_SCHEMA = Path(__file__).resolve().parents[1] / "data" / "sarif" / "sarif-schema-2.1.0.json"


@cache
def _sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def valid_sarif(text: str) -> dict[str, Any]:
    """The SARIF log in `text`, after checking it against the official 2.1.0 schema."""
    document = json.loads(text)
    errors = sorted(_sarif_validator().iter_errors(document), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    return document


def audit(project: Path, osv: OsvServer | str, *args: str | Path) -> Run:
    """`fpmreg audit -C PROJECT --osv-url OSV ARGS`."""
    url = osv if isinstance(osv, str) else osv.url
    return fpmreg("audit", "-C", project, "--osv-url", url, *args)


def manage(server: LiveServer, token: str, method: str, path: str, body: dict[str, str]) -> None:
    """A moderation call (`/api/v1/packages/pin/...`) that must succeed."""
    response = httpx.request(
        method,
        f"{server.url}/api/v1/packages/{NAMESPACE}/{path}",
        headers={"Authorization": f"Bearer {token}"},
        json=body,
        timeout=30,
    )
    assert response.status_code == 200, response.text
