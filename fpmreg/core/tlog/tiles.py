"""The C2SP tlog-tiles layout: tile and entry-bundle paths, their contents, and a hash
reader that works from tiles (docs/transparency-log.md, "Tiles").

The tree is cut into tiles of 256 hashes. The tile at level `L` and index `N` holds the
hashes of the complete subtrees of height `8 * L` numbered `256 * N` to `256 * N + 255`:
level 0 tiles hold leaf hashes, level 1 tiles the roots of each 256 leaves, and so on. A
tile the tree does not fill yet is served partial, with its width `W` in the path
(`.p/W`); once written, a tile of a given width never changes, so every tile is
immutable and can be cached for ever. Entry bundles hold the log entries themselves, 256
to a bundle, each entry prefixed by its length as a big-endian 16-bit number.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fpmreg.core.tlog.merkle import HashReader, ProofError, node_hash

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
HASH_SIZE = 32
MAX_LEVEL = 63
MAX_ENTRY_BYTES = 0xFFFF

_INDEX = re.compile(r"^(?:x\d{3}/)*\d{3}$")


class TilePathError(ValueError):
    """A path that is not a tile or entry-bundle path of the layout."""


@dataclass(frozen=True)
class Tile:
    """One tile: `level` (0 to 63, or -1 for an entry bundle), `index`, and `width`
    (1 to 256; 256 is a full tile)."""

    level: int
    index: int
    width: int = TILE_WIDTH

    @property
    def is_entries(self) -> bool:
        return self.level < 0

    def path(self) -> str:
        """The path below the log's prefix, e.g. `tile/0/x001/x234/067.p/8`."""
        level = "entries" if self.is_entries else str(self.level)
        partial = "" if self.width == TILE_WIDTH else f".p/{self.width}"
        return f"tile/{level}/{encode_index(self.index)}{partial}"


def encode_index(index: int) -> str:
    """`1234067` as `x001/x234/067`: three digits a path element, `x` before all but the
    last, so no folder holds more than 1000 names."""
    if index < 0:
        raise ValueError("a tile index is not negative")
    groups = []
    while True:
        groups.append(f"{index % 1000:03d}")
        index //= 1000
        if index == 0:
            break
    groups.reverse()
    return "/".join([f"x{g}" for g in groups[:-1]] + [groups[-1]])


def parse_tile_path(path: str) -> Tile:
    """The tile a path below the prefix names; `TilePathError` if it names none."""
    parts = path.split("/", 2)
    if len(parts) != 3 or parts[0] != "tile":
        raise TilePathError("a tile path is tile/<level>/<index>[.p/<width>]")
    level_text, rest = parts[1], parts[2]
    if level_text == "entries":
        level = -1
    elif level_text.isdigit() and str(int(level_text)) == level_text:
        level = int(level_text)
        if level > MAX_LEVEL:
            raise TilePathError(f"a tile level is at most {MAX_LEVEL}")
    else:
        raise TilePathError("a tile level is a decimal number or `entries`")
    width = TILE_WIDTH
    if ".p/" in rest:
        rest, width_text = rest.split(".p/", 1)
        if not width_text.isdigit() or str(int(width_text)) != width_text:
            raise TilePathError("a partial tile's width is a decimal number")
        width = int(width_text)
        if not 1 <= width < TILE_WIDTH:
            raise TilePathError(f"a partial tile's width is 1 to {TILE_WIDTH - 1}")
    if not _INDEX.match(rest):
        raise TilePathError("a tile index is 3-digit groups, `x` before all but the last")
    return Tile(level, int(rest.replace("x", "").replace("/", "")), width)


def tile_for(level: int, index: int, size: int) -> Tile | None:
    """The tile of level `level` and index `index` as a tree of `size` leaves has it:
    full, partial, or None when the tree has no hash in it yet."""
    per_hash = 1 << (TILE_HEIGHT * level)
    hashes = size // per_hash - index * TILE_WIDTH
    if hashes <= 0:
        return None
    return Tile(level, index, min(hashes, TILE_WIDTH))


def entries_for(index: int, size: int) -> Tile | None:
    """The entry bundle `index` as a tree of `size` leaves has it, or None."""
    count = size - index * TILE_WIDTH
    if count <= 0:
        return None
    return Tile(-1, index, min(count, TILE_WIDTH))


def tile_hashes(reader: HashReader, tile: Tile) -> bytes:
    """The bytes of `tile`: its `width` hashes, read from `reader`."""
    level = tile.level * TILE_HEIGHT
    first = tile.index * TILE_WIDTH
    return b"".join(reader.subtree(level, first + i) for i in range(tile.width))


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian 16-bit length and its bytes."""
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY_BYTES:
            raise ValueError(f"a log entry is at most {MAX_ENTRY_BYTES} bytes")
        out += struct.pack(">H", len(entry)) + entry
    return bytes(out)


def decode_bundle(data: bytes) -> list[bytes]:
    """The entries of a bundle; `ProofError` if it is cut short."""
    entries, at = [], 0
    while at < len(data):
        if at + 2 > len(data):
            raise ProofError("an entry bundle ends inside a length")
        (length,) = struct.unpack_from(">H", data, at)
        at += 2
        if at + length > len(data):
            raise ProofError("an entry bundle ends inside an entry")
        entries.append(data[at : at + length])
        at += length
    return entries


class TileReader:
    """A `HashReader` for a tree of `size` leaves that reads the tiles a log serves.

    `fetch(tile)` returns a tile's bytes; each tile is fetched at most once. Hashes at
    heights between tile levels are computed from the tile below."""

    def __init__(self, fetch: Callable[[Tile], bytes], size: int) -> None:
        self._fetch = fetch
        self.size = size
        self._tiles: dict[Tile, bytes] = {}
        self._computed: dict[tuple[int, int], bytes] = {}  # hashes between tile levels

    def subtree(self, level: int, index: int) -> bytes:
        if (index + 1) << level > self.size:
            raise ProofError("the tree has no complete subtree there")
        base = level - level % TILE_HEIGHT
        if level != base:  # combine the two halves from the level below, once
            found = self._computed.get((level, index))
            if found is None:
                left = self.subtree(level - 1, 2 * index)
                found = node_hash(left, self.subtree(level - 1, 2 * index + 1))
                self._computed[(level, index)] = found
            return found
        tile = tile_for(base // TILE_HEIGHT, index // TILE_WIDTH, self.size)
        if tile is None:
            raise ProofError("the tree has no tile there")
        data = self._tiles.get(tile)
        if data is None:
            data = self._fetch(tile)
            if len(data) != tile.width * HASH_SIZE:
                raise ProofError(f"tile {tile.path()} is not {tile.width} hashes long")
            self._tiles[tile] = data
        at = (index % TILE_WIDTH) * HASH_SIZE
        return data[at : at + HASH_SIZE]
