"""An ActivityPub test suite nobody on the team wrote: fediverse-pasture's `verify_actor`
fetches the registry's actors with and without signatures, posts to their inboxes
unsigned and signed (fetching its own keys with signed requests, for some actors), and
checks WebFinger. Every check it runs must come out as a correct server's would."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.databases import fresh_database
from tests.support.live import LiveServer, free_port

pytest.importorskip("fediverse_pasture", reason="fediverse-pasture is a dev dependency")

# fediverse-pasture's test actors: alice and dean post unsigned and must be refused; bob,
# claire, emily and frank sign, and claire and frank answer only signed fetches of their
# keys.
UNSIGNED = ("alice", "dean")
SIGNED = ("bob", "claire", "emily", "frank")


@pytest.fixture
def pasture(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "pasture.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "fediverse_pasture.verify_actor", "--port", str(port),
         "--domain", f"127.0.0.1:{port}", "--timeout", "20"],
        cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(url + "/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LiveServer]:
    env = {"FPMREG_FEDERATION_ALLOW_PRIVATE": "true"}
    with fresh_database(tmp_path) as url, LiveServer(url, tmp_path, env=env) as server:
        server.publisher_token("alpha", username="alice")  # a user to verify
        yield server


def _verify(pasture: str, actor: str) -> dict[str, Any]:
    answer = httpx.get(pasture + "/", params={"actor_uri": actor},
                       headers={"Accept": "application/json"}, timeout=120)  # fmt: skip
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["result"]
    return result


@pytest.mark.parametrize("path", ["/ap/users/alice", "/ap/actor"])
def test_verify_actor_passes_every_check(registry: LiveServer, pasture: str, path: str) -> None:
    result = _verify(pasture, registry.url + path)

    assert result["webfinger"] is True
    for name in UNSIGNED:
        assert result[name] == {"get_actor": True, "post_inbox": False}, (name, result)
    for name in SIGNED:
        assert result[name] == {"get_actor": True, "post_inbox": True}, (name, result)
