"""The Merkle tree against RFC 6962's published test vectors, and proofs for every shape."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fpmreg.core.tlog.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

h = bytes.fromhex
# The eight leaves and the roots of their prefixes from the RFC 6962 test vectors
# (the certificate-transparency reference implementations test with them).
LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
          "606162636465666768696a6b6c6d6e6f"]  # fmt: skip
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
TREE = MemoryTree([leaf_hash(h(x)) for x in LEAVES])


def test_the_roots_of_every_prefix_match_the_rfc_vectors() -> None:
    assert TREE.root(0) == EMPTY_ROOT
    assert [TREE.root(n).hex() for n in range(1, 9)] == ROOTS


def test_inclusion_and_consistency_proofs_match_the_rfc_vectors() -> None:
    path = [
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    ]
    assert inclusion_proof(TREE, 5, 8) == path
    verify_inclusion(leaf_hash(h(LEAVES[5])), 5, 8, path, h(ROOTS[7]))
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(h(LEAVES[5])), 4, 8, path, h(ROOTS[7]))
    consistency = [
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    ]
    assert consistency_proof(TREE, 6, 8) == consistency
    verify_consistency(6, 8, consistency, h(ROOTS[5]), h(ROOTS[7]))
    with pytest.raises(ProofError, match="forked"):
        verify_consistency(6, 8, consistency, h(ROOTS[4]), h(ROOTS[7]))


@given(st.integers(min_value=1, max_value=70), st.data())
def test_every_leaf_of_every_tree_has_a_proof_that_verifies_and_only_there(
    size: int, data: st.DataObject
) -> None:
    tree = MemoryTree([leaf_hash(i.to_bytes(4, "big")) for i in range(size)])
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    proof = inclusion_proof(tree, index, size)
    leaf = tree.subtree(0, index)
    verify_inclusion(leaf, index, size, proof, tree.root(size))
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(b"forged"), index, size, proof, tree.root(size))
    if size > 1:
        with pytest.raises(ProofError):
            verify_inclusion(leaf, (index + 1) % size, size, proof, tree.root(size))


@given(st.integers(min_value=1, max_value=70), st.data())
def test_every_prefix_is_proved_consistent_and_a_fork_is_caught(
    new: int, data: st.DataObject
) -> None:
    tree = MemoryTree([leaf_hash(i.to_bytes(4, "big")) for i in range(new)])
    old = data.draw(st.integers(min_value=1, max_value=new))
    proof = consistency_proof(tree, old, new)
    verify_consistency(old, new, proof, tree.root(old), tree.root(new))
    # A log that rewrote its history: same sizes, another leaf somewhere in the prefix.
    forked = MemoryTree([leaf_hash(i.to_bytes(4, "big")) for i in range(new)])
    forked.levels = [[]]
    changed = data.draw(st.integers(min_value=0, max_value=old - 1))
    for i in range(new):
        forked.append(leaf_hash(b"evil" if i == changed else i.to_bytes(4, "big")))
    if old < new:
        with pytest.raises(ProofError):
            verify_consistency(old, new, proof, forked.root(old), tree.root(new))
        with pytest.raises(ProofError):
            verify_consistency(
                old, new, consistency_proof(forked, old, new), tree.root(old), forked.root(new)
            )
    else:
        with pytest.raises(ProofError):
            verify_consistency(old, new, [], forked.root(old), tree.root(new))
