"""Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite (W3C vc-di-eddsa), as
FEP-8b32 uses them for ActivityPub objects (docs/transparency-log.md, "Signed records").

To sign a JSON document: its proof options (type `DataIntegrityProof`, cryptosuite,
creation time, verification method, purpose, and the document's `@context` if it has
one) and the document without `proof` are each canonicalised with JCS (RFC 8785) and
hashed with SHA-256; Ed25519 signs the proof-options hash followed by the document hash;
the signature is written multibase base58btc (`z...`) as `proofValue`. Public keys are
Multikeys: `z` + base58btc(0xED 0x01 || the 32-byte key).
"""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

CRYPTOSUITE = "eddsa-jcs-2022"
PROOF_TYPE = "DataIntegrityProof"
_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ED25519_PUB = b"\xed\x01"
_ED25519_PRIV = b"\x80\x26"


class IntegrityError(ValueError):
    """A proof that is malformed, from another key, or does not match the document."""


def b58encode(data: bytes) -> str:
    """Bitcoin's base58: leading zero bytes become `1`s."""
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, digit = divmod(number, 58)
        out.append(_ALPHABET[digit])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    """The bytes of base58 `text`; `IntegrityError` on a character outside the alphabet."""
    number = 0
    for char in text:
        digit = _ALPHABET.find(char)
        if digit < 0:
            raise IntegrityError(f"`{char}` is not a base58 character")
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def multikey(public: Ed25519PublicKey) -> str:
    """The Multikey (`publicKeyMultibase`) form of an Ed25519 public key."""
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "z" + b58encode(_ED25519_PUB + raw)


def parse_multikey(text: str) -> Ed25519PublicKey:
    """The Ed25519 public key of a Multikey; `IntegrityError` if it is not one."""
    raw = b58decode(text[1:]) if text.startswith("z") else b""
    if len(raw) != 34 or not raw.startswith(_ED25519_PUB):
        raise IntegrityError("not an Ed25519 Multikey (`z6Mk...`)")
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def parse_private_multikey(text: str) -> Ed25519PrivateKey:
    """An Ed25519 private key written as a multibase seed (`z3u2...`)."""
    raw = b58decode(text[1:]) if text.startswith("z") else b""
    if len(raw) != 34 or not raw.startswith(_ED25519_PRIV):
        raise IntegrityError("not an Ed25519 private Multikey")
    return Ed25519PrivateKey.from_private_bytes(raw[2:])


def canonical(document: Any) -> bytes:
    """JCS (RFC 8785) bytes of a JSON value."""
    return rfc8785.dumps(document)


def _hash_data(document: dict[str, Any], options: dict[str, Any]) -> bytes:
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    return (
        hashlib.sha256(canonical(options)).digest() + hashlib.sha256(canonical(unsecured)).digest()
    )


def proof_options(document: dict[str, Any], method: str, created: str) -> dict[str, Any]:
    """The proof of `document` before it is signed."""
    options: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": method,
        "proofPurpose": "assertionMethod",
    }
    if "@context" in document:
        options["@context"] = document["@context"]
    return options


def add_proof(
    document: dict[str, Any], key: Ed25519PrivateKey, method: str, created: str
) -> dict[str, Any]:
    """`document` with an `eddsa-jcs-2022` proof by `key`, named `method`."""
    options = proof_options(document, method, created)
    signature = key.sign(_hash_data(document, options))
    return {**document, "proof": {**options, "proofValue": "z" + b58encode(signature)}}


def verify_proof(document: dict[str, Any], public: Ed25519PublicKey) -> dict[str, Any]:
    """The proof of `document` once checked against `public`; `IntegrityError` if it is
    missing, malformed, of another suite, or does not match."""
    proof = document.get("proof")
    if not isinstance(proof, dict):
        raise IntegrityError("the document has no proof")
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        raise IntegrityError(f"the proof is not a {PROOF_TYPE} of {CRYPTOSUITE}")
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise IntegrityError("the proof's proofValue is not multibase base58btc")
    if "@context" in proof and proof["@context"] != document.get("@context"):
        raise IntegrityError("the proof's @context differs from the document's")
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    try:
        public.verify(b58decode(value[1:]), _hash_data(document, options))
    except InvalidSignature:
        raise IntegrityError("the proof does not match the document or the key") from None
    return proof
