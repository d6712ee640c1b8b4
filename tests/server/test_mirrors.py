"""Verified mirrors between two registries on loopback (docs/mirrors.md).

B follows A's namespace with `fpmreg-server mirror follow`, and serves A's releases only
once it has verified them from A's log: the record signed by A, its inclusion under A's
checkpoint, and the tarball's sha256. A's later releases and yanks reach B; a tampered
tarball and a forged record are refused and listed; a log that forks stops the mirror.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, select, update

from fpmreg.core.integrity import add_proof, canonical
from fpmreg.core.tlog.note import Signer
from fpmreg.server.accounts.models import Scope, User
from fpmreg.server.db import Database
from fpmreg.server.federation.log import TransparencyLog
from fpmreg.server.federation.models import LogEntry, LogHead, LogNode
from fpmreg.server.federation.records import RECORD_TYPE
from fpmreg.server.moderation.models import Notification
from tests.support.activitypub import moderator_token
from tests.support.databases import fresh_database
from tests.support.live import LiveServer
from tests.support.tarballs import package_tarball

FEDERATION = {"FPMREG_FEDERATION_ALLOW_PRIVATE": "true", "FPMREG_JOB_POLL_SECONDS": "0.2"}
WAIT_SECONDS = 90


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    with ExitStack() as stack:
        servers = []
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            url = stack.enter_context(fresh_database(tmp_path / name))
            servers.append(stack.enter_context(LiveServer(url, tmp_path / name, env=FEDERATION)))
        yield servers[0], servers[1]


def publish(server: LiveServer, token: str, name: str, version: str) -> str:
    """Publish `name` `version`; its sha256."""
    data = package_tarball(name, version)
    answer = httpx.post(
        server.url + "/api/v1/packages",
        headers={"Authorization": f"Bearer {token}"},
        files={"tarball": ("t.tar.gz", data, "application/gzip")},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return hashlib.sha256(data).hexdigest()


def server_command(server: LiveServer, *args: str) -> subprocess.CompletedProcess[str]:
    """`fpmreg-server ARGS` as the operator of `server` runs it."""
    env = {**os.environ, **server.environment()}
    return subprocess.run(
        [sys.executable, "-m", "fpmreg.server", *args],
        env=env,
        cwd=server.workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )


def follow(mirror: LiveServer, origin: LiveServer, namespace: str, *extra: str) -> None:
    done = server_command(
        mirror, "mirror", "follow", f"{origin.url}/ap/namespaces/{namespace}", *extra
    )
    assert done.returncode == 0, done.stdout + done.stderr


def wait_for(what: str, check: Callable[[], Any]) -> Any:
    """`check()`'s first truthy answer, polled; fails saying `what` never happened."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    pytest.fail(f"{what} did not happen within {WAIT_SECONDS} s")


def versions(server: LiveServer, namespace: str, name: str) -> dict[str, dict[str, Any]]:
    answer = httpx.get(f"{server.url}/api/v1/packages/{namespace}/{name}", timeout=10)
    if answer.status_code != 200:
        return {}
    return {v["version"]: v for v in answer.json()["versions"]}


def log_record(server: LiveServer, subject: str) -> dict[str, Any]:
    found = httpx.post(server.url + "/api/v1/log/lookup", json={"subjects": [subject]}).json()
    (index,) = found["entries"][subject]
    record: dict[str, Any] = httpx.get(f"{server.url}/api/v1/log/entries/{index}").json()["record"]
    return record


