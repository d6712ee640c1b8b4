"""The registry's JSON API (`/api/v1`, `docs/api-design.md`) as the client uses it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ValidationError

from fpmreg import __version__
from fpmreg.client.errors import ClientError, RegistryRefused
from fpmreg.core.problem import Problem, Severity
from fpmreg.core.wire.errors import ErrorEnvelope
from fpmreg.core.wire.packages import PublishResult

# Uploads are at most a few MB; a slow link still finishes, a dead one fails in time.
TIMEOUT = httpx.Timeout(120.0, connect=15.0)
USER_AGENT = f"fpmreg/{__version__}"
# Mirrors announce themselves, so registries can show their downloads apart.
MIRROR_AGENT = USER_AGENT.replace("fpmreg/", "fpmreg-mirror/", 1)
CI_HEADER = "X-Fpmreg-CI"
_FALSE = {"", "0", "false", "no", "off"}


@dataclass(frozen=True)
class PublishAnswer:
    """What the registry stored (or, for a dry run, would store)."""

    namespace: str
    name: str
    version: str
    sha256: str
    dry_run: bool
    url: str
    warnings: list[Problem]


def in_ci() -> bool:
    """Whether env `CI` is set to a truthy value, as CI services set it."""
    return os.environ.get("CI", "").strip().lower() not in _FALSE


def request_headers(token: str | None = None, agent: str = USER_AGENT) -> dict[str, str]:
    """The headers of every request: who is calling, from CI or not, and the token."""
    headers = {"User-Agent": agent}
    if in_ci():
        headers[CI_HEADER] = "1"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def is_plain_http_to_remote(registry: str) -> bool:
    """Whether a token would cross the network unencrypted (loopback is fine)."""
    parts = urlsplit(registry)
    return parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1")


Model = TypeVar("Model", bound=BaseModel)


def parse_answer(response: httpx.Response, model: type[Model]) -> Model:
    """The answer's body read as `model` (`fpmreg.core.wire`), or a `ClientError` saying
    which part is not what the registry's API documents."""
    where = f"`{response.request.method} {response.request.url.path}`"
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise ClientError(
                f"the registry's answer to {where} is not JSON: is this an fpmreg registry?"
            ) from exc
        key = ".".join(str(part) for part in first["loc"]) or "the body"
        raise ClientError(
            f"the registry's answer to {where} is malformed (`{key}`: {first['msg']}): "
            "is this an fpmreg registry, and is `fpmreg` up to date?"
        ) from exc


def _problems(response: httpx.Response) -> list[Problem]:
    try:
        envelope = ErrorEnvelope.model_validate_json(response.content)
    except ValidationError:
        return []  # not the registry's envelope: `refusal` says so
    return [error.problem() for error in envelope.errors]


def refusal(response: httpx.Response) -> ClientError:
    """The error for an answer that is not a success: the registry's problems if it
    sent its envelope, else a message saying what to check."""
    if response.is_redirect:
        return ClientError(
            f"the registry answered with a redirect to `{response.headers.get('Location')}`: "
            "use that address as `--registry`"
        )
    problems = _problems(response)
    if response.status_code == 429 and "Retry-After" in response.headers:
        retry = f" (try again in {response.headers['Retry-After']} s)"
        problems = [Problem(p.code, p.field, p.message + retry, p.severity) for p in problems] or [
            Problem("rate-limited", "", f"too many requests{retry}")
        ]
    if not problems:
        return ClientError(
            f"the registry answered HTTP {response.status_code} without saying why: "
            "check the registry URL, or try again later"
        )
    return RegistryRefused(response.status_code, problems)


def _answer(result: PublishResult) -> PublishAnswer:
    return PublishAnswer(
        namespace=result.namespace,
        name=result.name,
        version=result.version,
        sha256=result.sha256,
        dry_run=result.dry_run,
        url=result.url,
        warnings=[warning.problem(Severity.WARNING) for warning in result.warnings],
    )


def publish(
    registry: str, token: str, data: bytes, filename: str, *, dry_run: bool
) -> PublishAnswer:
    """POST the tarball to `/api/v1/packages`; the token decides the namespace."""
    try:
        with httpx.Client(
            base_url=registry, headers=request_headers(token), timeout=TIMEOUT
        ) as client:
            response = client.post(
                "/api/v1/packages",
                files={"tarball": (filename, data, "application/gzip")},
                data={"dry_run": "true" if dry_run else "false"},
            )
    except httpx.TransportError as exc:
        # The message names the registry and the failure, never the request's headers.
        raise ClientError(f"cannot reach the registry at `{registry}`: {exc}") from exc
    if response.status_code not in (200, 201):
        raise refusal(response)
    return _answer(parse_answer(response, PublishResult))
