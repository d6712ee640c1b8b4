"""Signed notes (C2SP signed-note) and log checkpoints (C2SP tlog-checkpoint).

A note is UTF-8 text ending in a newline, a blank line, then signature lines
`— <key name> base64(key id || signature)`. A key is named and identified by a 4-byte
id, `SHA-256(name || "\\n" || type || public key)[:4]`; type 0x01 is a plain Ed25519
signature over the text, type 0x04 a witness cosignature: an 8-byte big-endian time
followed by an Ed25519 signature over `cosignature/v1\\ntime <t>\\n` + the text.
Verifier keys are written `<name>+<id hex>+base64(type || public key)`; signer keys
`PRIVATE+KEY+<name>+<id hex>+base64(type || private seed)` (docs/transparency-log.md,
"Notes and checkpoints").

Signatures from keys the verifier does not know are ignored; a known key's bad
signature rejects the note; a note with no good signature from a known key is rejected.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
COSIGNATURE = 0x04
MAX_SIGNATURES = 16
MAX_NOTE_BYTES = 1 << 20
_DASH = "\u2014 "


class NoteError(ValueError):
    """A malformed note or key, or a note without a good signature from a known key."""


def key_id(name: str, kind: int, public: bytes) -> int:
    """`SHA-256(name || 0x0A || kind || public)[:4]` as a big-endian integer."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public).digest()
    return int.from_bytes(digest[:4], "big")


def _check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"`{name}` is not a key name (non-empty, no spaces, no `+`)")
    return name


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError("not standard base64") from None


@dataclass(frozen=True)
class Verifier:
    """A public key that checks signatures of one name and id."""

    name: str
    kind: int
    public: bytes

    @property
    def id(self) -> int:
        """The 4-byte key id."""
        return key_id(self.name, self.kind, self.public)

    def encode(self) -> str:
        """`name+hexid+base64(kind || public)`."""
        material = base64.b64encode(bytes([self.kind]) + self.public).decode()
        return f"{self.name}+{self.id:08x}+{material}"

    @classmethod
    def parse(cls, text: str) -> Verifier:
        """A verifier key from its text; `NoteError` if malformed or inconsistent."""
        name, _, rest = text.partition("+")
        hexid, _, material = rest.partition("+")
        raw = _b64decode(material)
        if len(hexid) != 8 or len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE):
            raise NoteError("a verifier key is `name+8 hex digits+base64(type || 32 bytes)`")
        verifier = cls(_check_name(name), raw[0], raw[1:])
        if f"{verifier.id:08x}" != hexid.lower():
            raise NoteError(f"the key id {hexid} does not match the key `{name}`")
        return verifier

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Whether `signature` (without the key id) signs `text` under this key."""
        message = text
        if self.kind == COSIGNATURE:
            if len(signature) != 72:
                return False
            (timestamp,) = struct.unpack(">Q", signature[:8])
            message = cosigned_message(text, timestamp)
            signature = signature[8:]
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


def cosigned_message(text: bytes, timestamp: int) -> bytes:
    """What a witness signs: the header, the time and the checkpoint text."""
    return b"cosignature/v1\ntime %d\n" % timestamp + text


@dataclass(frozen=True)
class Signer:
    """A private key that signs under one name."""

    name: str
    kind: int
    private: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str, kind: int = ED25519) -> Signer:
        """A new random key named `name`."""
        return cls(_check_name(name), kind, Ed25519PrivateKey.generate())

    @classmethod
    def parse(cls, text: str) -> Signer:
        """A signer key `PRIVATE+KEY+name+hexid+base64(kind || seed)`."""
        prefix, _, rest = text.partition("+KEY+")
        if prefix != "PRIVATE":
            raise NoteError("a signer key starts with `PRIVATE+KEY+`")
        name, _, rest = rest.partition("+")
        hexid, _, material = rest.partition("+")
        raw = _b64decode(material)
        if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE):
            raise NoteError("a signer key holds base64(type || 32-byte seed)")
        signer = cls(_check_name(name), raw[0], Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if f"{signer.verifier.id:08x}" != hexid.lower():
            raise NoteError(f"the key id {hexid} does not match the key `{name}`")
        return signer

    @property
    def verifier(self) -> Verifier:
        """The matching public key."""
        public = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return Verifier(self.name, self.kind, public)

    def signature_line(self, text: bytes, timestamp: int = 0) -> str:
        """`— name base64(id || signature)` for `text` (a cosignature at `timestamp`)."""
        if self.kind == COSIGNATURE:
            body = struct.pack(">Q", timestamp) + self.private.sign(
                cosigned_message(text, timestamp)
            )
        else:
            body = self.private.sign(text)
        blob = base64.b64encode(struct.pack(">I", self.verifier.id) + body).decode()
        return f"{_DASH}{self.name} {blob}\n"


def sign(text: str, *signers: Signer, timestamp: int = 0) -> str:
    """The signed note of `text` (which must end in a newline) by every signer."""
    data = text.encode()
    if not text.endswith("\n"):
        raise NoteError("a note's text ends with a newline")
    return text + "\n" + "".join(s.signature_line(data, timestamp) for s in signers)


@dataclass(frozen=True)
class Signature:
    """One signature line: the key name, id and the signature bytes."""

    name: str
    id: int
    signature: bytes


def split(note: str) -> tuple[str, list[Signature]]:
    """The text and the signature lines of a note; `NoteError` if malformed."""
    if len(note.encode()) > MAX_NOTE_BYTES:
        raise NoteError(f"a note is at most {MAX_NOTE_BYTES} bytes")
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise NoteError("a note holds no control characters but newlines")
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise NoteError("a note is text, a blank line, then signature lines")
    text, lines = note[: cut + 1], note[cut + 2 :].splitlines()
    if not lines or len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a note has 1 to {MAX_SIGNATURES} signature lines")
    found = []
    for line in lines:
        name, _, blob = line.removeprefix(_DASH).partition(" ")
        raw = _b64decode(blob) if line.startswith(_DASH) else b""
        if len(raw) < 5 or not name:
            raise NoteError(f"`{line[:80]}` is not a signature line (`— name base64`)")
        found.append(Signature(name, int.from_bytes(raw[:4], "big"), raw[4:]))
    return text, found


def open_note(note: str, known: list[Verifier]) -> tuple[str, list[Verifier]]:
    """The text of a note and the known keys whose signatures verified.

    Unknown keys are ignored; a bad signature by a known key, or no good one at all,
    is a `NoteError`."""
    text, signatures = split(note)
    by_key = {(v.name, v.id): v for v in known}
    good: list[Verifier] = []
    for sig in signatures:
        verifier = by_key.get((sig.name, sig.id))
        if verifier is None:
            continue
        if not verifier.verify(text.encode(), sig.signature):
            raise NoteError(f"the signature of `{sig.name}` does not verify")
        good.append(verifier)
    if not good:
        raise NoteError("the note has no signature from a key this client trusts")
    return text, good


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin, size and root hash (C2SP tlog-checkpoint)."""

    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        """The note text: three lines."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """A checkpoint from note text; `NoteError` if it is not one."""
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
            raise NoteError("a checkpoint is origin, size and root hash, one a line")
        origin, size, root = lines[0], lines[1], _b64decode(lines[2])
        if not size.isdigit() or (size != "0" and size.startswith("0")) or len(root) != 32:
            raise NoteError("a checkpoint's size is a decimal and its root 32 bytes")
        return cls(origin, int(size), root)
