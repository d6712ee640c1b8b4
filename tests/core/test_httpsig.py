"""draft-cavage HTTP signatures: what a signer covers verifies; anything changed does not."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key

from fpmreg.core.httpsig import (
    REQUIRED_WITH_BODY,
    SignatureError,
    check_covered,
    check_digest,
    digest,
    parse_signature,
    sign,
    verify,
)

KEY = generate_private_key(65537, 2048)
BODY = b'{"type":"Follow"}'
HEADERS = {"Host": "a.example", "Date": "Thu, 03 Dec 2026 09:00:00 GMT", "Digest": digest(BODY)}


def _signed() -> dict[str, str]:
    header = sign(KEY, "https://b.example/ap/users/bob#main-key", "POST", "/ap/inbox",
                  HEADERS, REQUIRED_WITH_BODY)  # fmt: skip
    return {**HEADERS, "Signature": header}


def test_a_signed_request_verifies() -> None:
    headers = _signed()
    parsed = parse_signature(headers["Signature"])
    assert parsed.key_id == "https://b.example/ap/users/bob#main-key"
    check_covered(parsed, has_body=True)
    check_digest(headers["Digest"], BODY)
    verify(KEY.public_key(), parsed, "POST", "/ap/inbox", headers)


@pytest.mark.parametrize(
    ("change", "target"),
    [
        ({"Date": "Thu, 03 Dec 2026 09:00:01 GMT"}, "/ap/inbox"),
        ({}, "/ap/users/x/inbox"),
        ({"Host": "evil.example"}, "/ap/inbox"),
    ],
)
def test_a_changed_request_does_not_verify(change: dict[str, str], target: str) -> None:
    headers = {**_signed(), **change}
    with pytest.raises(SignatureError, match="does not match"):
        verify(KEY.public_key(), parse_signature(headers["Signature"]), "POST", target, headers)


def test_another_key_does_not_verify() -> None:
    headers = _signed()
    other = generate_private_key(65537, 2048).public_key()
    with pytest.raises(SignatureError, match="does not match"):
        verify(other, parse_signature(headers["Signature"]), "POST", "/ap/inbox", headers)


def test_a_changed_body_fails_the_digest() -> None:
    with pytest.raises(SignatureError, match="Digest"):
        check_digest(HEADERS["Digest"], BODY + b" ")


@pytest.mark.parametrize(
    "header",
    [
        "",
        'keyId="k"',
        'signature="AAAA"',
        'keyId="k",signature="not base64!"',
        'keyId="k",algorithm="hmac-sha256",signature="AAAA"',
        "garbage",
    ],
)
def test_malformed_signature_headers_are_refused(header: str) -> None:
    with pytest.raises(SignatureError):
        parse_signature(header)


def test_a_signature_that_does_not_cover_the_digest_is_refused() -> None:
    header = sign(KEY, "k", "POST", "/ap/inbox", HEADERS, ("(request-target)", "host", "date"))
    with pytest.raises(SignatureError, match="lacks digest"):
        check_covered(parse_signature(header), has_body=True)
