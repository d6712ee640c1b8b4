"""`fpmreg expectations`: read or declare a package's expectations (docs/expectations.md).

`GET /api/v1/packages/{ns}/{name}/expectations` reads them (public); `PUT` on the same
URL declares them with a token of the `manage` scope. A `PUT` replaces every field, so
the client starts from what is declared and changes only what was asked.
"""

from __future__ import annotations

import httpx

from fpmreg.client.deprecation import PackageRef
from fpmreg.client.errors import ClientError, UsageError
from fpmreg.client.registry import TIMEOUT, parse_answer, refusal, request_headers
from fpmreg.core.expectations import RESPONSES, STATUSES
from fpmreg.core.wire.expectations import Expectations, ExpectationsState


def _path(target: PackageRef) -> str:
    return f"/api/v1/packages/{target.namespace}/{target.name}/expectations"


def _send(
    registry: str, target: PackageRef, token: str | None, body: dict[str, str] | None
) -> ExpectationsState:
    try:
        with httpx.Client(
            base_url=registry, headers=request_headers(token), timeout=TIMEOUT
        ) as client:
            method = "PUT" if body is not None else "GET"
            response = client.request(method, _path(target), json=body)
    except httpx.TransportError as exc:
        raise ClientError(f"cannot reach the registry at `{registry}`: {exc}") from exc
    if response.status_code != 200:
        raise refusal(response)
    return parse_answer(response, ExpectationsState)


def read_expectations(registry: str, target: PackageRef) -> ExpectationsState:
    """What the package's owners declared."""
    return _send(registry, target, None, None)


def merged_request(current: Expectations | None, changes: dict[str, str | None]) -> dict[str, str]:
    """The full declaration (an `ExpectationsRequest`'s fields): `changes` (the options
    given) over what is declared."""
    base = {
        "status": current.status if current else "",
        "response": current.response if current else "",
        "contact": current.contact if current else "",
        "supported": current.supported if current else "",
        "note": current.note if current else "",
    }
    base.update({k: v for k, v in changes.items() if v is not None})
    missing = [f"--{k}" for k in ("status", "response") if not base[k]]
    if missing:
        raise UsageError(
            "nothing is declared yet: give "
            + " and ".join(missing)
            + f" (status: {', '.join(STATUSES)}; response: {', '.join(RESPONSES)})"
        )
    return base


def declare_expectations(
    registry: str, token: str, target: PackageRef, changes: dict[str, str | None]
) -> ExpectationsState:
    """Change the fields in `changes` (None: keep), keeping the others."""
    current = read_expectations(registry, target).expectations
    return _send(registry, target, token, merged_request(current, changes))
