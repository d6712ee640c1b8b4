"""The `eddsa-rdfc-2022` proofs and the status list bitstrings (docs/credentials.md):
the W3C test vector of "Data Integrity EdDSA Cryptosuites v1.0" signs to its published
proofValue, and a bitstring keeps exactly the bits set in it."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyld.jsonld import JsonLdError  # type: ignore[import-untyped]

from fpmreg.core.integrity import IntegrityError, parse_multikey, parse_private_multikey
from fpmreg.server.linked.credentials_documents import (
    STATUS_LIST_LENGTH,
    bit,
    decode_bits,
    encode_bits,
    with_bits,
)
from fpmreg.server.linked.credentials_proof import canonize, sign, verify
from fpmreg.server.linked.jsonld import load_document

# vc-di-eddsa, TestVectors/keyPair.json and TestVectors/eddsa-rdfc-2022/signedDataInt.json
PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
SECRET = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"
UNSIGNED: dict[str, Any] = {
    "@context": ["https://www.w3.org/ns/credentials/v2", EXAMPLES],
    "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "type": ["VerifiableCredential", "AlumniCredential"],
    "name": "Alumni Credential",
    "description": "A minimum viable example of an Alumni Credential.",
    "issuer": "https://vc.example/issuers/5678",
    "validFrom": "2023-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
}
METHOD = f"https://vc.example/issuers/5678#{PUBLIC}"
CREATED = "2023-02-24T23:36:38Z"
PROOF_VALUE = (
    "z21EVs3eXERqTn4acNHT9viboqgzUaQ3kTmhPT3eA8qrVPE7CrQq78WkzctnMX5W4CrzcKnHw8V6dvy5pgWYCU5e9"
)


def with_examples(url: str, options: object = None) -> dict[str, Any]:
    """The vendored contexts and the spec's examples context (`@vocab`), for the vector."""
    if url == EXAMPLES:
        document = {"@context": {"@vocab": "https://www.w3.org/ns/credentials/examples#"}}
        return {"contentType": "application/ld+json", "contextUrl": None,
                "documentUrl": url, "document": document}  # fmt: skip
    return load_document(url, options)


def test_the_w3c_test_vector_signs_to_its_proof_value() -> None:
    signed = sign(UNSIGNED, parse_private_multikey(SECRET), METHOD, CREATED, with_examples)
    assert signed["proof"] == {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": CREATED,
        "verificationMethod": METHOD,
        "proofPurpose": "assertionMethod",
        "proofValue": PROOF_VALUE,
    }
    assert verify(signed, parse_multikey(PUBLIC), with_examples) == signed["proof"]


def test_a_changed_credential_or_another_key_fails() -> None:
    signed = sign(UNSIGNED, parse_private_multikey(SECRET), METHOD, CREATED, with_examples)
    changed = copy.deepcopy(signed)
    changed["credentialSubject"]["alumniOf"] = "Another School"
    with pytest.raises(IntegrityError, match="does not match"):
        verify(changed, parse_multikey(PUBLIC), with_examples)
    other = "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    with pytest.raises(IntegrityError, match="does not match"):
        verify(signed, parse_multikey(other), with_examples)


def test_nothing_is_fetched() -> None:
    with pytest.raises(JsonLdError) as refused:
        canonize(UNSIGNED)  # the examples context is not vendored
    assert "is not vendored, and is never fetched" in str(refused.value)


@given(st.sets(st.integers(min_value=0, max_value=STATUS_LIST_LENGTH - 1), max_size=40))
def test_a_status_list_keeps_exactly_its_revoked_bits(revoked: set[int]) -> None:
    bits = decode_bits(encode_bits(with_bits(bytes(STATUS_LIST_LENGTH // 8), sorted(revoked))))
    assert len(bits) * 8 == STATUS_LIST_LENGTH
    probes = revoked | {0, 7, 8, STATUS_LIST_LENGTH - 1} | {i + 1 for i in revoked}
    for index in probes:
        if index < STATUS_LIST_LENGTH:
            assert bit(bits, index) == (index in revoked)


def test_index_zero_is_the_left_most_bit() -> None:
    assert with_bits(bytes(2), [0, 9]) == b"\x80\x40"
    assert encode_bits(bytes(1)).startswith("u")
