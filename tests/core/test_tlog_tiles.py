"""The C2SP tlog-tiles layout: paths as the specification writes them, and proofs read
from tiles equal to proofs read from the whole tree."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fpmreg.core.tlog.merkle import (
    MemoryTree,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
)
from fpmreg.core.tlog.tiles import (
    Tile,
    TilePathError,
    TileReader,
    decode_bundle,
    encode_bundle,
    encode_index,
    entries_for,
    parse_tile_path,
    tile_for,
    tile_hashes,
)


def test_indexes_are_written_in_groups_of_three_digits() -> None:
    # The specification's own example: 1234067 is x001/x234/067.
    assert encode_index(1234067) == "x001/x234/067"
    assert encode_index(0) == "000"
    assert encode_index(999) == "999"
    assert encode_index(1000) == "x001/000"
    assert Tile(0, 1234067).path() == "tile/0/x001/x234/067"
    assert Tile(1, 5, 8).path() == "tile/1/005.p/8"
    assert Tile(-1, 42, 3).path() == "tile/entries/042.p/3"


@given(st.integers(min_value=-1, max_value=63), st.integers(0, 10**12), st.integers(1, 256))
def test_tile_paths_parse_back(level: int, index: int, width: int) -> None:
    tile = Tile(level, index, width)
    assert parse_tile_path(tile.path()) == tile


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1",
        "tile/0/0001",
        "tile/00/001",
        "tile/64/001",
        "tile/0/001.p/0",
        "tile/0/001.p/256",
        "tile/0/001.p/08",
        "tile/0/x001",
        "tile/0/001/002",
        "tile/x/001",
        "tiles/0/001",
        "tile/0/../001",
    ],
)
def test_paths_outside_the_layout_are_refused(path: str) -> None:
    with pytest.raises(TilePathError):
        parse_tile_path(path)


def test_which_tiles_a_tree_has() -> None:
    assert tile_for(0, 0, 0) is None
    assert tile_for(0, 0, 5) == Tile(0, 0, 5)
    assert tile_for(0, 0, 300) == Tile(0, 0)
    assert tile_for(0, 1, 300) == Tile(0, 1, 44)
    assert tile_for(1, 0, 300) == Tile(1, 0, 1)
    assert tile_for(1, 0, 255) is None
    assert entries_for(1, 300) == Tile(-1, 1, 44)
    assert entries_for(2, 300) is None


@given(st.lists(st.binary(max_size=300), max_size=20))
def test_bundles_round_trip_and_cut_bundles_are_refused(entries: list[bytes]) -> None:
    data = encode_bundle(entries)
    assert decode_bundle(data) == entries
    if data:
        with pytest.raises(ProofError):
            decode_bundle(data[:-1])


def _served(tree: MemoryTree, size: int) -> TileReader:
    def fetch(tile: Tile) -> bytes:
        assert tile_for(tile.level, tile.index, size) == tile  # only tiles the tree has
        return tile_hashes(tree, tile)

    return TileReader(fetch, size)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 70_000), st.data())
def test_proofs_from_tiles_equal_proofs_from_the_tree(size: int, data: st.DataObject) -> None:
    tree = MemoryTree([leaf_hash(i.to_bytes(4, "big")) for i in range(size)])
    reader = _served(tree, size)
    assert root_hash(reader, size) == tree.root(size)
    index = data.draw(st.integers(0, size - 1))
    assert inclusion_proof(reader, index, size) == inclusion_proof(tree, index, size)
    old = data.draw(st.integers(1, size))
    assert consistency_proof(reader, old, size) == consistency_proof(tree, old, size)


def test_a_short_tile_is_refused() -> None:
    tree = MemoryTree([leaf_hash(b"a"), leaf_hash(b"b")])
    reader = TileReader(lambda tile: tile_hashes(tree, tile)[:-1], 2)
    with pytest.raises(ProofError, match="is not 2 hashes long"):
        root_hash(reader, 2)
