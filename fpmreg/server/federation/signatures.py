"""The RFC 9421 check of an inbound request (docs/activitypub.md, "Inbox").

A request that carries `Signature-Input` is checked here, one that does not as
draft-cavage by `inbox.py`. Of the labels in both `Signature-Input` and `Signature` the
first is checked; it must:
- cover `@method`, and `@target-uri` or both `@authority` and `@path`, and, when the
  request has a body, `content-digest`;
- have a `created` within `CLOCK_SKEW` of this server's clock, and no `expires` in the
  past;
- name its key in `keyid`, which `lookup` resolves (fetching it from the sender);
- verify over the request as this server was reached: the target URI is the registry's
  own base URL and the request's path, never a `Host` header the sender chose.
The body's `Content-Digest` is checked against the body before the key is fetched.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fpmreg.core.httpsig import SignatureError
from fpmreg.core.httpsig9421 import (
    Message,
    PublicKey,
    Signed,
    check_content_digest,
    parse_signatures,
    verify,
)

CLOCK_SKEW = timedelta(minutes=5)
KeyLookup = Callable[[str], tuple[PublicKey, str]]


def check_rfc9421(message: Message, body: bytes, now: datetime, lookup: KeyLookup) -> str:
    """The owner of the key that signed `message`; `SignatureError` saying what to fix."""
    headers = message.headers
    signed = parse_signatures(headers.get("signature-input", ""), headers.get("signature", ""))[0]
    check_covered(signed, has_body=bool(body))
    check_times(signed, now)
    key_id = signed.param("keyid")
    if not isinstance(key_id, str) or not key_id:
        raise SignatureError(f"the signature `{signed.label}` has no `keyid` parameter")
    if body:
        if not headers.get("content-digest"):
            raise SignatureError("the request has a body but no Content-Digest header")
        check_content_digest(headers["content-digest"], body)
    public, owner = lookup(key_id)
    try:
        verify(public, message, signed)
    except SignatureError as exc:
        raise SignatureError(
            f"{exc} (this server takes the request's @target-uri to be {message.target_uri})"
        ) from None
    return owner


def check_covered(signed: Signed, *, has_body: bool) -> None:
    """`SignatureError` unless the signature covers the method, the target and the
    body's digest."""
    covered = set(signed.components)
    wanted = "cover @method, @target-uri (or @authority and @path)"
    wanted += ", and content-digest" if has_body else ""
    if "@method" not in covered:
        raise SignatureError(f"the signature must {wanted}; it lacks @method")
    if "@target-uri" not in covered and not {"@authority", "@path"} <= covered:
        raise SignatureError(f"the signature must {wanted}; it lacks @target-uri")
    if has_body and "content-digest" not in covered:
        raise SignatureError(f"the signature must {wanted}; it lacks content-digest")


def check_times(signed: Signed, now: datetime) -> None:
    """`SignatureError` unless `created` is within the clock window and `expires`, if
    any, is not past."""
    created = signed.param("created")
    if not isinstance(created, int) or isinstance(created, bool):
        raise SignatureError(f"the signature `{signed.label}` has no `created` time")
    if abs(now - _at(created)) > CLOCK_SKEW:
        raise SignatureError(f"the signature's `created` is more than {CLOCK_SKEW} from this "
                             "server's clock")  # fmt: skip
    expires = signed.param("expires")
    if expires is not None:
        if not isinstance(expires, int) or isinstance(expires, bool):
            raise SignatureError("the signature's `expires` is not an integer")
        if _at(expires) < now:
            raise SignatureError("the signature has expired (its `expires` is past)")


def _at(seconds: int) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise SignatureError(f"`{seconds}` is not a time") from None
