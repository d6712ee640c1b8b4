"""The Merkle tree of a transparency log, as RFC 6962 (section 2.1) defines it.

Leaves are hashed `SHA-256(0x00 || entry)`, interior nodes `SHA-256(0x01 || left ||
right)`, and a tree of `n` leaves splits at the largest power of two below `n`. Proofs
are lists of hashes; their verification follows RFC 9162, section 2.1.3.2 (inclusion)
and 2.1.4.2 (consistency), so a proof made here checks with any other RFC 6962 client
(docs/transparency-log.md, "The tree").

Proofs are computed from a `HashReader` that answers the hash of any complete subtree
`[start, start + 2**k)`; `MemoryTree` keeps every level in memory, `tiles.py` reads them
from tiles. Pure: hashlib only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof does not verify, or was asked for a tree or index that cannot have one."""


def leaf_hash(entry: bytes) -> bytes:
    """The hash of a leaf: `SHA-256(0x00 || entry)`."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: `SHA-256(0x01 || left || right)`."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below `n` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class HashReader(Protocol):
    """Answers the hash of the complete subtree of `2**level` leaves starting at
    `index * 2**level`, which must lie inside the tree."""

    def subtree(self, level: int, index: int) -> bytes:
        """The hash of that complete subtree."""
        ...


def range_hash(reader: HashReader, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range that is aligned as RFC 6962 splits it."""
    n = end - start
    if n <= 0:
        raise ProofError("an empty range has no hash")
    if n & (n - 1) == 0 and start % n == 0:
        return reader.subtree(n.bit_length() - 1, start // n)
    k = _split(n)
    return node_hash(range_hash(reader, start, start + k), range_hash(reader, start + k, end))


def root_hash(reader: HashReader, size: int) -> bytes:
    """The root of the tree of the first `size` leaves (SHA-256 of nothing when empty)."""
    return EMPTY_ROOT if size == 0 else range_hash(reader, 0, size)


def inclusion_proof(reader: HashReader, index: int, size: int) -> list[bytes]:
    """The audit path of leaf `index` in the tree of `size` leaves (RFC 6962 PATH)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    return _path(reader, index, 0, size)


def _path(reader: HashReader, index: int, start: int, end: int) -> list[bytes]:
    n = end - start
    if n == 1:
        return []
    k = _split(n)
    if index < start + k:
        return [*_path(reader, index, start, start + k), range_hash(reader, start + k, end)]
    return [*_path(reader, index, start + k, end), range_hash(reader, start, start + k)]


def consistency_proof(reader: HashReader, old: int, new: int) -> list[bytes]:
    """The proof that the tree of `old` leaves is a prefix of the tree of `new` (RFC 6962
    PROOF); empty when `old` is 0 or equals `new`."""
    if not 0 <= old <= new:
        raise ProofError(f"no consistency proof from {old} leaves to {new}")
    if old in (0, new):
        return []
    return _subproof(reader, old, 0, new, True)


def _subproof(reader: HashReader, m: int, start: int, end: int, whole: bool) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if whole else [range_hash(reader, start, end)]
    k = _split(n)
    if m <= k:
        return [*_subproof(reader, m, start, start + k, whole), range_hash(reader, start + k, end)]
    tail = _subproof(reader, m - k, start + k, end, False)
    return [*tail, range_hash(reader, start, start + k)]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that `leaf` (a leaf hash) is at `index` in the tree of `size` with `root`
    (RFC 9162, 2.1.3.2); `ProofError` says why not."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    fn, sn, node = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            node = node_hash(sibling, node)
            while fn & 1 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            node = node_hash(node, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the inclusion proof is shorter than the tree is deep")
    if node != root:
        raise ProofError("the inclusion proof does not lead to the checkpoint's root hash")


def verify_consistency(
    old: int, new: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Check that the tree of `old` leaves with `old_root` is a prefix of the tree of
    `new` leaves with `new_root` (RFC 9162, 2.1.4.2); `ProofError` says why not."""
    if not 0 <= old <= new:
        raise ProofError(f"a tree of {new} leaves cannot extend one of {old}")
    if old == new or old == 0:
        if proof:
            raise ProofError("a consistency proof between these sizes must be empty")
        if old == new and old_root != new_root:
            raise ProofError("two checkpoints of the same size have different root hashes")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    if old & (old - 1) == 0:  # a power of two: the old root is the proof's first node
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than it can be")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn & 1 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the consistency proof is shorter than it must be")
    if fr != old_root:
        raise ProofError(
            "the older checkpoint is not a prefix of the newer one: the log forked, "
            "or the proof is wrong"
        )
    if sr != new_root:
        raise ProofError("the consistency proof does not lead to the newer root hash")


class MemoryTree:
    """Every level of a tree in memory: for tests, tools and small logs."""

    def __init__(self, leaves: Sequence[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        for leaf in leaves:
            self.append(leaf)

    @property
    def size(self) -> int:
        """How many leaves the tree has."""
        return len(self.levels[0])

    def append(self, leaf: bytes) -> int:
        """Add a leaf hash; returns its index. Completes every subtree it closes."""
        index = self.size
        self.levels[0].append(leaf)
        level, position = 0, index
        while position & 1:
            right = self.levels[level][position]
            left = self.levels[level][position - 1]
            if len(self.levels) == level + 1:
                self.levels.append([])
            self.levels[level + 1].append(node_hash(left, right))
            level, position = level + 1, position >> 1
        return index

    def subtree(self, level: int, index: int) -> bytes:
        """The hash of complete subtree `index` at `level`."""
        try:
            return self.levels[level][index]
        except IndexError:
            raise ProofError(f"the tree has no complete subtree {index} at level {level}") from None

    def root(self, size: int | None = None) -> bytes:
        """The root of the first `size` leaves (all of them by default)."""
        return root_hash(self, self.size if size is None else size)
