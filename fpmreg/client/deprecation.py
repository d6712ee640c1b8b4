"""`fpmreg deprecate`: mark a package deprecated, naming what to use instead.

The API is `PUT /api/v1/packages/{ns}/{name}/deprecation` with `{"message": ...,
"replacement": "ns/name"}`, and `DELETE` on the same URL to undo; the token needs the
`manage` scope.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from fpmreg.client.errors import ClientError, UsageError
from fpmreg.client.registry import TIMEOUT, parse_answer, refusal, request_headers
from fpmreg.core.names import NAME_PATTERN
from fpmreg.core.wire.moderation import DeprecationRequest, DeprecationState

_SPEC = re.compile(r"^(?P<namespace>[^/@\s]+)/(?P<name>[^/@\s]+)$")


@dataclass(frozen=True)
class PackageRef:
    """`namespace/name` as the user wrote it."""

    namespace: str
    name: str

    @property
    def label(self) -> str:
        """`` `namespace/name` ``."""
        return f"`{self.namespace}/{self.name}`"


def parse_package(text: str, what: str = "package") -> PackageRef:
    """`NS/NAME`, or a `UsageError` showing the expected shape."""
    match = _SPEC.fullmatch(text.strip())
    if match is None:
        raise UsageError(f"`{text}` is not `NAMESPACE/NAME`, e.g. `acme/trilib` ({what})")
    for part in (match["namespace"], match["name"]):
        if not NAME_PATTERN.fullmatch(part):
            raise UsageError(f"`{part}` is not a valid name ({what} `{text}`)")
    return PackageRef(match["namespace"], match["name"])


def set_deprecation(
    registry: str, token: str, target: PackageRef, *, message: str | None, replacement: str = ""
) -> DeprecationState:
    """Deprecate (PUT, with `message`) or undeprecate (DELETE, `message=None`)."""
    path = f"/api/v1/packages/{target.namespace}/{target.name}/deprecation"
    body = (
        DeprecationRequest.model_construct(message=message, replacement=replacement).model_dump()
        if message is not None
        else None
    )
    try:
        with httpx.Client(
            base_url=registry, headers=request_headers(token), timeout=TIMEOUT
        ) as client:
            request = client.build_request("PUT" if body else "DELETE", path, json=body)
            response = client.send(request)
    except httpx.TransportError as exc:
        raise ClientError(f"cannot reach the registry at `{registry}`: {exc}") from exc
    if response.status_code != 200:
        raise refusal(response)
    return parse_answer(response, DeprecationState)
