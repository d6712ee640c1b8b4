"""Data Integrity proofs with the `eddsa-rdfc-2022` cryptosuite (W3C "Data Integrity
EdDSA Cryptosuites v1.0"), for the registry's verifiable credentials
(docs/credentials.md, "The proof").

The proof options (without `proofValue`, with the document's `@context`) and the
document (without `proof`) are each canonicalised with RDFC-1.0 into N-Quads, over the
vendored contexts only; the hash data is SHA-256 of the options followed by SHA-256 of
the document; Ed25519 signs it and `proofValue` is the signature multibase base58btc.
"""

from __future__ import annotations

import hashlib
from typing import Any, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from pyld import jsonld  # type: ignore[import-untyped]

from fpmreg.core.integrity import IntegrityError, b58decode, b58encode
from fpmreg.server.linked.jsonld import load_document

CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_TYPE = "DataIntegrityProof"
PURPOSE = "assertionMethod"


def canonize(document: dict[str, Any], loader: Any = load_document) -> str:
    """The RDFC-1.0 (URDNA2015) canonical N-Quads of a JSON-LD document."""
    options = {
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": loader,
        "base": None,
    }
    return cast(str, jsonld.normalize(document, options))


def proof_options(document: dict[str, Any], method: str, created: str) -> dict[str, Any]:
    """The proof configuration of `document`, before it is signed."""
    return {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": method,
        "proofPurpose": PURPOSE,
        "@context": document["@context"],
    }


def hash_data(
    document: dict[str, Any], options: dict[str, Any], loader: Any = load_document
) -> bytes:
    """SHA-256(canonical proof options) || SHA-256(canonical document without proof)."""
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    config = {k: v for k, v in options.items() if k != "proofValue"}
    config["@context"] = document["@context"]
    return (
        hashlib.sha256(canonize(config, loader).encode()).digest()
        + hashlib.sha256(canonize(unsecured, loader).encode()).digest()
    )


def sign(
    document: dict[str, Any],
    key: Ed25519PrivateKey,
    method: str,
    created: str,
    loader: Any = load_document,
) -> dict[str, Any]:
    """`document` with an `eddsa-rdfc-2022` proof by `key`, named `method`. The proof in
    the result carries no `@context` (the document's applies to it)."""
    options = proof_options(document, method, created)
    signature = key.sign(hash_data(document, options, loader))
    proof = {k: v for k, v in options.items() if k != "@context"}
    return {**document, "proof": {**proof, "proofValue": "z" + b58encode(signature)}}


def verify(
    document: dict[str, Any], public: Ed25519PublicKey, loader: Any = load_document
) -> dict[str, Any]:
    """The proof of `document` once checked against `public`; `IntegrityError` if it is
    missing, of another suite, or does not match."""
    proof = document.get("proof")
    if not isinstance(proof, dict):
        raise IntegrityError("the credential has no proof")
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        raise IntegrityError(f"the proof is not a {PROOF_TYPE} of {CRYPTOSUITE}")
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise IntegrityError("the proof's proofValue is not multibase base58btc")
    try:
        public.verify(b58decode(value[1:]), hash_data(document, proof, loader))
    except InvalidSignature:
        raise IntegrityError("the proof does not match the credential or the key") from None
    return proof
