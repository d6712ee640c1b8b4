"""The transparency log's JSON answers (docs/transparency-log.md, "Serving the log")."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from fpmreg.core.wire import WireModel


class PublicKey(WireModel):
    """One of the registry's Ed25519 keys as a Multikey."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    id: str = Field(description="the verification method URL records name in their proof")
    type: str = Field(description="always `Multikey`")
    controller: str = Field(description="the registry's base URL")
    public_key_multibase: str = Field(alias="publicKeyMultibase")
    current: bool = Field(description="false for a retired key, kept to verify old records")


class PublicKeys(WireModel):
    """The registry's signing keys, current first, and the log's note verifier key."""

    origin: str = Field(description="the log's origin, the first line of its checkpoints")
    note_key: str = Field(description="the C2SP note verifier key `name+id+base64`")
    keys: list[PublicKey]


class LogEntryProof(WireModel):
    """One log entry with its inclusion proof in the checkpoint sent with it."""

    index: int = Field(ge=0)
    record: dict[str, Any] = Field(description="the signed record, as stored (JCS)")
    tree_size: int = Field(ge=1, description="the size of the tree the proof is for")
    proof: list[str] = Field(description="the inclusion proof, base64 hashes, leaf upward")
    checkpoint: str = Field(description="the signed checkpoint of `tree_size`")


class LogEntryList(WireModel):
    """The log indexes of every record about one package URL, oldest first."""

    subject: str
    indexes: list[int]


MAX_LOOKUP_SUBJECTS = 1000


class LogLookup(WireModel):
    """Package URLs whose log entries a client wants, e.g. every release of a lock."""

    subjects: list[str] = Field(max_length=MAX_LOOKUP_SUBJECTS)


class LogLookupAnswer(WireModel):
    """For each package URL asked about, the indexes of its records, oldest first."""

    entries: dict[str, list[int]]
    releases: dict[str, int] = Field(
        default_factory=dict,
        description="for each package URL with a release record (`version.publish`), the "
        "index of the newest one: what `fpm.lock` records as `log-index`",
    )
