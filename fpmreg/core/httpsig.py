"""HTTP Signatures as Mastodon-era servers use them (draft-cavage-http-signatures-12),
and the `Digest` header of RFC 3230 (docs/activitypub.md, "Signatures").

The signer lists the headers it covers; the signing string is one `name: value` line per
covered header, lower-cased names, `(request-target)` being `method path`. The
signature is RSASSA-PKCS1-v1_5 with SHA-256 (`rsa-sha256`, also sent as `hs2019`) over
that string, base64 in the `Signature` header with its `keyId`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

# What an inbound signature must cover: the target, the host, the date and the body's digest.
REQUIRED = ("(request-target)", "host", "date")
REQUIRED_WITH_BODY = (*REQUIRED, "digest")
ALGORITHMS = ("rsa-sha256", "hs2019")
MAX_HEADER = 4096
_PARAM = re.compile(r'\s*([a-zA-Z]+)="([^"]*)"\s*(?:,|$)')


class SignatureError(ValueError):
    """A missing, malformed or wrong signature, said so that the sender can fix it."""


@dataclass(frozen=True)
class SignatureHeader:
    """The parts of a `Signature` header."""

    key_id: str
    algorithm: str
    headers: tuple[str, ...]
    signature: bytes


def parse_signature(text: str) -> SignatureHeader:
    """The `Signature` header's parameters; `SignatureError` if malformed."""
    if not text or len(text) > MAX_HEADER:
        raise SignatureError("the request has no Signature header (or one too long)")
    params: dict[str, str] = {}
    at = 0
    while at < len(text):
        match = _PARAM.match(text, at)
        if match is None:
            raise SignatureError('the Signature header is not `name="value"` pairs')
        params[match.group(1).lower()] = match.group(2)
        at = match.end()
    missing = [k for k in ("keyid", "signature") if not params.get(k)]
    if missing:
        raise SignatureError(f"the Signature header has no `{missing[0]}`")
    algorithm = params.get("algorithm", "hs2019").lower()
    if algorithm not in ALGORITHMS:
        raise SignatureError(f"signature algorithm `{algorithm}` is not one of {ALGORITHMS}")
    try:
        signature = base64.b64decode(params["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the signature is not base64") from None
    headers = tuple(params.get("headers", "date").lower().split())
    return SignatureHeader(params["keyid"], algorithm, headers, signature)


def signing_string(
    method: str, target: str, headers: Mapping[str, str], covered: tuple[str, ...]
) -> bytes:
    """The lines the signature covers; `SignatureError` if a covered header is absent."""
    lines = []
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in covered:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {target}")
        elif name in lowered:
            lines.append(f"{name}: {lowered[name].strip()}")
        else:
            raise SignatureError(
                f"the signature covers `{name}` but the request has no such header"
            )
    return "\n".join(lines).encode()


def digest(body: bytes) -> str:
    """The `Digest` header of `body`."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def check_digest(header: str, body: bytes) -> None:
    """`SignatureError` unless `header` names the SHA-256 of `body`."""
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name.lower() == "sha-256":
            if value != digest(body).partition("=")[2]:
                raise SignatureError("the Digest header does not match the body")
            return
    raise SignatureError("the Digest header has no SHA-256")


def sign(
    key: rsa.RSAPrivateKey,
    key_id: str,
    method: str,
    target: str,
    headers: Mapping[str, str],
    covered: tuple[str, ...],
) -> str:
    """The `Signature` header for a request."""
    message = signing_string(method, target, headers, covered)
    raw = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(covered)}",'
        f'signature="{base64.b64encode(raw).decode()}"'
    )


def verify(
    public: rsa.RSAPublicKey,
    parsed: SignatureHeader,
    method: str,
    target: str,
    headers: Mapping[str, str],
) -> None:
    """`SignatureError` unless `parsed` signs this request with `public`."""
    message = signing_string(method, target, headers, parsed.headers)
    try:
        public.verify(parsed.signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise SignatureError("the signature does not match the request and the key") from None


def check_covered(parsed: SignatureHeader, has_body: bool) -> None:
    """`SignatureError` unless the signature covers what it must."""
    needed = REQUIRED_WITH_BODY if has_body else REQUIRED
    missing = [h for h in needed if h not in parsed.headers]
    if missing:
        raise SignatureError(f"the signature must cover {', '.join(needed)}; it lacks {missing[0]}")
