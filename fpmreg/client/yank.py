"""`fpmreg yank`: mark a published version as not to be used for new resolutions.

A yanked version stays downloadable by its exact version, so existing `fpm.lock` files
keep working (`fpmreg lock` keeps it, with a warning, until `--update`). The API is
`PUT /api/v1/packages/{ns}/{name}/versions/{v}/yank` with `{"reason": ...}`, and
`DELETE` on the same URL to undo; the token needs the `yank` scope.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from fpmreg.client.errors import RegistryUnreachable, UsageError
from fpmreg.client.registry import TIMEOUT, parse_answer, refusal, request_headers
from fpmreg.core.names import NAME_PATTERN
from fpmreg.core.versions import InvalidVersion, Version
from fpmreg.core.wire.index import YankRequest, YankState

_SPEC = re.compile(r"^(?P<namespace>[^/@\s]+)/(?P<name>[^/@\s]+)@(?P<version>[^/@\s]+)$")


@dataclass(frozen=True)
class Target:
    """`namespace/name@version`, as the user wrote it (version normalized)."""

    namespace: str
    name: str
    version: str

    @property
    def label(self) -> str:
        """`` `namespace/name` X.Y.Z ``."""
        return f"`{self.namespace}/{self.name}` {self.version}"


def parse_target(text: str) -> Target:
    """`NS/NAME@VERSION`, or a `UsageError` showing the expected shape."""
    match = _SPEC.fullmatch(text.strip())
    if match is None:
        raise UsageError(f"`{text}` is not `NAMESPACE/NAME@VERSION`, e.g. `acme/trilib@1.2.0`")
    namespace, name = match["namespace"], match["name"]
    for part, what in ((namespace, "namespace"), (name, "name")):
        if not NAME_PATTERN.fullmatch(part):
            raise UsageError(f"`{part}` is not a valid package {what}")
    try:
        version = str(Version.parse(match["version"]))
    except InvalidVersion as exc:
        raise UsageError(str(exc)) from exc
    return Target(namespace, name, version)


@dataclass(frozen=True)
class YankAnswer:
    """The version's state after the request."""

    version: str
    yanked: bool
    reason: str


def set_yanked(registry: str, token: str, target: Target, *, yank: bool, reason: str) -> YankAnswer:
    """Yank (PUT) or unyank (DELETE) `target`; the registry's refusal is raised."""
    path = f"/api/v1/packages/{target.namespace}/{target.name}/versions/{target.version}/yank"
    try:
        with httpx.Client(
            base_url=registry, headers=request_headers(token), timeout=TIMEOUT
        ) as client:
            request = client.build_request(
                "PUT" if yank else "DELETE",
                path,
                # Not validated here: the registry says what is wrong with a reason.
                json=YankRequest.model_construct(reason=reason).model_dump() if yank else None,
            )
            response = client.send(request)
    except httpx.TransportError as exc:
        raise RegistryUnreachable(registry, str(exc) or type(exc).__name__) from exc
    if response.status_code != 200:
        raise refusal(response)
    state = parse_answer(response, YankState)
    return YankAnswer(state.version, state.yanked, state.yank_reason)
