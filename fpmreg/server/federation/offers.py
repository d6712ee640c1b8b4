"""Offers this registry's actors send and the answers to them (docs/activitypub.md,
"Audits as Offers").

Federation knows no communities (they sit above it, docs/architecture.md, "Layers"), so
the communities domain plugs an `OfferAnswerSink` in: an `Accept` or `Reject` arriving at
one of our inboxes is shown to it first. `post_activity` delivers an activity at once, in
the caller's request, with the same double knock as the delivery jobs, so the sender
hears a refusal (a 4xx and its message) while it can still tell the user.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from sqlalchemy.orm import Session

from fpmreg.server.federation.delivery import (
    CAVAGE,
    KNOCK_AGAIN,
    RFC9421,
    signed_headers,
    signed_headers_9421,
)
from fpmreg.server.federation.keys import RegistryKeys
from fpmreg.server.federation.remote import TIMEOUT, RemoteError, check_url

# What of a refusal's body is kept, for the user.
MAX_REFUSAL_TEXT = 500


class OfferAnswerSink(Protocol):
    """Where an `Accept` or `Reject` of an `Offer` we sent goes."""

    def answer(
        self, session: Session, activity: dict[str, Any], signer: str, now: datetime
    ) -> str | None:
        """What was done, or None if the activity answers none of our Offers."""


@dataclass(frozen=True)
class Posted:
    """The inbox's answer: its status and (the start of) its body."""

    status: int
    text: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def post_activity(
    keys: RegistryKeys, actor: str, inbox: str, activity: dict[str, Any], now: datetime,
    *, allow_private: bool,
) -> Posted:  # fmt: skip
    """POST `activity` from our `actor` to `inbox` now: RFC 9421 first, draft-cavage if
    the inbox refuses that (400, 401, 403). `RemoteError` if the inbox may not or could
    not be reached."""
    check_url(inbox, allow_private=allow_private)
    body = json.dumps(activity).encode()
    answer: httpx.Response | None = None
    try:
        with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
            for scheme in (RFC9421, CAVAGE):
                sign = signed_headers_9421 if scheme == RFC9421 else signed_headers
                headers = sign(keys, actor, inbox, body, now)
                answer = client.post(inbox, content=body, headers=headers)
                if answer.status_code not in KNOCK_AGAIN or _names_the_content(answer):
                    break
    except httpx.HTTPError as exc:
        raise RemoteError(f"{urlsplit(inbox).netloc} cannot be reached: {exc}") from None
    assert answer is not None
    return Posted(answer.status_code, _message(answer))


def _names_the_content(answer: httpx.Response) -> bool:
    """A 400 about the activity itself (not its signature): knocking again cannot help."""
    return answer.status_code == 400 and "ap-bad-request" in answer.text


def _message(answer: httpx.Response) -> str:
    """The error envelope's details, or the start of the body."""
    try:
        errors = answer.json().get("errors")
        text = "; ".join(str(e.get("detail", "")) for e in errors if isinstance(e, dict))
    except (ValueError, AttributeError, TypeError):
        text = answer.text
    return text[:MAX_REFUSAL_TEXT]