def mirror_list(server: LiveServer) -> str:
    done = server_command(server, "mirror", "list")
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_mirror_serves_verified_releases_and_applies_the_origins_changes(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    a, b = pair
    token = a.publisher_token("acme", scopes={Scope.PUBLISH, Scope.YANK})
    first = publish(a, token, "lib", "1.0.0")

    follow(b, a, "acme")

    wait_for("the mirror of 1.0.0", lambda: versions(b, "acme", "lib").get("1.0.0"))
    tarball = httpx.get(f"{b.url}/tarballs/acme/lib/1.0.0.tar.gz").content
    assert hashlib.sha256(tarball).hexdigest() == first  # fpm's download from B: A's bytes
    fpm_answer = httpx.get(f"{b.url}/packages/acme/lib").json()
    assert (
        fpm_answer["code"] == 200
        and fpm_answer["data"]["latest_version_data"]["version"] == "1.0.0"
    )
    origin_record = log_record(a, "pkg:fpm/acme/lib@1.0.0")
    mirror_record = log_record(b, "pkg:fpm/acme/lib@1.0.0")
    assert mirror_record["registry"] == b.url and mirror_record["sha256"] == first
    assert mirror_record["origin"] == {
        "registry": a.url,
        "logIndex": origin_record["logIndex"],
        "subject": "pkg:fpm/acme/lib@1.0.0",
    }

    page = httpx.get(f"{b.url}/project/acme/lib").text
    assert f'Mirrored from <a href="{a.url}/ap/namespaces/acme">{a.url}</a>' in page
    assert f"{a.url}/api/v1/log/entries/{origin_record['logIndex']}" in page

    publish(a, token, "lib", "1.1.0")  # delivered to B's inbox, which wakes the sync
    wait_for("the mirror of 1.1.0", lambda: versions(b, "acme", "lib").get("1.1.0"))
    yank = httpx.put(
        f"{a.url}/api/v1/packages/acme/lib/versions/1.0.0/yank",
        headers={"Authorization": f"Bearer {token}"},
        json={"reason": "miscompiles on ARM"},
    )
    assert yank.status_code == 200, yank.text
    yanked = wait_for(
        "the yank on the mirror", lambda: versions(b, "acme", "lib")["1.0.0"]["yanked"] or None
    )
    assert yanked is True
    assert versions(b, "acme", "lib")["1.0.0"]["yank_reason"] == "miscompiles on ARM"
    listing = mirror_list(b)
    assert f"{a.url}/ap/namespaces/acme -> acme: following" in listing
    assert "2 releases" in listing and "refused" not in listing


def package_state(server: LiveServer, namespace: str, name: str) -> dict[str, Any]:
    answer = httpx.get(f"{server.url}/api/v1/packages/{namespace}/{name}", timeout=10)
    return {"status": answer.status_code, **(answer.json() if answer.status_code == 200 else {})}


def test_the_origins_deprecation_deletion_and_quarantine_reach_the_mirror(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    a, b = pair
    token = a.publisher_token("acme", scopes={Scope.PUBLISH, Scope.MANAGE})
    for name, version in (("lib", "1.0.0"), ("lib", "1.1.0"), ("newlib", "1.0.0")):
        publish(a, token, name, version)
    follow(b, a, "acme")
    wait_for("the mirror", lambda: versions(b, "acme", "newlib") and versions(b, "acme", "lib"))
    auth = {"Authorization": f"Bearer {token}"}

    deprecated = httpx.put(
        f"{a.url}/api/v1/packages/acme/lib/deprecation",
        headers=auth,
        json={"message": "use newlib", "replacement": "acme/newlib"},
    )
    assert deprecated.status_code == 200, deprecated.text
    state = wait_for(
        "the deprecation on the mirror",
        lambda: (s := package_state(b, "acme", "lib")).get("deprecated") and s,
    )
    assert state["deprecation_message"] == "use newlib" and state["replacement"] == "acme/newlib"

    declared = httpx.put(
        f"{a.url}/api/v1/packages/acme/lib/expectations",
        headers=auth,
        json={"status": "fixes-only", "response": "best-effort", "supported": ">=1.0",
              "contact": "security@example.org", "note": "stays on the origin"},
    )  # fmt: skip
    assert declared.status_code == 200, declared.text
    mirrored = wait_for(
        "the expectations on the mirror",
        lambda: httpx.get(f"{b.url}/api/v1/packages/acme/lib").json().get("expectations"),
    )
    assert (mirrored["status"], mirrored["supported"]) == ("fixes-only", ">=1.0")
    assert mirrored["contact"] == "security@example.org" and not mirrored.get("note")

    deleted = httpx.request(
        "DELETE",
        f"{a.url}/api/v1/packages/acme/lib/versions/1.1.0",
        headers=auth,
        json={"reason": "published by mistake", "category": "other"},
    )
    assert deleted.status_code == 200, deleted.text
    wait_for("the deletion on the mirror", lambda: "1.1.0" not in versions(b, "acme", "lib"))
    assert httpx.get(f"{b.url}/tarballs/acme/lib/1.1.0.tar.gz").status_code == 410

    draft = httpx.post(
        f"{a.url}/api/v1/advisories",
        headers=auth,
        json={
            "package": "acme/lib",
            "summary": "Out-of-bounds write in `parse`",
            "details": "A long line overflows the buffer.",
            "events": [{"introduced": "0"}, {"fixed": "1.2.0"}],
        },
    )
    assert draft.status_code == 201, draft.text
    osv_id = draft.json()["id"]
    published = httpx.post(f"{a.url}/api/v1/advisories/{osv_id}/publish", headers=auth)
    assert published.status_code == 200, published.text
    mirrored = wait_for(
        "the advisory on the mirror",
        lambda: (r := httpx.get(f"{b.url}/v1/vulns/{osv_id}")).status_code == 200 and r.json(),
    )
    assert mirrored["affected"][0]["package"] == {"ecosystem": "fpm", "name": "acme/lib"}
    query = httpx.post(
        f"{b.url}/v1/query",
        json={"package": {"ecosystem": "fpm", "name": "acme/lib"}, "version": "1.0.0"},
    )
    assert [v["id"] for v in query.json()["vulns"]] == [osv_id]

    granted = server_command(a, "admin", "grant", "moderator", "publisher")
    assert granted.returncode == 0, granted.stderr
    held = httpx.put(
        f"{a.url}/api/v1/packages/acme/newlib/quarantine",
        headers=auth,
        json={"reason": "reported as malware", "category": "malware"},
    )
    assert held.status_code == 200, held.text
    wait_for(
        "the quarantine on the mirror",
        lambda: httpx.get(f"{b.url}/packages/acme/newlib").json()["code"] == 403,
    )
    assert "refused" not in mirror_list(b)


def forge_record(database_url: str, origin: str, subject: str) -> None:
    """Append to the origin's log a release record signed by a key that is not its own."""
    database = Database.from_url(database_url)
    forger = Ed25519PrivateKey.generate()
    try:
        with database.sessions() as session:

            def entry(index: int) -> bytes:
                body = {
                    "type": RECORD_TYPE,
                    "registry": origin,
                    "action": "version.publish",
                    "time": "2026-12-03T00:00:00Z",
                    "logIndex": index,
                    "subject": subject,
                    "package": "acme/lib",
                    "sha256": "0" * 64,
                }
                return canonical(
                    add_proof(body, forger, f"{origin}/log/keys#zforged", "2026-12-03T00:00:00Z")
                )

            TransparencyLog(session).append(
                entry, action="version.publish", subject=subject, at=datetime.now(UTC)
            )
            session.commit()
    finally:
        database.engine.dispose()


def test_a_mirror_refuses_a_tampered_tarball_and_a_forged_record_and_stops_on_a_fork(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    a, b = pair
    token = a.publisher_token("acme")
    publish(a, token, "lib", "1.0.0")
    tampered = publish(a, token, "lib", "1.1.0")
    blob = next((a.storage / "sha256").rglob(tampered + "*"))
    blob.write_bytes(package_tarball("lib", "1.1.0", readme="# evil\n"))  # same name, other bytes
    forge_record(a.database_url, a.url, "pkg:fpm/acme/lib@2.0.0")

    follow(b, a, "acme")

    listing = wait_for(
        "two refusals", lambda: (text := mirror_list(b)).count("refused") == 2 and text
    )
    assert "1.0.0" in versions(b, "acme", "lib") and "1.1.0" not in versions(b, "acme", "lib")
    assert "pkg:fpm/acme/lib@1.1.0: the tarball's sha256 is" in listing
    assert f"the signed record says {tampered}" in listing
    assert (
        "pkg:fpm/acme/lib@2.0.0: the record is not signed by the origin registry's keys" in listing
    )
    assert "following" in listing

    database = Database.from_url(a.database_url)  # A rewrites its history: a fork
    try:
        with database.sessions() as session:
            node = session.get(LogNode, (0, 0))
            assert node is not None
            node.hash = hashlib.sha256(b"another history").digest()
            session.commit()
    finally:
        database.engine.dispose()
    publish(a, token, "lib", "1.2.0")

    stopped = wait_for("the mirror to stop", lambda: "forked" in (t := mirror_list(b)) and t)
    assert "the origin's log cannot be trusted" in stopped
    assert "1.2.0" not in versions(b, "acme", "lib")


def rebuild_log(server: LiveServer) -> None:
    """Empty the log and append an entry, then every old entry again: another tree."""
    database = Database.from_url(server.database_url)
    try:
        with database.sessions() as session:
            bodies = [e.body for e in session.scalars(select(LogEntry).order_by(LogEntry.index))]
            session.execute(delete(LogNode))
            session.execute(delete(LogEntry))
            session.execute(update(LogHead).values(size=0))
            log = TransparencyLog(session)
            for body in [b"{}", *bodies]:
                log.append(lambda _i, body=body: body, action="rebuilt", subject="",
                           at=datetime.now(UTC))  # fmt: skip
            session.commit()
    finally:
        database.engine.dispose()


def test_an_operator_resumes_a_forked_mirror_once_the_origin_explains(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    a, b = pair
    token = a.publisher_token("acme")
    first = publish(a, token, "lib", "1.0.0")
    follow(b, a, "acme")
    wait_for("the mirror of 1.0.0", lambda: versions(b, "acme", "lib").get("1.0.0"))
    not_stopped = server_command(b, "mirror", "resume", "1")
    assert not_stopped.returncode == 1 and "there is nothing to resume" in not_stopped.stderr

    rebuild_log(a)  # A's operator rebuilt the log: another history of the same records
    publish(a, token, "lib", "1.1.0")
    wait_for("the mirror to stop", lambda: "forked" in mirror_list(b))
    assert "1.1.0" not in versions(b, "acme", "lib")

    resumed = server_command(b, "mirror", "resume", "1")
    assert resumed.returncode == 0, resumed.stderr
    wait_for("the mirror of 1.1.0", lambda: versions(b, "acme", "lib").get("1.1.0"))
    listing = mirror_list(b)
    assert "following" in listing
    # The refusal that stopped it is kept; 1.0.0, seen again with the same bytes, is not.
    assert "1.0.0" not in listing.split("refused", 1)[-1]
    tarball = httpx.get(f"{b.url}/tarballs/acme/lib/1.0.0.tar.gz").content
    assert hashlib.sha256(tarball).hexdigest() == first


def test_following_refuses_what_is_not_a_registry_namespace(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    a, b = pair
    a.publisher_token("acme")
    for url, message in (
        (f"{a.url}/packages/acme", "is not an actor URL of an fpmreg namespace or package"),
        (f"{a.url}/ap/namespaces/ghost", "answered 404"),
        (f"{b.url}/ap/namespaces/acme", "a registry cannot mirror itself"),
    ):
        done = server_command(b, "mirror", "follow", url)
        assert done.returncode == 1 and message in done.stderr, done.stderr
    b.publisher_token("acme", username="local")
    done = server_command(b, "mirror", "follow", f"{a.url}/ap/namespaces/acme")
    assert done.returncode == 1
    assert "namespace `acme` already exists on this registry" in done.stderr
    wrong_key = Signer.generate(httpx.get(a.url + "/log/key").text.split("+")[0]).verifier
    pinned = server_command(b, "mirror", "follow", f"{a.url}/ap/namespaces/acme",
                            "--as", "acme-mirror", "--log-key", wrong_key.encode())  # fmt: skip
    assert pinned.returncode == 1 and "not the `" in pinned.stderr, pinned.stderr
    real_key = httpx.get(a.url + "/log/key").text.strip()
    follow(b, a, "acme", "--as", "acme-mirror", "--log-key", real_key)
    assert "-> acme-mirror: following" in mirror_list(b)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("FPMREG_LOG_WITNESSES", "nonsense", "FPMREG_LOG_WITNESSES: `nonsense` is not `URL KEY`"),
        ("FPMREG_WITNESS_LOGS", "a+b+c", "FPMREG_WITNESS_LOGS: `a+b+c` is not a note key"),
    ],
)
def test_a_malformed_witness_setting_is_named_before_anything_starts(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FPMREG_")},
        "FPMREG_DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite",
        variable: value,
    }
    for args in (("run", "--port", "9"), ("mirror", "list"), ("keys", "show")):
        done = subprocess.run(
            [sys.executable, "-m", "fpmreg.server", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert message in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_a_report_about_a_mirrored_package_reaches_its_origin_and_the_decision_comes_back(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    a, b = pair
    token = a.publisher_token("acme")
    publish(a, token, "lib", "1.0.0")
    follow(b, a, "acme")
    wait_for("the mirror", lambda: versions(b, "acme", "lib").get("1.0.0"))
    reporter = b.publisher_token("reporters", "reporter")

    filed = httpx.post(
        f"{b.url}/api/v1/packages/acme/lib/reports",
        headers={"Authorization": f"Bearer {reporter}"},
        json={"category": "malware", "version": "1.0.0", "message": "src/ mines coins"},
    )
    assert filed.status_code == 201, filed.text

    moderator = moderator_token(a)
    queue = f"{a.url}/api/v1/moderation/reports"
    auth = {"Authorization": f"Bearer {moderator}"}
    (report,) = wait_for(
        "the Flag in A's queue", lambda: httpx.get(queue, headers=auth).json()["reports"]
    )
    assert report["remote_actor"] == f"{b.url}/ap/actor" and report["reporter"] == ""
    assert (report["subject"], report["category"]) == ("acme/lib@1.0.0", "malware")
    assert report["message"] == "src/ mines coins"
    decided = httpx.post(
        f"{queue}/{report['id']}/decision",
        headers=auth,
        json={"decision": "quarantine", "reason": "confirmed"},
    )
    assert decided.status_code == 200, decided.text

    wait_for(
        "the quarantine on the mirror",
        lambda: httpx.get(f"{b.url}/packages/acme/lib").json()["code"] == 403,
    )
    notice = wait_for(
        "the reporter on B to hear the origin's decision",
        lambda: [n for n in notifications(b, "reporter") if n["kind"] == "report.remote-decided"],
    )
    assert "quarantine" in notice[0]["message"]


def notifications(server: LiveServer, username: str) -> list[dict[str, Any]]:
    database = Database.from_url(server.database_url)
    try:
        with database.session() as session:
            user = session.scalar(select(User).where(User.username == username))
            assert user is not None
            rows = session.scalars(select(Notification).where(Notification.user_id == user.id))
            return [{"kind": n.kind, "message": n.message} for n in rows]
    finally:
        database.engine.dispose()
