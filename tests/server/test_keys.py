"""The registry's keys: processes starting together on an empty keys folder (gunicorn's
workers) all load one complete key, and a rotation keeps the old public key."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from fpmreg.server.federation.keys import load_keys, rotate_keys

BASE = "http://registry.example"


def _load(folder: str) -> tuple[str, str]:
    keys = load_keys(Path(folder), BASE)
    return keys.multikeys()[0], keys.witness_signer.verifier.encode()


def test_processes_starting_together_agree_on_one_whole_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Pool(6) as pool:
        seen = pool.map(_load, [str(tmp_path / "keys")] * 12)

    assert len(set(seen)) == 1  # every process read the same, complete keys
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == [
        "ed25519.key",
        "rsa.key",
        "witness.key",
    ]  # no temporary file left behind
    assert oct((tmp_path / "keys" / "rsa.key").stat().st_mode & 0o777) == "0o600"


def test_a_rotation_keeps_the_old_public_key(tmp_path: Path) -> None:
    before = load_keys(tmp_path, BASE).multikeys()
    after = rotate_keys(tmp_path, BASE).multikeys()
    assert after[1:] == before and after[0] != before[0]
