"""Federated reports on live registries: a signed `Flag` about one of our packages lands
in the moderators' queue as a remote report, its decision goes back to the flagger as an
`Accept` or `Reject`; a Flag about something not ours is refused, the same Flag twice is
one report; and two fpmreg registries report to each other end to end."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from fpmreg.server.clock import SystemClock
from fpmreg.server.db import Database
from fpmreg.server.federation.flags import (
    MAX_FLAGS_PER_HOUR,
    flagged_target,
    plain_text,
    send_flag,
)
from fpmreg.server.federation.keys import load_keys
from fpmreg.server.federation.models import Follower, OutgoingFlag, RemoteKey
from fpmreg.server.moderation.models import Notification
from tests.support.activitypub import (
    Remote,
    check_delivery_signature,
    follow_activity,
    live_registry,
    moderator_token,
    serve_remote,
    signed_post,
)
from tests.support.live import LiveServer

QUEUE = "/api/v1/moderation/reports"
PRIVATE = {"FPMREG_FEDERATION_ALLOW_PRIVATE": "true"}


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LiveServer]:
    yield from live_registry(tmp_path, "a", **PRIVATE)


@pytest.fixture
def remote() -> Iterator[Remote]:
    with serve_remote() as actor:
        yield actor


def _flag(remote: Remote, target: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"@context": "https://www.w3.org/ns/activitystreams", "type": "Flag",
            "id": f"{remote.base}/flags/{time.monotonic_ns()}", "actor": remote.actor,
            "object": target, **extra}  # fmt: skip


def _queue(registry: LiveServer, token: str) -> list[dict[str, Any]]:
    answer = httpx.get(registry.url + QUEUE, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    reports: list[dict[str, Any]] = answer.json()["reports"]
    return reports


def _decide(registry: LiveServer, token: str, report: int, decision: str) -> None:
    answer = httpx.post(f"{registry.url}{QUEUE}/{report}/decision",
                        json={"decision": decision, "reason": "PRIVATE moderator note"},
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert answer.status_code == 200, answer.text


def _queue_page(registry: LiveServer, username: str) -> str:
    with httpx.Client(base_url=registry.url) as browser:
        login = browser.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert csrf is not None
        signed_in = browser.post("/login", data={"csrf_token": csrf.group(1), "username": username,
                                                 "password": "correct horse battery"})  # fmt: skip
        assert signed_in.status_code in (200, 303), signed_in.text
        page = browser.get("/moderation/queue")
        assert page.status_code == 200, page.text
        return page.text


def test_a_flag_becomes_a_remote_report_and_the_decision_goes_back(
    registry: LiveServer, remote: Remote
) -> None:
    mod = moderator_token(registry)
    release = registry.url + "/ap/packages/alpha/lib/versions/1.0.0"
    flag = _flag(remote, [release], content="it mines coins\x07 in src/", fpmregCategory="malware")

    first = signed_post(registry.url + "/ap/inbox", flag, remote.key_id)
    again = signed_post(registry.url + "/ap/packages/alpha/lib/inbox", flag, remote.key_id,
                        datetime.now(UTC) - timedelta(seconds=2))  # fmt: skip

    assert (first.status_code, first.json()["outcome"]) == (202, "reported"), first.text
    assert (again.status_code, again.json()["outcome"]) == (202, "already reported")
    (report,) = _queue(registry, mod)
    host = f"127.0.0.1:{remote.port}"
    assert (report["subject"], report["category"]) == ("alpha/lib@1.0.0", "malware")
    assert (report["remote_actor"], report["remote_host"]) == (remote.actor, host)
    assert report["reporter"] == "" and report["message"] == "it mines coins in src/"
    page = _queue_page(registry, "moderator")
    assert "remote</span> " + host in page and "alpha/lib@1.0.0" in page

    package_flag = _flag(remote, registry.url + "/ap/packages/alpha/lib", content="spam?")
    assert signed_post(registry.url + "/ap/inbox", package_flag, remote.key_id).status_code == 202
    unknown_category = [r for r in _queue(registry, mod) if r["subject"] == "alpha/lib"]
    assert unknown_category[0]["category"] == "other"  # no fpmregCategory

    _decide(registry, mod, report["id"], "yank")
    _decide(registry, mod, unknown_category[0]["id"], "dismiss")

    answers = [a for a in remote.wait_for(2) if a["type"] in ("Accept", "Reject")]
    accept, reject = sorted(answers, key=lambda a: a["type"])
    assert accept["object"] == flag["id"] and accept["actor"] == registry.url + "/ap/actor"
    assert accept["fpmregDecision"]["decision"] == "yank"
    assert "yanked" in accept["fpmregDecision"]["summary"]
    assert (
        reject["object"] == package_flag["id"] and reject["fpmregDecision"]["decision"] == "dismiss"
    )
    for headers, body in remote.received:
        assert b"PRIVATE" not in body and b"moderator" not in body  # no reason, no name
        check_delivery_signature(registry.url + "/ap/actor", headers)


def test_a_flag_about_something_not_ours_is_refused(registry: LiveServer, remote: Remote) -> None:
    inbox = registry.url + "/ap/inbox"
    for target in ("https://elsewhere.example/ap/packages/alpha/lib",
                   registry.url + "/ap/users/publisher", [registry.url + "/ap/actor"]):  # fmt: skip
        answer = signed_post(inbox, _flag(remote, target), remote.key_id)
        assert answer.status_code == 400, answer.text
        assert "is not a package" in answer.json()["errors"][0]["detail"]
    missing = signed_post(inbox, _flag(remote, registry.url + "/ap/packages/alpha/nope"),
                          remote.key_id)  # fmt: skip
    assert missing.status_code == 404 and "not found" in missing.text
    release = registry.url + "/ap/packages/alpha/lib/versions/9.9.9"
    no_version = signed_post(inbox, _flag(remote, release), remote.key_id)
    assert no_version.status_code == 404 and "9.9.9" in no_version.text
    nul = signed_post(inbox, _flag(remote, registry.url + "/ap/packages/al\x00pha/lib"),
                      remote.key_id)  # fmt: skip
    assert nul.status_code == 400 and "NUL" in nul.text
    no_id = _flag(remote, registry.url + "/ap/packages/alpha/lib")
    del no_id["id"]
    assert signed_post(inbox, no_id, remote.key_id).status_code == 400
    assert _queue(registry, moderator_token(registry)) == []


def test_flags_from_one_host_are_limited_an_hour(registry: LiveServer, remote: Remote) -> None:
    target = registry.url + "/ap/packages/alpha/lib"
    for _ in range(MAX_FLAGS_PER_HOUR):
        answer = signed_post(registry.url + "/ap/inbox", _flag(remote, target), remote.key_id)
        assert answer.status_code == 202, answer.text
    refused = signed_post(registry.url + "/ap/inbox", _flag(remote, target), remote.key_id)
    assert refused.status_code == 429 and "in the last hour" in refused.text


def test_undo_of_other_things_is_acknowledged_and_a_deleted_actor_is_forgotten(
    registry: LiveServer, remote: Remote
) -> None:
    package = registry.url + "/ap/packages/alpha/lib"
    group = registry.url + "/ap/namespaces/alpha"
    for target in (package, group):
        followed = signed_post(target + "/inbox", follow_activity(remote, target), remote.key_id)
        assert followed.status_code == 202, followed.text
    undo = {"type": "Undo", "actor": remote.actor,
            "object": {"type": "Announce", "actor": remote.actor, "object": package}}  # fmt: skip
    answer = signed_post(registry.url + "/ap/inbox", undo, remote.key_id)
    assert (answer.status_code, answer.json()["outcome"]) == (202, "undone")
    assert httpx.get(package + "/followers").json()["orderedItems"] == [remote.actor]

    deleted = signed_post(registry.url + "/ap/inbox",
                          {"type": "Delete", "actor": remote.actor, "object": remote.actor,
                           "id": remote.actor + "#delete"}, remote.key_id)  # fmt: skip

    assert (deleted.status_code, deleted.json()["outcome"]) == (202, "actor deleted")
    for target in (package, group):
        assert httpx.get(target + "/followers").json()["orderedItems"] == []
    database = Database.from_url(registry.database_url)
    try:
        with database.session() as session:
            assert (
                session.scalars(select(RemoteKey).where(RemoteKey.owner == remote.actor)).all()
                == []
            )
            assert session.scalars(select(Follower)).all() == []
    finally:
        database.engine.dispose()


def test_two_registries_report_to_each_other(tmp_path: Path) -> None:
    for a in live_registry(tmp_path, "a", **PRIVATE):
        for b in live_registry(tmp_path, "b", **PRIVATE):
            _flag_from_b_to_a(a, b)


def _flag_from_b_to_a(a: LiveServer, b: LiveServer) -> None:
    reporter = b.publisher_token("reporters", "reporter")
    local = httpx.post(b.url + "/api/v1/packages/alpha/lib/reports",
                       json={"category": "malware", "message": "the upstream is bad"},
                       headers={"Authorization": f"Bearer {reporter}"})  # fmt: skip
    assert local.status_code == 201, local.text
    database = Database.from_url(b.database_url)
    try:
        with database.session() as session:
            keys = load_keys(b.workdir / "keys", b.url)
            flag_id = send_flag(session, keys, package_actor_url=a.url + "/ap/packages/alpha/lib",
                                inbox=a.url + "/ap/inbox", category="malware",
                                content="mirrored here: it mines coins", now=SystemClock().now(),
                                report_id=local.json()["id"])  # fmt: skip
            session.commit()
        mod = moderator_token(a)
        deadline = time.monotonic() + 30
        while not (queued := _queue(a, mod)) and time.monotonic() < deadline:
            time.sleep(0.3)
        (report,) = queued
        assert report["remote_actor"] == b.url + "/ap/actor" and report["category"] == "malware"

        _decide(a, mod, report["id"], "quarantine")

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with database.session() as session:
                flag = session.scalar(select(OutgoingFlag).where(OutgoingFlag.flag_id == flag_id))
                assert flag is not None
                if flag.status != "sent":
                    break
            time.sleep(0.3)
        assert (flag.status, flag.decision) == ("accepted", "quarantine")
        assert "quarantined" in flag.summary and flag.decided_at is not None
        served = httpx.get(flag_id, headers={"Accept": "application/activity+json"})
        assert served.status_code == 404  # the reporter's message is for A's moderators only
        assert "mines coins" not in served.text
        with database.session() as session:
            told = session.scalars(
                select(Notification).where(Notification.kind == "report.remote-decided")
            ).all()
            assert len(told) == 1 and "quarantine" in told[0].message
    finally:
        database.engine.dispose()


NAMES = st.from_regex(r"[a-z][a-z0-9_-]{0,20}", fullmatch=True)
BASE = "https://registry.example"


VERSIONS = st.from_regex(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}", fullmatch=True)
NOISE = st.lists(st.text(st.characters(blacklist_characters="/"), max_size=40), max_size=3)


@given(NAMES, NAMES, VERSIONS, NOISE)
def test_a_flag_names_our_package_or_release_wherever_it_is_in_the_object(
    ns: str, name: str, version: str, noise: list[str]
) -> None:
    package = f"{BASE}/ap/packages/{ns}/{name}"
    release = f"{package}/versions/{version}"
    assert flagged_target(BASE, [*noise, package]) == (ns, name, "")
    assert flagged_target(BASE, [*noise, {"id": release}]) == (ns, name, version)
    assert flagged_target(BASE, release) == (ns, name, version)
    assert flagged_target("https://other.example", [*noise, package, release]) is None
    assert flagged_target(BASE, [f"{package}/files", f"{BASE}/ap/users/{ns}", *noise]) is None


@given(st.text(max_size=300), st.integers(min_value=2, max_value=200))
def test_flag_text_is_plain_and_bounded(text: str, limit: int) -> None:
    cleaned = plain_text(text, limit)
    assert len(cleaned) <= limit
    assert not any((ord(c) < 32 and c not in "\t\n") or ord(c) == 127 for c in cleaned)
