"""Signed notes and checkpoints against the published Go sumdb/note example key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fpmreg.core.tlog.note import (
    COSIGNATURE,
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    open_note,
    sign,
)

# The example key and note of golang.org/x/mod/sumdb/note, the reference C2SP
# signed-note implementation; Ed25519 is deterministic, so signing must reproduce it.
VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
NOTE = (
    TEXT + "\n\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_the_published_note_is_reproduced_and_verifies() -> None:
    signer = Signer.parse(SKEY)
    assert signer.verifier.encode() == VKEY
    assert sign(TEXT, signer) == NOTE
    text, good = open_note(NOTE, [Verifier.parse(VKEY)])
    assert text == TEXT and [v.encode() for v in good] == [VKEY]


def test_a_tampered_note_or_an_unknown_key_is_refused() -> None:
    known = [Verifier.parse(VKEY)]
    with pytest.raises(NoteError, match="does not verify"):
        open_note(NOTE.replace("cryptography", "cryptographY"), known)
    stranger = Signer.generate("PeterNeumann")  # same name, another key: ignored
    with pytest.raises(NoteError, match="no signature from a key"):
        open_note(sign(TEXT, stranger), known)
    for bad in ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10"):  # fmt: skip
        with pytest.raises(NoteError):
            Verifier.parse(bad)
    for malformed in (TEXT, TEXT + "\n", TEXT + "\nnot a signature\n", TEXT + "\n\x07\n"):
        with pytest.raises(NoteError):
            open_note(malformed, known)


def test_a_checkpoint_cosigned_by_a_witness_verifies_for_both_keys() -> None:
    log = Signer.generate("registry.example/log")
    witness = Signer.generate("witness.example/w1", COSIGNATURE)
    checkpoint = Checkpoint("registry.example/log", 20852163, bytes(range(32)))
    note = sign(checkpoint.text(), log)
    cosigned = note + witness.signature_line(checkpoint.text().encode(), 1679315147)
    text, good = open_note(cosigned, [log.verifier, witness.verifier])
    assert Checkpoint.parse(text) == checkpoint
    assert {v.name for v in good} == {"registry.example/log", "witness.example/w1"}
    # The cosignature commits to its time: changing it breaks the signature.
    line = witness.signature_line(checkpoint.text().encode(), 1679315148)
    assert line != witness.signature_line(checkpoint.text().encode(), 1679315147)
    with pytest.raises(NoteError):
        Checkpoint.parse("origin\n007\nAAAA\n")


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FF), max_size=200))
def test_any_text_signs_and_opens_back_to_itself(body: str) -> None:
    text = body.replace("\n", "") + "\n"
    signer = Signer.generate("example.org/key")
    assert open_note(sign(text, signer), [signer.verifier])[0] == text
