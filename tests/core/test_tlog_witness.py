"""The witness's checks of C2SP tlog-witness, each refusal with the status the
specification names, and cosignatures a client can verify."""

from __future__ import annotations

import pytest

from fpmreg.core.tlog.merkle import MemoryTree, consistency_proof, leaf_hash
from fpmreg.core.tlog.note import COSIGNATURE, Checkpoint, Signer, open_note, sign
from fpmreg.core.tlog.witness import (
    Seen,
    WitnessError,
    check_submission,
    cosign,
    parse_submission,
    submission_body,
)

LOG = Signer.generate("log.example/log")
WITNESS = Signer.generate("witness.example/witness", COSIGNATURE)
LOGS = {LOG.name: [LOG.verifier]}


def _tree(size: int, salt: bytes = b"") -> MemoryTree:
    return MemoryTree([leaf_hash(salt + i.to_bytes(4, "big")) for i in range(size)])


def _note(tree: MemoryTree, signer: Signer = LOG) -> str:
    return sign(Checkpoint(LOG.name, tree.size, tree.root()).text(), signer)


def _submit(old: int, tree: MemoryTree, seen: Seen, note: str | None = None) -> Checkpoint:
    proof = consistency_proof(tree, old, tree.size) if 0 < old < tree.size else []
    body = submission_body(old, proof, note or _note(tree))
    return check_submission(parse_submission(body), LOGS, seen)


def test_a_consistent_checkpoint_is_cosigned_and_the_cosignature_verifies() -> None:
    old, new = _tree(5), _tree(12)
    checkpoint = _submit(5, new, Seen(5, old.root()))
    line = cosign(WITNESS, checkpoint, 1_700_000_000)

    text, good = open_note(checkpoint.text() + "\n" + line, [WITNESS.verifier])
    assert good == [WITNESS.verifier] and text == checkpoint.text()


def test_the_first_checkpoint_needs_no_proof() -> None:
    assert _submit(0, _tree(3), Seen(0, b"\0" * 32)).size == 3


def test_a_fork_is_refused_with_422() -> None:
    forked = _tree(12, salt=b"other history")
    with pytest.raises(WitnessError) as refused:
        _submit(5, forked, Seen(5, _tree(5).root()))
    assert refused.value.status == 422


def test_a_stale_old_size_gets_409_with_the_size_the_witness_has() -> None:
    with pytest.raises(WitnessError) as refused:
        _submit(3, _tree(12), Seen(5, _tree(5).root()))
    assert (refused.value.status, refused.value.size) == (409, 5)


def test_the_same_size_with_another_root_is_a_409() -> None:
    with pytest.raises(WitnessError) as refused:
        _submit(5, _tree(5, salt=b"x"), Seen(5, _tree(5).root()))
    assert refused.value.status == 409 and refused.value.size is None


def test_unknown_logs_bad_signatures_and_shrinking_trees_are_refused() -> None:
    stranger = Signer.generate("stranger.example/log")
    unknown = sign(Checkpoint(stranger.name, 3, _tree(3).root()).text(), stranger)
    with pytest.raises(WitnessError) as refused:
        check_submission(parse_submission(submission_body(0, [], unknown)), LOGS, Seen(0, b""))
    assert refused.value.status == 404

    impostor = Signer.generate(LOG.name)  # the right name, another key
    with pytest.raises(WitnessError) as refused:
        _submit(0, _tree(3), Seen(0, b"\0" * 32), note=_note(_tree(3), impostor))
    assert refused.value.status == 403

    with pytest.raises(WitnessError) as refused:
        check_submission(
            parse_submission(submission_body(9, [], _note(_tree(3)))), LOGS, Seen(9, b"")
        )
    assert refused.value.status == 400


@pytest.mark.parametrize(
    "body",
    [b"", b"old 1\n", b"new 1\n\nx", b"old 01\n\nx", b"old 1\nnot base64!\n\nx", b"\xff\n\n"],
)
def test_malformed_bodies_are_a_400(body: bytes) -> None:
    with pytest.raises(WitnessError) as refused:
        parse_submission(body)
    assert refused.value.status == 400


def test_more_than_63_proof_lines_are_a_400() -> None:
    body = submission_body(1, [b"\0" * 32] * 64, _note(_tree(3)))
    with pytest.raises(WitnessError, match="at most 63"):
        parse_submission(body)
