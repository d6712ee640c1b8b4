"""Checking a signed object a registry serves (docs/vetting.md, "fpmreg vet"): its bytes
hash to the sha256 it names, and the transparency-log record at its `log_index` signs
that digest for the registry, under one of the registry's published keys.

Pure: the caller fetches the record and the keys; `fpmreg vet` and the registry's import
of remote evidence (docs/communities.md, "Verdicts") share these checks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fpmreg.core.integrity import IntegrityError, canonical, parse_multikey, verify_proof


class SignedError(ValueError):
    """An object its log record does not vouch for; the message names it and says why."""


@dataclass(frozen=True, slots=True)
class Logged:
    """An object as served: its document, the digest it names and its log entry."""

    body: dict[str, Any]
    sha256: str
    log_index: int

    def to_json(self) -> dict[str, Any]:
        """`{"sha256", "log_index", "body"}`, as `imports.lock` keeps it."""
        return {"sha256": self.sha256, "log_index": self.log_index, "body": self.body}


def check_digest(item: Mapping[str, Any], name: str) -> Logged:
    """The object `item` (`{"body", "sha256", "log_index", …}`) once its body hashes to
    its sha256, or `SignedError`."""
    body, sha256, index = item.get("body"), item.get("sha256"), item.get("log_index")
    if not isinstance(body, dict) or type(index) is not int:
        raise SignedError(f"`{name}` has no logged version: it cannot be trusted yet")
    if not isinstance(sha256, str) or hashlib.sha256(canonical(body)).hexdigest() != sha256:
        raise SignedError(f"`{name}`: its content does not hash to its sha256")
    return Logged(body, sha256, index)


def check_record(
    logged: Logged, record: Any, origin: str, keys: Mapping[str, Any], name: str
) -> None:
    """`SignedError` unless `record` (the log entry's record) names `logged`'s digest and
    the registry `origin`, and its proof verifies under one of `keys` (key id → the
    published key document, with `publicKeyMultibase`)."""
    if not isinstance(record, dict):
        record = {}
    if record.get("sha256") != logged.sha256 or record.get("registry") != origin:
        raise SignedError(f"`{name}`: log entry {logged.log_index} does not sign this content")
    method = str((record.get("proof") or {}).get("verificationMethod"))
    key = keys.get(method)
    try:
        if not isinstance(key, Mapping):
            raise IntegrityError(f"`{method}` is not one of the registry's keys")
        verify_proof(record, parse_multikey(str(key.get("publicKeyMultibase"))))
    except IntegrityError as exc:
        raise SignedError(f"`{name}`: the log record's signature fails: {exc}") from None


def published_keys(answer: Any) -> dict[str, Any]:
    """Key id → key document, from a registry's `/log/keys` answer."""
    listed = answer.get("keys", []) if isinstance(answer, dict) else []
    return {str(k.get("id")): k for k in listed if isinstance(k, dict)}
