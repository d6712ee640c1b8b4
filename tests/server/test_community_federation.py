"""Communities across registries (docs/communities.md, "Audits from other registries";
docs/activitypub.md, "Communities"), on two live registries on loopback: the community
on B is a `Group` actor a remote follows; an auditor on A offers audits to it, B's
reviewer accepts one (A records the `Accept`, B's follower gets the `Announce`) and
rejects another (A shows the reason); forged and malformed Offers are refused and
nothing is stored."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

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

PRIVATE = {"FPMREG_FEDERATION_ALLOW_PRIVATE": "true"}
AP = {"Accept": "application/activity+json"}
MANAGE = {Scope.MANAGE}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def registries(tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    for a in live_registry(tmp_path, "a", **PRIVATE):
        for b in live_registry(tmp_path, "b", **PRIVATE):
            yield a, b


@pytest.fixture
def remote() -> Iterator[Remote]:
    with serve_remote() as actor:
        yield actor


def _community(b: LiveServer) -> dict[str, str]:
    """`fortran` on B with the criterion `safe-to-run`, its founder and a reviewer."""
    founder = _auth(b.publisher_token("founders", "founder", MANAGE))
    reviewer = _auth(b.publisher_token("reviewers", "rev", MANAGE))
    made = httpx.post(
        b.url + "/api/v1/communities",
        headers=founder,
        json={"name": "fortran", "title": "Fortran", "summary": "We vet."},
    )
    assert made.status_code == 201, made.text
    c = b.url + "/api/v1/communities/fortran"
    put = httpx.put(c + "/criteria/safe-to-run", headers=founder, json={"description": "runs"})
    assert put.status_code in (200, 201), put.text
    role = httpx.put(c + "/members", headers=founder, json={"username": "rev", "role": "reviewer"})
    assert role.status_code == 200, role.text
    return {
        "founder": founder["Authorization"],
        "reviewer": reviewer["Authorization"],
        "uri": made.json()["uri"],
        "api": c,
    }


def _wait(check: Any, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.3)
    raise AssertionError("timed out")


def _answered(url: str, auth: dict[str, str]) -> Any:
    """The submission once its answer arrived."""

    def check() -> Any:
        found = httpx.get(url, headers=auth).json()
        return found if found["status"] != "pending" else None

    return _wait(check)


def test_the_community_is_a_group_actor_a_remote_can_follow(
    registries: tuple[LiveServer, LiveServer], remote: Remote
) -> None:
    _, b = registries
    s = _community(b)
    actor = httpx.get(s["uri"], headers=AP)
    assert actor.status_code == 200
    assert actor.headers["content-type"].startswith("application/activity+json")
    doc = actor.json()
    assert doc["type"] == "Group" and doc["id"] == s["uri"] and doc["name"] == "Fortran"
    assert doc["inbox"] == f"{b.url}/ap/communities/fortran/inbox"
    assert (
        doc["publicKey"]["owner"] == s["uri"]
        and "BEGIN PUBLIC KEY" in doc["publicKey"]["publicKeyPem"]
    )
    assert doc["assertionMethod"][0]["controller"] == s["uri"]
    assert doc["attributedTo"] == [f"{b.url}/ap/users/founder"]
    got = httpx.get(doc["moderators"])
    assert got.status_code == 200, (doc["moderators"], got.status_code, got.text[-3000:])
    moderators = got.json()["orderedItems"]
    assert sorted(moderators) == [f"{b.url}/ap/users/founder", f"{b.url}/ap/users/rev"]
    ld = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
    assert httpx.get(s["uri"], headers={"Accept": ld}).json()["type"] == "Group"
    assert "text/html" in httpx.get(s["uri"]).headers["content-type"]  # the page, for people

    followed = signed_post(doc["inbox"], follow_activity(remote, s["uri"]), remote.key_id)
    assert followed.status_code == 202, followed.text
    (accept,) = remote.wait_for(1)
    assert accept["type"] == "Accept" and accept["actor"] == s["uri"]
    check_delivery_signature(s["uri"], remote.received[0][0])
    assert httpx.get(doc["followers"]).json()["orderedItems"] == [remote.actor]


def test_an_audit_offered_from_another_registry_is_vetted_and_answered(
    registries: tuple[LiveServer, LiveServer], remote: Remote
) -> None:
    a, b = registries
    s = _community(b)
    inbox = f"{b.url}/ap/communities/fortran/inbox"
    assert signed_post(inbox, follow_activity(remote, s["uri"]), remote.key_id).status_code == 202
    remote.wait_for(1)
    alice = _auth(a.publisher_token("auditors", "alice", MANAGE))
    sha = httpx.get(a.url + "/api/v1/packages/alpha/lib/versions/1.0.0").json()["sha256"]

    offered = httpx.post(
        a.url + "/api/v1/submissions",
        headers=alice,
        timeout=60,
        json={
            "community": s["uri"],
            "package": "alpha/lib",
            "version": "1.0.0",
            "criteria": ["safe-to-run"],
            "thoroughness": "high",
            "notes": "read every line",
        },
    )
    assert offered.status_code == 202, offered.text
    submission = offered.json()
    assert submission["status"] == "pending"
    assert submission["body"]["subject"]["sha256"] == sha

    reviewer = {"Authorization": s["reviewer"]}
    (queued,) = httpx.get(s["api"] + "/audits", params={"status": "submitted"}).json()["audits"]
    assert queued["remote_auditor"] == f"{a.url}/ap/users/alice"
    assert queued["body"]["subject"] == {"purl": "pkg:fpm/alpha/lib@1.0.0", "sha256": sha}
    decided = httpx.post(
        f"{s['api']}/audits/{queued['id']}/decision", headers=reviewer, json={"accept": True}
    )
    assert decided.status_code == 200, decided.text

    mine = f"{a.url}/api/v1/submissions/{submission['id']}"
    answered = _wait(
        lambda: (r := httpx.get(mine, headers=alice).json())["status"] != "pending" and r
    )
    assert answered["status"] == "accepted" and answered["result"] == queued["uri"]
    activities = remote.wait_for(2)
    announce = activities[1]
    assert announce["type"] == "Announce" and announce["actor"] == s["uri"]
    assert announce["object"]["id"] == queued["uri"]
    assert announce["object"]["subject"]["sha256"] == sha
    check_delivery_signature(s["uri"], remote.received[1][0])
    outbox = httpx.get(f"{b.url}/ap/communities/fortran/outbox").json()["orderedItems"]
    assert [x["type"] for x in outbox] == ["Announce"]

    second = httpx.post(
        a.url + "/api/v1/submissions",
        headers=alice,
        timeout=60,
        json={
            "community": s["uri"],
            "package": "alpha/lib",
            "version": "1.0.0",
            "criteria": ["safe-to-run"],
            "thoroughness": "low",
        },
    )
    assert second.status_code == 202, second.text
    (queued,) = httpx.get(s["api"] + "/audits", params={"status": "submitted"}).json()["audits"]
    refused = httpx.post(
        f"{s['api']}/audits/{queued['id']}/decision",
        headers=reviewer,
        json={"accept": False, "reason": "a low look is not a review"},
    )
    assert refused.status_code == 200, refused.text
    mine = f"{a.url}/api/v1/submissions/{second.json()['id']}"
    answered = _wait(
        lambda: (r := httpx.get(mine, headers=alice).json())["status"] != "pending" and r
    )
    assert answered["status"] == "rejected" and answered["reason"] == "a low look is not a review"
    listed = httpx.get(a.url + "/api/v1/submissions", headers=alice).json()["submissions"]
    assert [x["status"] for x in listed] == ["rejected", "accepted"]
    other = _auth(a.publisher_token("others", "mallory", MANAGE))
    assert httpx.get(mine, headers=other).status_code == 404  # only the auditor sees it

    founder = {"Authorization": s["founder"]}
    number = announce["object"]["id"].rsplit("/", 1)[1]
    revoked = httpx.post(
        f"{s['api']}/audits/{number}/revoke",
        headers=founder,
        json={"reason": "the build script was missed"},
    )
    assert revoked.status_code == 200, revoked.text
    gone = remote.wait_for(3)[2]
    assert gone["type"] == "Delete" and gone["actor"] == s["uri"]
    assert gone["object"] == {
        "type": "Tombstone",
        "id": announce["object"]["id"],
        "formerType": "Audit",
        "deleted": gone["object"]["deleted"],
        "summary": "the build script was missed",
    }
    outbox = httpx.get(f"{b.url}/ap/communities/fortran/outbox").json()["orderedItems"]
    assert [x["type"] for x in outbox] == ["Delete"]

    unknown = httpx.post(
        a.url + "/api/v1/submissions",
        headers=alice,
        timeout=60,
        json={
            "community": s["uri"],
            "package": "alpha/lib",
            "version": "1.0.0",
            "criteria": ["safe-to-fly"],
        },
    )
    assert unknown.status_code == 422 and "safe-to-fly" in unknown.text
    assert len(httpx.get(a.url + "/api/v1/submissions", headers=alice).json()["submissions"]) == 2


def _offer(remote: Remote, community: str, **audit: Any) -> dict[str, Any]:
    body = {
        "type": "Audit",
        "id": f"{remote.base}/audits/1",
        "verdict": "certify",
        "subject": {"purl": "pkg:fpm/alpha/lib@1.0.0", "sha256": "a" * 64},
        "criteria": [f"{community}/criteria/safe-to-run"],
        "thoroughness": "high",
        "understanding": "high",
        "auditor": remote.actor,
        "community": community,
        "notes": "",
        **audit,
    }
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": "Offer",
        "id": f"{remote.base}/offers/{time.monotonic_ns()}",
        "actor": remote.actor,
        "object": body,
        "target": community,
    }


def test_forged_and_malformed_offers_are_refused_and_nothing_is_stored(
    registries: tuple[LiveServer, LiveServer], remote: Remote
) -> None:
    a, b = registries
    s = _community(b)
    inbox = f"{b.url}/ap/communities/fortran/inbox"
    uri = s["uri"]

    unsigned = httpx.post(
        inbox, json=_offer(remote, uri), headers={"Content-Type": "application/activity+json"}
    )
    assert unsigned.status_code == 401
    forged = _offer(remote, uri, auditor=f"{a.url}/ap/users/alice")
    forged["actor"] = f"{a.url}/ap/users/alice"  # signed with the remote's key, not A's
    assert signed_post(inbox, forged, remote.key_id).status_code == 401

    cases = {
        "target": _offer(remote, uri) | {"target": f"{b.url}/c/other"},
        "sha256": _offer(remote, uri, subject={"purl": "pkg:fpm/alpha/lib@1.0.0"}),
        "criterion": _offer(remote, uri, criteria=[f"{uri}/criteria/safe-to-fly"]),
        "auditor": _offer(remote, uri, auditor=f"{a.url}/ap/users/alice"),
        "Audit": _offer(remote, uri) | {"object": {"type": "Note", "content": "trust me"}},
        "thoroughness": _offer(remote, uri, thoroughness="extreme"),
    }
    for word, offer in cases.items():
        refused = signed_post(inbox, offer, remote.key_id)
        assert refused.status_code == 400, (word, refused.text)
        assert word in refused.json()["errors"][0]["detail"], (word, refused.text)
    assert httpx.get(s["api"] + "/audits").json()["audits"] == []

    good = signed_post(inbox, _offer(remote, uri), remote.key_id)  # the same checks pass it
    assert good.status_code == 202, good.text
    (queued,) = httpx.get(s["api"] + "/audits").json()["audits"]
    assert queued["remote_auditor"] == remote.actor and queued["status"] == "submitted"
