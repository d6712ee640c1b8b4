"""The registry tells the fpmreg client's own requests apart by their User-Agent."""

from __future__ import annotations

from fpmreg.client.mirror import mirror_client
from fpmreg.client.registry import MIRROR_AGENT, USER_AGENT
from fpmreg.server.metrics.service import client_kind


def test_mirror_downloads_are_counted_as_mirror_and_sync_as_fpmreg() -> None:
    assert client_kind(MIRROR_AGENT) == "mirror"
    assert client_kind(USER_AGENT) == "fpmreg"
    with mirror_client("http://127.0.0.1:9") as client:
        assert client.headers["user-agent"] == MIRROR_AGENT
