"""The checks on a signed object a registry serves (docs/vetting.md, "fpmreg vet";
docs/communities.md, "Remote acceptFrom communities"): the body hashes to its sha256, the
log record names that digest and the registry, and its proof verifies under one of the
registry's published keys."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from fpmreg.core.integrity import add_proof, canonical, multikey
from fpmreg.core.vet.signed import SignedError, check_digest, check_record, published_keys

ORIGIN = "https://a.example"
METHOD = f"{ORIGIN}/log/keys#k1"
KEY = Ed25519PrivateKey.generate()
KEYS = published_keys({"keys": [{"id": METHOD, "publicKeyMultibase": multikey(KEY.public_key())}]})

bodies = st.dictionaries(
    st.text(max_size=8), st.one_of(st.integers(-(2**40), 2**40), st.text(max_size=20)), max_size=6
)


def item(body: dict[str, Any], index: int = 7) -> dict[str, Any]:
    return {"body": body, "sha256": hashlib.sha256(canonical(body)).hexdigest(), "log_index": index}


def record(sha256: str, registry: str = ORIGIN, key: Ed25519PrivateKey = KEY) -> dict[str, Any]:
    return add_proof({"sha256": sha256, "registry": registry}, key, METHOD, "2026-12-04T19:00:00Z")


@given(bodies)
def test_a_body_with_its_digest_and_record_passes(body: dict[str, Any]) -> None:
    logged = check_digest(item(body), "x")
    check_record(logged, record(logged.sha256), ORIGIN, KEYS, "x")
    assert logged.to_json() == item(body)


@given(bodies, st.text(min_size=1, max_size=8))
def test_a_changed_body_is_refused(body: dict[str, Any], extra: str) -> None:
    changed = item(body) | {"body": {**body, extra: [extra]}}  # lists are never drawn
    with pytest.raises(SignedError, match="does not hash to its sha256"):
        check_digest(changed, "x")


def test_an_unlogged_object_is_refused() -> None:
    with pytest.raises(SignedError, match="no logged version"):
        check_digest(item({"a": 1}) | {"log_index": None}, "x")


def test_a_record_of_another_digest_registry_or_key_is_refused() -> None:
    logged = check_digest(item({"a": 1}), "x")
    with pytest.raises(SignedError, match="does not sign this content"):
        check_record(logged, record("0" * 64), ORIGIN, KEYS, "x")
    with pytest.raises(SignedError, match="does not sign this content"):
        check_record(logged, record(logged.sha256, "https://b.example"), ORIGIN, KEYS, "x")
    forged = record(logged.sha256, key=Ed25519PrivateKey.generate())
    with pytest.raises(SignedError, match="signature fails"):
        check_record(logged, forged, ORIGIN, KEYS, "x")
    with pytest.raises(SignedError, match="not one of the registry's keys"):
        check_record(logged, record(logged.sha256), ORIGIN, {}, "x")
    with pytest.raises(SignedError, match="does not sign"):
        check_record(logged, None, ORIGIN, KEYS, "x")
