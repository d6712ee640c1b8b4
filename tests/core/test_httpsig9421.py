"""RFC 9421 signatures and RFC 9530 digests: the RFC's Appendix B examples reproduced and
verified, and any change to a covered component, the key or the signature refused."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, generate_private_key
from cryptography.hazmat.primitives.serialization import (
    load_pem_private_key,
    load_pem_public_key,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from fpmreg.core.httpsig import SignatureError
from fpmreg.core.httpsig9421 import (
    Message,
    PublicKey,
    check_content_digest,
    content_digest,
    parse_signatures,
    sign,
    signature_base,
    verify,
)
from fpmreg.core.sfv import (
    InnerList,
    Item,
    SfvError,
    Token,
    parse_dictionary,
    serialize_dictionary,
)

DATA = Path(__file__).parent.parent / "data" / "rfc9421"
EXAMPLES: dict[str, Any] = json.loads((DATA / "examples.json").read_text())
REQUEST = EXAMPLES["request"]
MESSAGE = Message(REQUEST["method"], REQUEST["target_uri"], dict(REQUEST["headers"]))
BODY = REQUEST["body"].encode()


def _public(name: str) -> PublicKey:
    key = load_pem_public_key((DATA / f"{name}.pub").read_bytes())
    assert not isinstance(key, str)
    return key  # type: ignore[return-value]


def _private(name: str) -> Any:
    return load_pem_private_key((DATA / f"{name}.key").read_bytes(), password=None)


@pytest.mark.parametrize("example", EXAMPLES["examples"], ids=lambda e: e["section"])
def test_the_rfc_examples_signature_bases_and_signatures(example: dict[str, Any]) -> None:
    (signed,) = parse_signatures(example["signature_input"], example["signature"])
    assert signed.label == example["label"]

    base = signature_base(MESSAGE, signed.covered)

    assert base.decode().split("\n") == example["signature_base"]
    verify(_public(example["key"]), MESSAGE, signed, alg=example["alg"])
    verify(_public(example["key"]), MESSAGE, signed)  # the key's type finds the algorithm


def test_ed25519_b26_is_reproduced_exactly() -> None:
    (example,) = [e for e in EXAMPLES["examples"] if e["section"] == "B.2.6"]
    key = _private("test-key-ed25519")
    assert isinstance(key, Ed25519PrivateKey)
    components = ("date", "@method", "@path", "@authority", "content-type", "content-length")

    signature_input, signature = sign(
        key, MESSAGE, components, keyid="test-key-ed25519", created=1618884473, label="sig-b26"
    )

    assert (signature_input, signature) == (example["signature_input"], example["signature"])


def test_rsa_v1_5_with_the_rfc_rsa_key() -> None:
    key = _private("test-key-rsa")
    assert isinstance(key, RSAPrivateKey)
    signature_input, signature = sign(
        key, MESSAGE, ("@method", "@target-uri", "content-digest"), keyid="test-key-rsa",
        created=1618884473, params={"alg": "rsa-v1_5-sha256"},
    )  # fmt: skip
    (signed,) = parse_signatures(signature_input, signature)
    verify(_public("test-key-rsa"), MESSAGE, signed)
    with pytest.raises(SignatureError, match="does not match"):
        verify(_public("test-key-rsa-pss"), MESSAGE, signed)  # another key
    with pytest.raises(SignatureError, match="Ed25519 key"):
        verify(_public("test-key-ed25519"), MESSAGE, signed)


def test_derived_components() -> None:
    message = Message("get", "HTTPS://Example.COM:443/a%20b?x=1&y=%2F", {})
    covered = InnerList(tuple(Item(n) for n in ("@method", "@authority", "@scheme", "@path",
                        "@query", "@request-target", "@target-uri")))  # fmt: skip
    lines = signature_base(message, covered).decode().split("\n")
    assert lines[:7] == [
        '"@method": GET', '"@authority": example.com', '"@scheme": https',
        '"@path": /a%20b', '"@query": ?x=1&y=%2F', '"@request-target": /a%20b?x=1&y=%2F',
        '"@target-uri": HTTPS://Example.COM:443/a%20b?x=1&y=%2F',
    ]  # fmt: skip
    empty = Message("POST", "https://example.com", {})
    base = signature_base(empty, InnerList((Item("@path"), Item("@query")))).decode()
    assert base.split("\n")[:2] == ['"@path": /', '"@query": ?']


@pytest.mark.parametrize(
    ("signature_input", "signature", "message"),
    [
        ('sig1=("@method")', "sig2=:AAAA:", "no label"),
        ('sig1="@method"', "sig1=:AAAA:", "not a list of components"),
        ('sig1=("@method")', 'sig1="AAAA"', "not a byte sequence"),
        ('sig1=("@method" ', "sig1=:AAAA:", "RFC 8941"),
        ('sig1=("@method");created=1', "sig1=:AA*A:", "RFC 8941"),
    ],
)
def test_malformed_headers_are_refused(signature_input: str, signature: str, message: str) -> None:
    with pytest.raises(SignatureError, match=message):
        parse_signatures(signature_input, signature)


@pytest.mark.parametrize(
    ("covered", "message"),
    [
        ('("@method" "@method")', "covered twice"),
        ('("x-missing")', "no such header"),
        ('("@status")', "not a derived component"),
        ('("Date")', "lower case"),
        ("(date)", "quoted string"),
        ('("date";sf)', "not supported"),
        ('("@query-param";name="nope")', "no single parameter"),
    ],
)
def test_bad_components_are_refused(covered: str, message: str) -> None:
    inner = parse_dictionary(f"sig1={covered}")["sig1"]
    assert isinstance(inner, InnerList)
    with pytest.raises(SignatureError, match=message):
        signature_base(MESSAGE, inner)


def test_content_digest() -> None:
    assert content_digest(BODY, ("sha-512",)) == dict(REQUEST["headers"])["Content-Digest"]
    check_content_digest(content_digest(BODY, ("sha-256", "sha-512")), BODY)
    check_content_digest("md5=:AAAA:, " + content_digest(BODY), BODY)  # unknown ones ignored
    with pytest.raises(SignatureError, match="does not match"):
        check_content_digest(content_digest(b"other"), BODY)
    with pytest.raises(SignatureError, match="does not match"):
        check_content_digest(content_digest(BODY) + ", " + content_digest(b"x", ("sha-512",)), BODY)
    with pytest.raises(SignatureError, match="no sha-256 or sha-512"):
        check_content_digest("md5=:AAAA:", BODY)
    with pytest.raises(SignatureError, match="malformed"):
        check_content_digest("sha-256=:AAAA", BODY)  # unclosed
    with pytest.raises(SignatureError, match="not a byte sequence"):
        check_content_digest("sha-256=AAAA", BODY)  # a token, not `:base64:`


RSA = generate_private_key(65537, 2048)
ED = Ed25519PrivateKey.generate()
COMPONENTS = ("@method", "@target-uri", "@authority", "@path", "@query", "content-digest", "date")
_text = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
                max_size=20)  # fmt: skip


def _message(method: str, path: str, date: str, body: bytes) -> Message:
    headers = {"Date": date, "Content-Digest": content_digest(body), "Host": "example.com"}
    return Message(method, f"https://example.com/{path}?q=1", headers)


@settings(max_examples=60, deadline=None)
@given(
    which=st.sampled_from(COMPONENTS),
    key=st.sampled_from([RSA, ED]),
    method=st.sampled_from(["POST", "PUT"]),
    path=st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True),
    date=_text,
    body=st.binary(max_size=64),
    created=st.integers(0, 2**40),
)
def test_any_changed_covered_component_fails(
    which: str, key: Any, method: str, path: str, date: str, body: bytes, created: int
) -> None:
    message = _message(method, path, date, body)
    header_input, header = sign(key, message, COMPONENTS, keyid="k", created=created)
    (signed,) = parse_signatures(header_input, header)
    verify(key.public_key(), message, signed)
    changed = {
        "@method": _message("PATCH", path, date, body),
        "@target-uri": Message(method, message.target_uri + "&r=2", message.headers),
        "@authority": Message(
            method, message.target_uri.replace("example.com", "example.org"), message.headers
        ),
        "@path": _message(method, path + "x", date, body),
        "@query": Message(method, message.target_uri.replace("q=1", "q=2"), message.headers),
        "content-digest": _message(method, path, date, body + b"!"),
        "date": _message(method, path, date + "x", body),
    }[which]
    with pytest.raises(SignatureError):
        verify(key.public_key(), changed, signed)


@settings(max_examples=40, deadline=None)
@given(created=st.integers(0, 2**40), flip=st.integers(0, 63))
def test_a_changed_signature_or_parameter_fails(created: int, flip: int) -> None:
    message = _message("POST", "inbox", "Tue, 20 Apr 2021 02:07:55 GMT", b"{}")
    header_input, header = sign(ED, message, COMPONENTS, keyid="k", created=created)
    (signed,) = parse_signatures(header_input, header)
    raw = bytearray(signed.signature)
    raw[flip] ^= 1
    bad = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(SignatureError):
        verify(ED.public_key(), message, parse_signatures(header_input, f"sig1=:{bad}:")[0])
    later = header_input.replace(f"created={created}", f"created={created + 1}")
    with pytest.raises(SignatureError):
        verify(ED.public_key(), message, parse_signatures(later, header)[0])


_bare = st.one_of(
    st.integers(-(10**15) + 1, 10**15 - 1),
    st.booleans(),
    st.binary(max_size=20),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20),
    st.from_regex(r"[a-z*][a-z0-9:/*.-]{0,10}", fullmatch=True).map(Token),
)
_key = st.from_regex(r"[a-z*][a-z0-9_.*-]{0,8}", fullmatch=True)
_params = st.dictionaries(_key, _bare, max_size=3)
_item = st.builds(Item, _bare, _params)
_member = st.one_of(_item, st.builds(InnerList, st.lists(_item, max_size=4).map(tuple), _params))


@settings(max_examples=200)
@given(st.dictionaries(_key, _member, min_size=1, max_size=4))
def test_sfv_dictionaries_round_trip(members: dict[str, Any]) -> None:
    text = serialize_dictionary(members)
    assert parse_dictionary(text) == members
    assert serialize_dictionary(parse_dictionary(text)) == text


@pytest.mark.parametrize(
    "text", ["a=", "a=(1 2", "A=1", "a=1,", 'a="\\x"', "a=?2", "a=1234567890123456", "a=é"]
)
def test_sfv_refuses_what_is_off_the_grammar(text: str) -> None:
    with pytest.raises(SfvError):
        parse_dictionary(text)
