"""The witness side of C2SP tlog-witness (docs/transparency-log.md, "Witnessing").

A log sends `add-checkpoint` a body of `old <size>`, up to 63 base64 consistency-proof
lines, a blank line and its signed checkpoint. The witness checks, in the specification's
order: the origin is one it witnesses (else 404), a trusted key signed it (403), the old
size is not above the new (400), the old size is the one it last cosigned (409, with
that size), the proof leads from the old root to the new (422), and equal sizes have
equal roots (409). Then it records the new checkpoint and answers its cosignature.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from fpmreg.core.tlog.merkle import ProofError, verify_consistency
from fpmreg.core.tlog.note import Checkpoint, NoteError, Signer, Verifier, open_note

MAX_PROOF_LINES = 63
MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class WitnessError(Exception):
    """A refusal with the HTTP status the specification names for it."""

    status: int
    message: str
    size: int | None = None  # the 409's latest cosigned size, sent as text/x.tlog.size

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Submission:
    """A parsed `add-checkpoint` body."""

    old: int
    proof: list[bytes]
    note: str


@dataclass(frozen=True)
class Seen:
    """The latest checkpoint a witness cosigned for one origin (size 0: none)."""

    size: int
    root: bytes


def parse_submission(body: bytes) -> Submission:
    """The old size, proof and note of an `add-checkpoint` body; 400 if malformed."""
    if len(body) > MAX_BODY_BYTES:
        raise WitnessError(400, f"an add-checkpoint body is at most {MAX_BODY_BYTES} bytes")
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise WitnessError(400, "an add-checkpoint body is UTF-8 text") from None
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or not lines[0].startswith("old "):
        raise WitnessError(400, "the body starts with `old <size>`, proof lines, a blank line")
    size = lines[0].removeprefix("old ")
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise WitnessError(400, "the old size is a decimal number without leading zeros")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise WitnessError(400, f"a consistency proof has at most {MAX_PROOF_LINES} lines")
    proof = []
    for line in lines[1:]:
        try:
            node = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            node = b""
        if len(node) != 32:
            raise WitnessError(400, "each proof line is one base64 SHA-256 hash")
        proof.append(node)
    return Submission(int(size), proof, note)


def submission_body(old: int, proof: list[bytes], note: str) -> bytes:
    """The `add-checkpoint` body a log sends."""
    lines = [f"old {old}"] + [base64.b64encode(p).decode() for p in proof]
    return ("\n".join(lines) + "\n\n" + note).encode()


def check_submission(
    submission: Submission, logs: dict[str, list[Verifier]], seen: Seen
) -> Checkpoint:
    """The checkpoint to cosign, once every check passes; `WitnessError` otherwise.

    `logs` maps each witnessed origin to its trusted keys; `seen` is what was last
    cosigned for the submission's origin."""
    origin = submission.note.split("\n", 1)[0]
    keys = logs.get(origin)
    if keys is None:
        raise WitnessError(404, f"this witness does not witness the log `{origin[:100]}`")
    try:
        text, _good = open_note(submission.note, keys)
        checkpoint = Checkpoint.parse(text)
    except NoteError as exc:
        raise WitnessError(403, f"the checkpoint is not signed by the log: {exc}") from None
    if submission.old > checkpoint.size:
        raise WitnessError(400, "the old size is larger than the checkpoint's size")
    if submission.old != seen.size:
        raise WitnessError(
            409, f"the latest cosigned size is {seen.size}, not {submission.old}", seen.size
        )
    if checkpoint.size == seen.size and checkpoint.root != seen.root and seen.size:
        raise WitnessError(409, "a checkpoint of this size with another root hash was cosigned")
    try:
        if seen.size:
            verify_consistency(
                seen.size, checkpoint.size, submission.proof, seen.root, checkpoint.root
            )
        elif submission.proof:
            raise ProofError("the proof from size 0 must be empty")
    except ProofError as exc:
        raise WitnessError(422, str(exc)) from None
    return checkpoint


def cosign(signer: Signer, checkpoint: Checkpoint, timestamp: int) -> str:
    """The witness's cosignature line of `checkpoint` at `timestamp` (Unix seconds)."""
    return signer.signature_line(checkpoint.text().encode(), timestamp)


def parse_witness_logs(setting: str) -> dict[str, list[Verifier]]:
    """The origins and trusted keys of `FPMREG_WITNESS_LOGS` (space-separated note
    verifier keys); `ValueError` names a bad key."""
    logs: dict[str, list[Verifier]] = {}
    for text in setting.split():
        try:
            verifier = Verifier.parse(text)
        except NoteError as exc:
            raise ValueError(
                f"FPMREG_WITNESS_LOGS: `{text[:60]}` is not a note key: {exc}"
            ) from None
        logs.setdefault(verifier.name, []).append(verifier)
    return logs


def parse_log_witnesses(setting: str) -> list[tuple[str, Verifier]]:
    """The `(submission URL, cosignature key)` pairs of `FPMREG_LOG_WITNESSES`
    (comma-separated `URL KEY`); `ValueError` names a bad one."""
    peers = []
    for item in filter(None, (part.strip() for part in setting.split(","))):
        url, _, key = item.partition(" ")
        if not url.startswith(("http://", "https://")) or not key.strip():
            raise ValueError(f"FPMREG_LOG_WITNESSES: `{item[:80]}` is not `URL KEY`")
        try:
            peers.append((url.rstrip("/"), Verifier.parse(key.strip())))
        except NoteError as exc:
            raise ValueError(
                f"FPMREG_LOG_WITNESSES: `{key[:60]}` is not a note key: {exc}"
            ) from None
    return peers
