"""Following another registry's log from a known state (docs/mirrors.md, "Verifying").

A follower keeps the size and root of the last checkpoint it verified. A new checkpoint
must be signed by the log's pinned key and extend that one (a consistency proof read
from the log's tiles), else the log forked. The entries it adds are read from the entry
bundles and each one's inclusion under the new checkpoint is proved from the tiles, so
nothing the follower acts on comes from anywhere but the signed tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from fpmreg.core.tlog.merkle import (
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from fpmreg.core.tlog.note import Checkpoint, NoteError, Verifier, open_note
from fpmreg.core.tlog.tiles import TILE_WIDTH, Tile, TileReader, decode_bundle, entries_for


class ForkError(ValueError):
    """The log's new checkpoint does not extend the one seen before, or is not signed."""


@dataclass(frozen=True)
class Seen:
    """The last verified state of a followed log."""

    size: int
    root: bytes


def open_checkpoint(note: str, key: Verifier, origin: str) -> Checkpoint:
    """The checkpoint of a signed note, or `ForkError` if `key` did not sign it or it is
    another log's."""
    try:
        text, good = open_note(note, [key])
        checkpoint = Checkpoint.parse(text)
    except NoteError as exc:
        raise ForkError(f"the checkpoint does not verify with the pinned log key: {exc}") from None
    if key not in good:
        raise ForkError("the checkpoint is not signed by the pinned log key")
    if checkpoint.origin != origin:
        raise ForkError(f"the checkpoint is of log `{checkpoint.origin}`, not `{origin}`")
    return checkpoint


def check_extends(reader: TileReader, seen: Seen, new: Checkpoint) -> None:
    """`ForkError` unless `new` extends `seen` (read from the tiles of `new`)."""
    if new.size < seen.size:
        raise ForkError(f"the log shrank from {seen.size} to {new.size} entries: it forked")
    try:
        if seen.size == 0:
            return
        proof = consistency_proof(reader, seen.size, new.size) if seen.size < new.size else []
        verify_consistency(seen.size, new.size, proof, seen.root, new.root)
    except ProofError as exc:
        raise ForkError(f"the log is not consistent with the one seen before: {exc}") from None


def new_entries(
    fetch: Callable[[Tile], bytes], reader: TileReader, new: Checkpoint, start: int, stop: int
) -> Iterator[tuple[int, bytes]]:
    """The entries `start` to `stop` (exclusive, at most `new.size`), each proved
    included under `new`; `ProofError` at the first that is not."""
    stop = min(stop, new.size)
    bundles: dict[int, list[bytes]] = {}
    for index in range(start, stop):
        number = index // TILE_WIDTH
        if number not in bundles:
            tile = entries_for(number, new.size)
            assert tile is not None  # index < new.size
            bundles = {number: decode_bundle(fetch(tile))}
        entries = bundles[number]
        if index % TILE_WIDTH >= len(entries):
            raise ProofError(f"the entry bundle of entry {index} is short")
        entry = entries[index % TILE_WIDTH]
        proof = inclusion_proof(reader, index, new.size)
        verify_inclusion(leaf_hash(entry), index, new.size, proof, new.root)
        yield index, entry
