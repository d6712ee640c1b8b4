"""Deliveries to remote inboxes, as jobs (docs/activitypub.md, "Delivery").

Each delivery is a `federation.deliver` job: a POST of the activity, signed with the
registry's RSA key under the sending actor's key id. It is signed with RFC 9421
(`rsa-v1_5-sha256`, covering `@method`, `@target-uri` and `content-digest`, with
`created` and `keyid`), as Mastodon 4.4 and later accept; a receiver that answers 400,
401 or 403 gets the same delivery again at once signed with draft-cavage (covering the
target, host, date and digest), the "double knock". A host that took only the second
scheme is remembered in this process for `PREFERENCE_TTL`, and later deliveries to it
knock with that scheme first. A network error or a non-2xx answer to both raises, so the
job runner retries it with its backoff, and gives up after the job's attempts.

Signed GETs (`signed_get_headers`, for servers that answer only signed fetches) stay
draft-cavage: every server that asks for signed fetches accepts it, and a fetch that
knocked twice would cost the remote two key checks for one document.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.orm import Session

from fpmreg.core.httpsig import REQUIRED, REQUIRED_WITH_BODY, digest, sign
from fpmreg.core.httpsig9421 import Message, content_digest
from fpmreg.core.httpsig9421 import sign as sign_9421
from fpmreg.server.federation.actors import AP_PREFIX
from fpmreg.server.federation.keys import RegistryKeys
from fpmreg.server.federation.remote import TIMEOUT, check_url
from fpmreg.server.jobs import JobContext, enqueue

DELIVER = "federation.deliver"
CONTENT_TYPE = "application/activity+json"
RFC9421, CAVAGE = "rfc9421", "cavage"
COVERED = ("@method", "@target-uri", "content-digest")
KNOCK_AGAIN = frozenset({400, 401, 403})
PREFERENCE_TTL = 24 * 3600.0  # seconds a host's scheme is remembered


class Preferences:
    """Which signature scheme each host took, when it was not RFC 9421; in memory,
    for `PREFERENCE_TTL`, so a host that learns RFC 9421 is asked with it again."""

    def __init__(self, ttl: float = PREFERENCE_TTL) -> None:
        self.ttl = ttl
        self._hosts: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def order(self, host: str) -> tuple[str, str]:
        """The schemes to knock with at `host`, first first."""
        with self._lock:
            scheme, until = self._hosts.get(host, (RFC9421, 0.0))
            if until < time.monotonic():
                self._hosts.pop(host, None)
                scheme = RFC9421
        return (scheme, CAVAGE if scheme == RFC9421 else RFC9421)

    def took(self, host: str, scheme: str) -> None:
        """`host` accepted `scheme` after refusing the other: knock with it first until
        the TTL runs out (not renewed by later deliveries, so RFC 9421 is tried again)."""
        with self._lock:
            if scheme == RFC9421:
                self._hosts.pop(host, None)
            else:
                self._hosts[host] = (scheme, time.monotonic() + self.ttl)


PREFERENCES = Preferences()


def queue_delivery(
    session: Session, inbox: str, actor: str, activity: dict[str, Any], now: datetime
) -> None:
    """Deliver `activity` from our `actor` to `inbox` once this transaction commits."""
    enqueue(session, DELIVER, {"inbox": inbox, "actor": actor, "activity": activity}, at=now)


def signed_headers(
    keys: RegistryKeys, actor: str, url: str, body: bytes, now: datetime
) -> dict[str, str]:
    """The headers of a POST of `body` to `url` from `actor`, signed draft-cavage."""
    parts = urlsplit(url)
    headers = {
        "Host": parts.netloc,
        "Date": format_datetime(now, usegmt=True),
        "Digest": digest(body),
        "Content-Type": CONTENT_TYPE,
    }
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    headers["Signature"] = sign(keys.rsa, f"{actor}#main-key", "POST", target or "/",
                                headers, REQUIRED_WITH_BODY)  # fmt: skip
    return headers


def signed_headers_9421(
    keys: RegistryKeys, actor: str, url: str, body: bytes, now: datetime
) -> dict[str, str]:
    """The headers of a POST of `body` to `url` from `actor`, signed with RFC 9421."""
    headers = {
        "Host": urlsplit(url).netloc,
        "Date": format_datetime(now, usegmt=True),
        "Content-Digest": content_digest(body),
        "Content-Type": CONTENT_TYPE,
    }
    message = Message("POST", url, headers)
    signature_input, signature = sign_9421(
        keys.rsa, message, COVERED, keyid=f"{actor}#main-key", created=int(now.timestamp())
    )
    return {**headers, "Signature-Input": signature_input, "Signature": signature}


def signed_get_headers(keys: RegistryKeys, url: str, now: datetime) -> dict[str, str]:
    """The headers of a GET signed by the registry's instance actor (servers that
    answer only signed fetches, Mastodon's "authorized fetch", need them)."""
    parts = urlsplit(url)
    headers = {"Host": parts.netloc, "Date": format_datetime(now, usegmt=True)}
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    key_id = f"{keys.registry}{AP_PREFIX}/actor#main-key"
    headers["Signature"] = sign(keys.rsa, key_id, "GET", target, headers, REQUIRED)
    return headers


class Deliver:
    """The `federation.deliver` job's handler."""

    def __init__(
        self, keys: RegistryKeys, *, allow_private: bool, preferences: Preferences = PREFERENCES
    ) -> None:
        self.keys = keys
        self.allow_private = allow_private
        self.preferences = preferences

    def __call__(self, context: JobContext) -> None:
        inbox, actor = str(context.payload["inbox"]), str(context.payload["actor"])
        body = json.dumps(context.payload["activity"]).encode()
        check_url(inbox, allow_private=self.allow_private)
        host = urlsplit(inbox).netloc.lower()
        signers = {RFC9421: signed_headers_9421, CAVAGE: signed_headers}
        with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
            order = self.preferences.order(host)
            for scheme in order:
                headers = signers[scheme](self.keys, actor, inbox, body, context.now)
                answer = client.post(inbox, content=body, headers=headers)
                if 200 <= answer.status_code < 300:
                    if scheme != order[0]:  # the second knock: remembered for next time
                        self.preferences.took(host, scheme)
                    return
                if answer.status_code not in KNOCK_AGAIN:
                    break
        raise RuntimeError(f"{inbox} answered {answer.status_code}")
