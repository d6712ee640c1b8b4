"""Signed, expiring links mailed to a user: email verification and password reset.

A link's token is `<user id>.<expiry>.<tag>.<signature>`:

- `tag` is a short keyed hash of what the link is bound to (the address being verified,
  or a fingerprint of the current password hash). When that changes, the link dies: a
  verification link once the address changed, a reset link once the password was
  reset with it (so it is single-use);
- `signature` is `HMAC(key, purpose, user id, expiry, tag)` with a key derived from the
  app's secret key for links only, compared in constant time.

Nothing is stored: the token carries all it needs, and the secret key checks it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

# The widths of the token's parts (bytes of HMAC-SHA256 kept, before base64).
TAG_BYTES = 9
SIGNATURE_BYTES = 24
# A token longer than this is not one of ours (and is not parsed further).
MAX_TOKEN_CHARS = 200


class Purpose(StrEnum):
    """What a link is for: a token of one purpose is worthless for the other."""

    VERIFY_EMAIL = "verify-email"
    RESET_PASSWORD = "reset-password"  # noqa: S105 - a purpose, not a password


class LinkState(StrEnum):
    """Why a link is refused, or that it is good."""

    VALID = "valid"
    TAMPERED = "tampered"  # not a token we signed (mistyped, cut short or forged)
    SUPERSEDED = "superseded"  # what it is bound to changed since it was sent
    EXPIRED = "expired"


@dataclass(frozen=True)
class Link:
    """A parsed token whose signature is good (its tag and expiry still to check)."""

    user_id: int
    expires_at: datetime
    tag: str


def link_key(secret_key: str) -> bytes:
    """A key of its own for links, so a link says nothing about other uses of the secret."""
    return hmac.new(secret_key.encode(), b"fpmreg links v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _mac(key: bytes, *parts: str) -> bytes:
    return hmac.new(key, "\x00".join(parts).encode(), hashlib.sha256).digest()


def binding_tag(key: bytes, purpose: Purpose, bound_to: str) -> str:
    """The short keyed hash of what a link is bound to."""
    return _b64(_mac(key, "bound", str(purpose), bound_to)[:TAG_BYTES])


def sign(key: bytes, purpose: Purpose, user_id: int, bound_to: str, expires_at: datetime) -> str:
    """A token for `user_id`, bound to `bound_to`, good until `expires_at`."""
    expiry = str(int(expires_at.timestamp()))
    tag = binding_tag(key, purpose, bound_to)
    signature = _b64(_mac(key, str(purpose), str(user_id), expiry, tag)[:SIGNATURE_BYTES])
    return f"{user_id}.{expiry}.{tag}.{signature}"


def parse(key: bytes, purpose: Purpose, token: str) -> Link | None:
    """The link a token describes if we signed it for `purpose`, else None."""
    parts = token.strip().split(".") if len(token) <= MAX_TOKEN_CHARS else []
    if len(parts) != 4 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    user_id, expiry, tag, signature = parts
    expected = _b64(_mac(key, str(purpose), user_id, expiry, tag)[:SIGNATURE_BYTES])
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return None
    return Link(int(user_id), datetime.fromtimestamp(int(expiry), UTC), tag)


def check(key: bytes, purpose: Purpose, link: Link, bound_to: str, now: datetime) -> LinkState:
    """Whether a parsed link is still good for what it is bound to now."""
    if not hmac.compare_digest(link.tag.encode(), binding_tag(key, purpose, bound_to).encode()):
        return LinkState.SUPERSEDED
    if link.expires_at <= now:
        return LinkState.EXPIRED
    return LinkState.VALID
