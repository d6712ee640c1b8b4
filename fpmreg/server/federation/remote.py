"""Fetching remote ActivityPub documents without being turned against the intranet
(docs/activitypub.md, "Remote fetches").

Only `https` URLs (and `http` when private addresses are allowed, for tests), on hosts
whose every address is a public one unless `FPMREG_FEDERATION_ALLOW_PRIVATE` is set
(refused in production); no redirects; at most `MAX_DOCUMENT_BYTES`, within `TIMEOUT`.
The check resolves the name before the request, so a name that changes its answer in
between (DNS rebinding) is not caught: put an egress proxy in front for that.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx

ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
MAX_DOCUMENT_BYTES = 1 << 20
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class RemoteError(ValueError):
    """A remote document that may not or could not be fetched."""


def check_url(url: str, *, allow_private: bool) -> None:
    """`RemoteError` unless `url` may be fetched."""
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise RemoteError(f"`{url[:200]}` is not an {' or '.join(schemes)} URL")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise RemoteError(f"the host of `{url[:200]}` does not resolve") from None
    if allow_private:
        return
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise RemoteError(f"`{parts.hostname}` is a private or loopback address: refused")


def fetch_json(url: str, *, allow_private: bool, headers: dict[str, str] | None = None) -> Any:
    """The JSON document at `url`; `RemoteError` if refused, unreachable or malformed."""
    body = fetch_bytes(
        url, allow_private=allow_private, headers={"Accept": ACCEPT, **(headers or {})}
    )
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RemoteError(f"`{url[:200]}` is not JSON") from None


def fetch_bytes(
    url: str,
    *,
    allow_private: bool,
    limit: int = MAX_DOCUMENT_BYTES,
    headers: dict[str, str] | None = None,
    client: httpx.Client | None = None,
) -> bytes:
    """The body at `url`, at most `limit` bytes; `RemoteError` if refused, unreachable,
    not a 200 or too large. `client` reuses one connection pool for many fetches."""
    check_url(url, allow_private=allow_private)
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    try:
        with http.stream("GET", url, headers=headers or {}) as answer:
            if answer.status_code != 200:
                raise RemoteError(f"`{url[:200]}` answered {answer.status_code}")
            body = bytearray()
            for chunk in answer.iter_bytes():
                body += chunk
                if len(body) > limit:
                    raise RemoteError(f"`{url[:200]}` is larger than {limit} bytes")
    except httpx.HTTPError as exc:
        raise RemoteError(f"cannot fetch `{url[:200]}`: {type(exc).__name__}") from None
    finally:
        if own:
            http.close()
    return bytes(body)
