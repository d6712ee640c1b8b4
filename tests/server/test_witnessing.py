"""Two registries on loopback: B witnesses A's log. A's `fpmreg-server log cosign` gets
B's cosignature, A serves it with its checkpoint, and B refuses what does not extend
what it cosigned."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fpmreg.core.tlog.merkle import MemoryTree, leaf_hash
from fpmreg.core.tlog.note import Checkpoint, Signer, Verifier, open_note, sign
from fpmreg.core.tlog.witness import submission_body
from tests.support.databases import fresh_database
from tests.support.live import LiveServer
from tests.support.tarballs import package_tarball


@pytest.fixture
def registries(tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with fresh_database(tmp_path / "a") as a_url, LiveServer(a_url, tmp_path / "a") as a:
        a_key = httpx.get(a.url + "/log/key").text.strip()
        env = {"FPMREG_WITNESS_LOGS": a_key}
        with (
            fresh_database(tmp_path / "b") as b_url,
            LiveServer(b_url, tmp_path / "b", env=env) as b,
        ):
            yield a, b


def _publish(server: LiveServer, token: str, version: str) -> None:
    answer = httpx.post(
        server.url + "/api/v1/packages",
        headers={"Authorization": f"Bearer {token}"},
        files={"tarball": ("t.tar.gz", package_tarball("lib", version), "application/gzip")},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text


def _cosign(a: LiveServer, b: LiveServer) -> subprocess.CompletedProcess[str]:
    witness_key = httpx.get(b.url + "/log/witness/key").text.strip()
    env = {**os.environ, **a.environment()}
    env["FPMREG_LOG_WITNESSES"] = f"{b.url}/log/witness {witness_key}"
    return subprocess.run(
        [sys.executable, "-m", "fpmreg.server", "log", "cosign"],
        env=env, cwd=a.workdir, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _checkpoint(a: LiveServer, b: LiveServer) -> tuple[Checkpoint, list[Verifier]]:
    log_key = Verifier.parse(httpx.get(a.url + "/log/key").text.strip())
    witness_key = Verifier.parse(httpx.get(b.url + "/log/witness/key").text.strip())
    text, good = open_note(httpx.get(a.url + "/log/checkpoint").text, [log_key, witness_key])
    return Checkpoint.parse(text), good


def test_a_witness_cosigns_each_new_checkpoint_of_the_log(
    registries: tuple[LiveServer, LiveServer],
) -> None:
    a, b = registries
    token = a.publisher_token("alpha")
    _publish(a, token, "1.0.0")

    first = _cosign(a, b)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "cosigned size 1" in first.stdout
    checkpoint, good = _checkpoint(a, b)
    assert checkpoint.size == 1 and len(good) == 2  # the log's signature and B's

    _publish(a, token, "1.1.0")
    _publish(a, token, "1.2.0")
    assert len(_checkpoint(a, b)[1]) == 1  # the new size is not cosigned yet
    again = _cosign(a, b)  # B checks a consistency proof from 1 to 3
    assert again.returncode == 0, again.stdout + again.stderr
    assert "cosigned size 3" in again.stdout
    assert len(_checkpoint(a, b)[1]) == 2


def test_the_witness_refuses_forks_strangers_and_stale_sizes(
    registries: tuple[LiveServer, LiveServer],
) -> None:
    a, b = registries
    _publish(a, a.publisher_token("alpha"), "1.0.0")
    assert _cosign(a, b).returncode == 0
    add = b.url + "/log/witness/add-checkpoint"

    stale = httpx.post(
        add, content=submission_body(0, [], httpx.get(a.url + "/log/checkpoint").text)
    )
    assert stale.status_code == 409
    assert stale.headers["content-type"].startswith("text/x.tlog.size")
    assert stale.text == "1\n"

    origin = httpx.get(a.url + "/log/checkpoint").text.split("\n", 1)[0]
    stranger = Signer.generate(origin)  # A's name, not A's key
    tree = MemoryTree([leaf_hash(b"forged")])
    forged = sign(Checkpoint(stranger.name, 1, tree.root()).text(), stranger)
    refused = httpx.post(add, content=submission_body(1, [], forged))
    assert refused.status_code == 403, refused.text

    unknown = Signer.generate("elsewhere.example/log")
    other = sign(Checkpoint(unknown.name, 1, tree.root()).text(), unknown)
    assert httpx.post(add, content=submission_body(0, [], other)).status_code == 404
    assert httpx.post(add, content=b"old x\n\n").status_code == 400
