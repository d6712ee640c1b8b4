"""The registry's transparency log in the database (docs/transparency-log.md, "The
registry's log").

Appending an entry takes the next index from `log_head` (an `UPDATE ... RETURNING`,
which serialises appends on both databases), stores the entry and its leaf hash, and
stores the hash of every subtree the new leaf completes, so any complete subtree's hash
is one row away and a tile is one range query. Everything happens in the caller's
transaction: an entry is in the log exactly when the change it records is committed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fpmreg.core.tlog.merkle import ProofError, inclusion_proof, leaf_hash, node_hash, root_hash
from fpmreg.core.tlog.note import Checkpoint, Signer, sign
from fpmreg.core.tlog.tiles import TILE_HEIGHT, TILE_WIDTH, Tile, encode_bundle
from fpmreg.server.errors import NotFound
from fpmreg.server.federation.models import LogEntry, LogHead, LogNode

HEAD_ID = 1
# Error codes of the log's answers (docs/api-design.md, "Errors").
LOG_TILE_MISSING = "log-tile-missing"
LOG_ENTRY_MISSING = "log-entry-missing"


class NodeReader:
    """Complete subtree hashes read from `log_nodes` (a `HashReader`)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def subtree(self, level: int, index: int) -> bytes:
        node = self.session.get(LogNode, (level, index))
        if node is None:
            raise ProofError(f"the log has no complete subtree {level}/{index}")
        return node.hash

    def row(self, level: int, first: int, count: int) -> list[bytes]:
        """`count` hashes of one level from `first` on, in order."""
        return list(
            self.session.scalars(
                select(LogNode.hash)
                .where(
                    LogNode.level == level,
                    LogNode.index >= first,
                    LogNode.index < first + count,
                )
                .order_by(LogNode.index)
            )
        )


class TransparencyLog:
    """Append to and read the log in one session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.nodes = NodeReader(session)

    def size(self) -> int:
        return self.session.scalar(select(LogHead.size).where(LogHead.id == HEAD_ID)) or 0

    def append(
        self, make_entry: Callable[[int], bytes], *, action: str, subject: str, at: datetime
    ) -> int:
        """Add the entry `make_entry(index)` as the next leaf (it may name its own index);
        that index."""
        size = self.session.execute(
            update(LogHead)
            .where(LogHead.id == HEAD_ID)
            .values(size=LogHead.size + 1)
            .returning(LogHead.size)
        ).scalar_one()
        index = size - 1
        entry = make_entry(index)
        self.session.add(
            LogEntry(index=index, action=action, subject=subject, body=entry, created_at=at)
        )
        digest = leaf_hash(entry)
        self.session.add(LogNode(level=0, index=index, hash=digest))
        level, position = 0, index
        while position % 2 == 1:  # the new node is a right child: its parent completes
            left = self.nodes.subtree(level, position - 1)
            digest = node_hash(left, digest)
            level, position = level + 1, position // 2
            self.session.add(LogNode(level=level, index=position, hash=digest))
        self.session.flush()
        return index

    def checkpoint(self, signer: Signer, size: int | None = None) -> str:
        """The signed checkpoint of the log as it is now, or at `size` leaves."""
        size = self.size() if size is None else size
        root = root_hash(self.nodes, size)
        return sign(Checkpoint(signer.name, size, root).text(), signer)

    def tile(self, tile: Tile) -> bytes:
        """The bytes of a hash tile, or `NotFound` if the log does not have it yet."""
        level = tile.level * TILE_HEIGHT
        hashes = self.nodes.row(level, tile.index * TILE_WIDTH, tile.width)
        if len(hashes) != tile.width:
            raise NotFound(LOG_TILE_MISSING, f"the log has no tile {tile.path()} yet")
        return b"".join(hashes)

    def bundle(self, tile: Tile) -> bytes:
        """The bytes of an entry bundle, or `NotFound` if the log does not have it yet."""
        first = tile.index * TILE_WIDTH
        bodies = list(
            self.session.scalars(
                select(LogEntry.body)
                .where(LogEntry.index >= first, LogEntry.index < first + tile.width)
                .order_by(LogEntry.index)
            )
        )
        if len(bodies) != tile.width:
            raise NotFound(LOG_TILE_MISSING, f"the log has no entry bundle {tile.path()} yet")
        return encode_bundle(bodies)

    def entry(self, index: int) -> LogEntry:
        found = self.session.get(LogEntry, index)
        if found is None:
            raise NotFound(LOG_ENTRY_MISSING, f"the log has no entry {index}")
        return found

    def proof(self, index: int, size: int) -> list[bytes]:
        """The inclusion proof of entry `index` in the tree of `size` leaves."""
        if not 0 <= index < size <= self.size():
            raise NotFound(
                LOG_ENTRY_MISSING,
                f"the log has no entry {index} in a tree of {size} (its size is {self.size()})",
            )
        return inclusion_proof(self.nodes, index, size)
