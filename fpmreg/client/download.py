"""One package tarball from a registry's download endpoint, retried when the failure is
transient (no connection, a dropped one, a 5xx) and never when the registry said no (4xx).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from fpmreg.client.errors import ClientError, RegistryRefused, RegistryUnreachable
from fpmreg.client.registry import refusal
from fpmreg.core.archive import DEFAULT_LIMITS
from fpmreg.core.lockfile import LockedPackage

# A registry restarting behind its proxy, or a proxy dropping a connection, is over in a
# few seconds: four attempts, with the waits between them doubling from RETRY_BASE_DELAY
# (0.5 s, 1 s, 2 s), ride that out; a registry that is really down fails in seconds.
DOWNLOAD_ATTEMPTS = 4
RETRY_BASE_DELAY = 0.5
# No wait is longer, even when a 503 asks for more with `Retry-After`: a sync is a
# command someone waits for, and a longer outage is better reported than waited out.
RETRY_MAX_DELAY = 8.0
# A reachable registry accepts a connection at once and sends a tarball (at most 10 MB)
# without long silences: one silent for longer is tried again, not waited for.
DOWNLOAD_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


@dataclass(frozen=True)
class Wanted:
    """One tarball to obtain: a package version, its sha256 and where it is published."""

    namespace: str
    name: str
    version: str
    sha256: str
    registry: str

    @classmethod
    def of(cls, package: LockedPackage) -> Wanted:
        """What a lock entry names."""
        return cls(
            package.namespace, package.name, package.version, package.sha256, package.registry
        )

    @property
    def key(self) -> str:
        """`namespace/name`."""
        return f"{self.namespace}/{self.name}"

    @property
    def label(self) -> str:
        """`` `namespace/name` X.Y.Z ``, as messages name it."""
        return f"`{self.key}` {self.version}"

    def folder(self, root: Path) -> Path:
        """`{root}/{ns}/{name}/{version}`, fpm's local-registry layout (docs/fpm-protocol.md)."""
        return root / self.namespace / self.name / self.version


def download_path(wanted: Wanted) -> str:
    """The registry's download endpoint for a version (the bytes fpm would get)."""
    return f"/api/v1/packages/{wanted.namespace}/{wanted.name}/versions/{wanted.version}/download"


class _Transient(Exception):
    """A failed attempt worth repeating: no answer at all, or a 5xx."""

    def __init__(
        self, reason: str, retry_after: float | None = None, *, answered: bool = True
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.answered = answered  # False: no answer at all (refused, dropped, timed out)


def retry_delay(attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait after failed attempt number `attempt` (1, 2, ...): doubling from
    RETRY_BASE_DELAY, at most RETRY_MAX_DELAY, and what `Retry-After` asks when it says."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), RETRY_MAX_DELAY)
    delay = min(RETRY_BASE_DELAY * 2.0 ** (attempt - 1), RETRY_MAX_DELAY)
    # Between half and all of it, so parallel downloads that failed together do not all
    # come back at the same instant (not a secret: `random` is right here).
    return delay * random.uniform(0.5, 1.0)  # noqa: S311


def _retry_after(response: httpx.Response) -> float | None:
    try:
        seconds = float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None  # absent, or an HTTP date: the usual backoff then
    return seconds if math.isfinite(seconds) else None


def _reason(response: httpx.Response) -> str:
    """Why the registry did not send the tarball, in its own words when it gave some."""
    refused = refusal(response)
    if isinstance(refused, RegistryRefused):
        return f"HTTP {refused.status}: " + "; ".join(p.message for p in refused.problems)
    if response.status_code >= 500:
        return f"HTTP {response.status_code}"  # the caller says what to do next
    return str(refused)


def _body(response: httpx.Response, wanted: Wanted, base: str) -> bytes:
    limit = DEFAULT_LIMITS.max_compressed_bytes
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise ClientError(
                f"{wanted.label} from `{base}` is larger than {limit} bytes: it is not "
                "a tarball the registry accepts"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _attempt(client: httpx.Client, base: str, wanted: Wanted) -> bytes:
    try:
        with client.stream("GET", download_path(wanted), timeout=DOWNLOAD_TIMEOUT) as response:
            if response.status_code != 200:
                response.read()
                if response.status_code >= 500:
                    raise _Transient(_reason(response), _retry_after(response))
                raise ClientError(
                    f"cannot download {wanted.label} from `{base}`: {_reason(response)}"
                )
            return _body(response, wanted, base)
    except httpx.RequestError as exc:
        # No connection, a dropped or silent one, or a body that does not decode: the
        # next attempt may well get through.
        raise _Transient(str(exc) or type(exc).__name__, answered=False) from exc


def download(client: httpx.Client, base: str, wanted: Wanted) -> bytes:
    """The tarball of `wanted` from `base` (not verified: see `fetch.verified`).

    Tries DOWNLOAD_ATTEMPTS times while the failure is transient; a 4xx, a redirect or a
    tarball over the size limit fails at once. Raises `ClientError` saying why."""
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        try:
            return _attempt(client, base, wanted)
        except _Transient as exc:
            if attempt == DOWNLOAD_ATTEMPTS and not exc.answered:
                # The registry, not the package: one line for all (docs/cli.md, "Network").
                raise RegistryUnreachable(base, exc.reason) from exc
            if attempt == DOWNLOAD_ATTEMPTS:
                raise ClientError(
                    f"cannot download {wanted.label} from `{base}` after {attempt} attempts: "
                    f"{exc.reason}; check the registry URL, or try again later"
                ) from exc
            time.sleep(retry_delay(attempt, exc.retry_after))
    raise AssertionError("unreachable: the last attempt returns or raises")
