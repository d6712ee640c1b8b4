"""The registry's JSON API (`/api/v1`, `docs/api-design.md`) as the client uses it."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ValidationError

from fpmreg.client import config
from fpmreg.client.environment import USER_AGENT as USER_AGENT
from fpmreg.client.environment import request_headers as request_headers
from fpmreg.client.errors import (
    ClientError,
    RegistryRefused,
    RegistryUnreachable,
    UnexpectedAnswer,
    UsageError,
)
from fpmreg.core.problem import Problem, Severity
from fpmreg.core.wire.errors import ErrorEnvelope
from fpmreg.core.wire.packages import PublishResult

# Uploads are at most a few MB; a slow link still finishes, a dead one fails in time. A
# reachable registry accepts a connection at once: 5 s without one means it is not there
# (docs/cli.md, "Network").
TIMEOUT = httpx.Timeout(120.0, connect=5.0)
# Reads (an index document, a page of search results) are small: 30 s of silence is a
# registry in trouble, better retried than waited for.
READ_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# Idempotent GETs are tried this many times when there is no answer or a 502/503/504,
# waiting RETRY_BASE_DELAY, then twice that, between attempts (docs/cli.md, "Network").
GET_ATTEMPTS = 3
RETRY_BASE_DELAY = 0.5
_RETRIED_STATUSES = frozenset({502, 503, 504})
# Where every fpmreg registry answers, whatever its content: what `looks_like_registry`
# asks when an answer does not make sense (docs/cli.md, "Registry URL").
PROBE_PATH = "/api/v1/checks"
# Mirrors announce themselves, so registries can show their downloads apart.
MIRROR_AGENT = USER_AGENT.replace("fpmreg/", "fpmreg-mirror/", 1)


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
            raise UnexpectedAnswer(
                f"the registry's answer to {where} is not JSON: is this an fpmreg registry?"
            ) from exc
        key = ".".join(str(part) for part in first["loc"]) or "the body"
        raise UnexpectedAnswer(
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
        return UnexpectedAnswer(
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
        return UnexpectedAnswer(
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
        raise RegistryUnreachable(registry, str(exc) or type(exc).__name__) from exc
    if response.status_code not in (200, 201):
        raise refusal(response)
    return _answer(parse_answer(response, PublishResult))


def get(client: httpx.Client, path: str, **kwargs: object) -> httpx.Response:
    """`GET path`, tried GET_ATTEMPTS times while there is no answer or a 502/503/504
    (a GET changes nothing, so repeating it is safe). No answer at the end raises
    `RegistryUnreachable`; the last answer is returned otherwise."""
    base = str(client.base_url).rstrip("/")
    for attempt in range(1, GET_ATTEMPTS + 1):
        try:
            response = client.get(path, **kwargs)  # type: ignore[arg-type]
        except httpx.TransportError as exc:
            if attempt == GET_ATTEMPTS:
                raise RegistryUnreachable(base, str(exc) or type(exc).__name__) from exc
        else:
            if response.status_code not in _RETRIED_STATUSES or attempt == GET_ATTEMPTS:
                return response
        # Between half and all of the doubling delay, so parallel callers spread out.
        time.sleep(RETRY_BASE_DELAY * 2.0 ** (attempt - 1) * random.uniform(0.5, 1.0))  # noqa: S311
    raise AssertionError("unreachable: the last attempt returns or raises")


def root_url(url: str) -> str:
    """`scheme://host[:port]` of a URL: what a registry URL with a path usually meant."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def looks_like_registry(url: str) -> bool | None:
    """Whether `url` answers `GET /api/v1/checks` as an fpmreg registry does (200, a JSON
    object with a `checks` list); None when there is no answer at all (nothing to tell)."""
    try:
        with httpx.Client(base_url=url, headers=request_headers(), timeout=READ_TIMEOUT) as client:
            response = client.get(PROBE_PATH)
    except httpx.HTTPError:
        return None
    try:
        body = response.json() if response.status_code == 200 else None
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("checks"), list)


def not_a_registry(url: str) -> ClientError | None:
    """The error naming the URL as the likely cause, or None when `url` is a registry
    (or cannot be asked)."""
    if looks_like_registry(url) is not False:
        return None
    root = root_url(url)
    hint = f" (did you mean `{root}`?)" if root != url else ""
    return UsageError(
        f"`{url}` does not look like an fpmreg registry{hint}: it does not answer "
        f"`GET {PROBE_PATH}` as one; check `--registry`, `${config.REGISTRY_ENV}` or the "
        "config file's `registry`"
    )


@contextlib.contextmanager
def blame_url(urls: Iterable[str | None]) -> Iterator[None]:
    """Turn a failure that a wrong registry URL would also cause (an answer that is not
    the API's, a 404 or 405, an unknown package) into one naming the URL, when the URL
    does not answer as a registry (docs/cli.md, "Registry URL"). A URL with a path
    (`.../api`, `.../api/v1`) is asked first, so no package is blamed for it."""
    known = list(dict.fromkeys(u for u in urls if u))
    for url in known:
        if urlsplit(url).path not in ("", "/"):
            blamed = not_a_registry(url)
            if blamed is not None:
                raise blamed
    try:
        yield
    except (RegistryUnreachable, UsageError):
        raise
    except RegistryRefused as exc:
        if exc.status not in (404, 405):
            raise
        _reraise_if_registry(known, exc)
    except ClientError as exc:
        _reraise_if_registry(known, exc)


def _reraise_if_registry(urls: list[str], exc: ClientError) -> None:
    for url in urls:
        blamed = not_a_registry(url)
        if blamed is not None:
            raise blamed from exc
    raise exc
