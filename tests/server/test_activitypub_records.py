"""What followers of a live registry receive for each kind of record: a `Create` of a
release, an `Update` of a state change, a `Delete` of a `Tombstone`, and the namespace
`Group`'s `Announce` of them; and the outboxes a new follower backfills from, page by
page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fpmreg.core.integrity import parse_multikey, verify_proof
from fpmreg.server.accounts.models import Scope
from tests.support.activitypub import (
    Remote,
    check_delivery_signature,
    follow_activity,
    live_registry,
    serve_remote,
    signed_post,
)
from tests.support.live import LiveServer


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LiveServer]:
    yield from live_registry(tmp_path, "a", FPMREG_FEDERATION_ALLOW_PRIVATE="true")


def _follow(remote: Remote, target: str) -> None:
    answer = signed_post(target + "/inbox", follow_activity(remote, target), remote.key_id)
    assert answer.status_code == 202, answer.text


def _verified(registry: LiveServer, record: dict[str, Any]) -> dict[str, Any]:
    """The record once its proof verifies with the registry's published key."""
    actor = httpx.get(registry.url + "/ap/actor").json()
    key = parse_multikey(actor["assertionMethod"][0]["publicKeyMultibase"])
    verify_proof(record, key)
    return record


def test_state_changes_are_updates_and_deletes_and_the_namespace_announces_them(
    registry: LiveServer,
) -> None:
    package = registry.url + "/ap/packages/alpha/lib"
    group = registry.url + "/ap/namespaces/alpha"
    token = registry.publisher_token("alpha", scopes={Scope.YANK, Scope.MANAGE})
    auth = {"Authorization": f"Bearer {token}"}
    with serve_remote() as both, serve_remote() as member:
        _follow(both, package)
        _follow(both, group)  # follows both: gets each record once, from the package
        _follow(member, group)
        both.wait_for(2)
        member.wait_for(1)
        release = package + "/versions/1.0.0"

        yank = httpx.put(f"{registry.url}/api/v1/packages/alpha/lib/versions/1.0.0/yank",
                         json={"reason": "broken build"}, headers=auth)  # fmt: skip
        assert yank.status_code == 200, yank.text
        gone = httpx.request("DELETE", f"{registry.url}/api/v1/packages/alpha/lib/versions/1.0.0",
                             json={"reason": "published by mistake", "category": "other"},
                             headers=auth)  # fmt: skip
        assert gone.status_code == 200, gone.text

        received = both.wait_for(4)[2:]
        announced = member.wait_for(3)[1:]

    update, delete = received
    assert len(both.received) == 4, "an inbox following package and namespace got a record twice"
    assert (update["type"], update["actor"]) == ("Update", package)
    assert update["object"]["type"] == "Document" and update["object"]["context"] == release
    record = _verified(registry, update["object"]["fpmregRecord"])
    assert (record["action"], record["reason"]) == ("version.yank", "broken build")
    assert delete["type"] == "Delete" and delete["object"]["type"] == "Tombstone"
    assert delete["object"]["id"] == release and delete["object"]["formerType"] == "Document"
    assert _verified(registry, delete["object"]["fpmregRecord"])["action"] == "version.delete"
    check_delivery_signature(package, both.received[2][0])
    assert [a["type"] for a in announced] == ["Announce", "Announce"]
    assert [a["actor"] for a in announced] == [group, group]
    assert [a["object"] for a in announced] == [update, delete]
    check_delivery_signature(group, member.received[1][0])
    tombstone = httpx.get(release)
    assert tombstone.status_code == 410 and tombstone.json()["type"] == "Tombstone"
    assert tombstone.json()["fpmregRecord"]["action"] == "version.delete"


def test_outboxes_page_newest_first_for_a_backfill(registry: LiveServer) -> None:
    token = registry.publisher_token("alpha", scopes={Scope.YANK})
    auth = {"Authorization": f"Bearer {token}"}
    url = f"{registry.url}/api/v1/packages/alpha/lib/versions/1.0.0/yank"
    for _ in range(50):  # 100 state changes after the release: 101 records
        assert httpx.put(url, json={"reason": "r"}, headers=auth).status_code == 200
        assert httpx.delete(url, headers=auth).status_code == 200

    for path, kind in (("/ap/namespaces/alpha", "Announce"), ("/ap/actor", "Update"),
                       ("/ap/packages/alpha/lib", "Update")):  # fmt: skip
        outbox = httpx.get(registry.url + path + "/outbox").json()
        assert outbox["type"] == "OrderedCollection" and outbox["totalItems"] == 101
        first = httpx.get(outbox["first"]).json()
        assert first["type"] == "OrderedCollectionPage" and first["partOf"] == outbox["id"]
        assert len(first["orderedItems"]) == 100 and first["orderedItems"][0]["type"] == kind
        last = httpx.get(first["next"]).json()
        assert "next" not in last
        items = first["orderedItems"] + last["orderedItems"]
        records = [i["object"]["object"] if kind == "Announce" else i["object"] for i in items]
        indexes = [r["fpmregRecord"]["logIndex"] for r in records]
        assert indexes == sorted(indexes, reverse=True) and len(set(indexes)) == 101
        assert records[-1]["fpmregRecord"]["action"] == "version.publish"
        assert items[-1]["type"] == ("Announce" if kind == "Announce" else "Create")
    release = httpx.get(registry.url + "/ap/packages/alpha/lib/versions/1.0.0")
    assert release.status_code == 200 and release.json()["type"] == "Document"
    assert release.json()["fpmregRecord"]["action"] == "version.unyank"  # the latest
    assert httpx.get(registry.url + "/ap/packages/alpha/lib/versions/9.9.9").status_code == 404
    user_outbox = httpx.get(registry.url + "/ap/users/publisher/outbox").json()
    assert user_outbox["totalItems"] == 0
