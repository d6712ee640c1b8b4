"""eddsa-jcs-2022 proofs: the W3C specification's own vector, and tampering refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from fpmreg.core.integrity import (
    IntegrityError,
    add_proof,
    b58decode,
    b58encode,
    multikey,
    parse_multikey,
    parse_private_multikey,
    verify_proof,
)

VECTORS = Path(__file__).parent.parent / "data" / "vc-di-eddsa"


def _vector() -> tuple[dict[str, Any], dict[str, str]]:
    signed = json.loads((VECTORS / "signedJCS.json").read_text())
    keys = json.loads((VECTORS / "keyPair.json").read_text())
    return signed, keys


def test_signing_the_specification_document_gives_its_published_proof() -> None:
    signed, keys = _vector()
    key = parse_private_multikey(keys["privateKeyMultibase"])
    assert multikey(key.public_key()) == keys["publicKeyMultibase"]
    unsigned = {k: v for k, v in signed.items() if k != "proof"}
    proof = signed["proof"]

    ours = add_proof(unsigned, key, proof["verificationMethod"], proof["created"])

    assert ours["proof"] == proof  # Ed25519 is deterministic: the same bytes


def test_the_published_proof_verifies_and_any_change_breaks_it() -> None:
    signed, keys = _vector()
    public = parse_multikey(keys["publicKeyMultibase"])
    assert verify_proof(signed, public)["cryptosuite"] == "eddsa-jcs-2022"

    changed = {**signed, "name": "Forged Credential"}
    with pytest.raises(IntegrityError, match="does not match"):
        verify_proof(changed, public)
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(IntegrityError, match="does not match"):
        verify_proof(signed, other)
    with pytest.raises(IntegrityError, match="no proof"):
        verify_proof({k: v for k, v in signed.items() if k != "proof"}, public)
    wrong_suite = {**signed, "proof": {**signed["proof"], "cryptosuite": "eddsa-rdfc-2022"}}
    with pytest.raises(IntegrityError, match="not a DataIntegrityProof of eddsa-jcs-2022"):
        verify_proof(wrong_suite, public)


def test_key_order_and_whitespace_do_not_matter_to_the_proof() -> None:
    key = Ed25519PrivateKey.generate()
    signed = add_proof({"b": 1, "a": [1, "x"]}, key, "https://r.example/#k", "2026-01-01T00:00:00Z")
    reordered = json.loads(json.dumps(dict(reversed(list(signed.items())))))
    assert verify_proof(reordered, key.public_key())


@given(st.binary(max_size=64))
def test_base58_round_trips(data: bytes) -> None:
    assert b58decode(b58encode(data)) == data


def test_malformed_keys_are_refused_with_a_message() -> None:
    with pytest.raises(IntegrityError, match="Multikey"):
        parse_multikey("z123")
    with pytest.raises(IntegrityError, match="base58"):
        parse_multikey("z0OIl")
