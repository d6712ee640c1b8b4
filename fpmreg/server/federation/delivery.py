"""Deliveries to remote inboxes, as jobs (docs/activitypub.md, "Delivery").

Each delivery is a `federation.deliver` job: a POST of the activity, signed with the
registry's RSA key under the sending actor's key id (draft-cavage, covering the target,
host, date and digest). A network error or a non-2xx answer raises, so the job runner
retries it with its backoff, and gives up after the job's attempts.
"""

from __future__ import annotations

import json
from datetime import datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.orm import Session

from fpmreg.core.httpsig import REQUIRED, REQUIRED_WITH_BODY, digest, sign
from fpmreg.server.federation.actors import AP_PREFIX
from fpmreg.server.federation.keys import RegistryKeys
from fpmreg.server.federation.remote import TIMEOUT, check_url
from fpmreg.server.jobs import JobContext, enqueue

DELIVER = "federation.deliver"
CONTENT_TYPE = "application/activity+json"


def queue_delivery(
    session: Session, inbox: str, actor: str, activity: dict[str, Any], now: datetime
) -> None:
    """Deliver `activity` from our `actor` to `inbox` once this transaction commits."""
    enqueue(session, DELIVER, {"inbox": inbox, "actor": actor, "activity": activity}, at=now)


def signed_headers(
    keys: RegistryKeys, actor: str, url: str, body: bytes, now: datetime
) -> dict[str, str]:
    """The headers of a signed POST of `body` to `url` from `actor`."""
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

    def __init__(self, keys: RegistryKeys, *, allow_private: bool) -> None:
        self.keys = keys
        self.allow_private = allow_private

    def __call__(self, context: JobContext) -> None:
        inbox, actor = str(context.payload["inbox"]), str(context.payload["actor"])
        body = json.dumps(context.payload["activity"]).encode()
        check_url(inbox, allow_private=self.allow_private)
        headers = signed_headers(self.keys, actor, inbox, body, context.now)
        with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
            answer = client.post(inbox, content=body, headers=headers)
        if not 200 <= answer.status_code < 300:
            raise RuntimeError(f"{inbox} answered {answer.status_code}")
