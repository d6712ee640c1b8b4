"""Three registries on loopback (docs/mirrors.md): A publishes with the real fpm; B and C
follow A's namespace, verify and mirror its releases, and cosign A's checkpoints as
witnesses; the real fpm builds against B with A's package; `fpmreg verify` passes on
B's lock and fails on a tampered tarball, a forged record and a log that forks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from fpmreg.core.integrity import canonical
from fpmreg.core.tlog.note import Verifier, open_note
from fpmreg.server.db import Database
from fpmreg.server.federation.keys import RegistryKeys, load_keys
from tests.e2e.test_fpm_client import (
    EXPECTED_LINE,
    LIBRARY,
    NAMESPACE,
    assert_published,
    publish_library,
    write_app,
)
from tests.server.test_mirrors import (
    FEDERATION,
    follow,
    mirror_list,
    rebuild_log,
    versions,
    wait_for,
)
from tests.support.databases import fresh_database
from tests.support.fpm import Fpm, FpmInstall, output
from tests.support.live import LiveServer

FPMREG = Path(sys.executable).parent / "fpmreg"


@pytest.fixture
def registries(tmp_path: Path) -> Iterator[dict[str, LiveServer]]:
    """A, B and C, each witnessing the others' logs as the federation is set up."""
    with ExitStack() as stack:
        servers: dict[str, LiveServer] = {}
        keys: dict[str, RegistryKeys] = {}
        for name in "abc":
            (tmp_path / name).mkdir()
            url = stack.enter_context(fresh_database(tmp_path / name))
            servers[name] = LiveServer(url, tmp_path / name, env=dict(FEDERATION))
            keys[name] = load_keys(tmp_path / name / "keys", servers[name].url)  # keys init

        def witness(name: str) -> str:
            return f"{servers[name].url}/log/witness {keys[name].witness_signer.verifier.encode()}"

        # A's log is witnessed by B and C (they witness what they mirror); B's by A and C.
        servers["a"].extra_env["FPMREG_LOG_WITNESSES"] = f"{witness('b')}, {witness('c')}"
        servers["b"].extra_env["FPMREG_LOG_WITNESSES"] = f"{witness('a')}, {witness('c')}"
        for name in "ac":
            servers[name].extra_env["FPMREG_WITNESS_LOGS"] = keys["b"].verifier.encode()
        for server in servers.values():
            stack.enter_context(server)
        yield servers


def witness_keys(servers: dict[str, LiveServer]) -> list[str]:
    return [httpx.get(s.url + "/log/witness/key").text.strip() for s in servers.values()]


def cosigners(server: LiveServer, witnesses: list[str]) -> set[str]:
    """The witnesses whose cosignature of `server`'s current checkpoint verifies."""
    log_key = Verifier.parse(httpx.get(server.url + "/log/key").text.strip())
    keys = [Verifier.parse(k) for k in witnesses]
    _text, good = open_note(httpx.get(server.url + "/log/checkpoint").text, [log_key, *keys])
    return {k.name for k in good if k != log_key}


def fpmreg(*args: str | Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "NO_COLOR": "1"}
    return subprocess.run([str(FPMREG), *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def verify(
    project: Path, cache: Path, witnesses: list[str], needed: int
) -> subprocess.CompletedProcess[str]:
    options = [item for key in witnesses for item in ("--witness", key)]
    return fpmreg("verify", "-C", project, *options, "--witnesses", str(needed), cache=cache)


def rewrite(server: LiveServer, statement: str, **params: object) -> None:
    database = Database.from_url(server.database_url)
    with database.engine.begin() as conn:
        conn.execute(text(statement), params)
    database.engine.dispose()


@pytest.mark.e2e
def test_three_registries_mirror_cosign_build_and_verify(
    registries: dict[str, LiveServer], fpm_install: FpmInstall, tmp_path: Path
) -> None:
    a, b, c = registries["a"], registries["b"], registries["c"]
    publisher = Fpm(fpm_install, tmp_path / "fpm-a", a.url)
    token = a.publisher_token(NAMESPACE)
    assert_published(publish_library(publisher, tmp_path / LIBRARY, "1.0.0", token), "1.0.0")

    follow(b, a, NAMESPACE)
    follow(c, a, NAMESPACE)
    for mirror in (b, c):
        wait_for(
            "the mirror of 1.0.0", lambda m=mirror: versions(m, NAMESPACE, LIBRARY).get("1.0.0")
        )
    # A release after the follows: delivered to B and C, and cosigned by both.
    assert_published(publish_library(publisher, tmp_path / LIBRARY, "1.1.0", token), "1.1.0")
    for mirror in (b, c):
        wait_for(
            "the mirror of 1.1.0", lambda m=mirror: versions(m, NAMESPACE, LIBRARY).get("1.1.0")
        )
    witnesses = witness_keys(registries)
    names = {Verifier.parse(k).name: n for k, n in zip(witnesses, "abc", strict=True)}
    wait_for(
        "B and C to cosign A's checkpoint",
        lambda: {names[w] for w in cosigners(a, witnesses)} == {"b", "c"},
    )
    wait_for(
        "A and C to cosign B's checkpoint",
        lambda: {names[w] for w in cosigners(b, witnesses)} == {"a", "c"},
    )
    assert "refused" not in mirror_list(b)

    # The real fpm, pointed at B, builds A's package.
    consumer = Fpm(fpm_install, tmp_path / "fpm-b", b.url)
    app = write_app(tmp_path / "consumer", f'{LIBRARY} = {{ namespace = "{NAMESPACE}" }}')
    built = consumer.run("run", cwd=app)
    assert EXPECTED_LINE.format(version="1.1.0") in built.stdout, output(built)

    cache = tmp_path / "cache"
    locked = fpmreg("lock", "-C", app, "--registry", b.url, cache=cache)
    assert locked.returncode == 0, locked.stdout + locked.stderr
    passed = verify(app, cache, witnesses, 2)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert f"verified {NAMESPACE}/{LIBRARY}@1.1.0" in passed.stdout

    lock_file = app / "fpm.lock"
    lock = lock_file.read_text()
    real = next(line for line in lock.splitlines() if line.startswith("sha256")).split('"')[1]
    lock_file.write_text(lock.replace(real, "f" * 64))  # a tarball other than the logged one
    tampered = verify(app, cache, witnesses, 2)
    assert tampered.returncode == 1 and "tampered" in tampered.stderr, tampered.stderr
    lock_file.write_text(lock)

    subject = f"pkg:fpm/{NAMESPACE}/{LIBRARY}@1.1.0"
    index, body = log_entry(b, subject)
    record = json.loads(body)
    record["sha256"] = "f" * 64  # B's operator rewrites its record: the proof breaks
    rewrite(b, 'UPDATE log_entries SET body = :b WHERE "index" = :i', b=canonical(record), i=index)
    forged = verify(app, cache, witnesses, 2)
    assert forged.returncode == 1 and "not signed by the registry" in forged.stderr, forged.stderr
    rewrite(b, 'UPDATE log_entries SET body = :b WHERE "index" = :i', b=body, i=index)
    assert verify(app, cache, witnesses, 2).returncode == 0

    # A's own record of the release is checked too (B's record names it as its origin).
    a_index, a_body = log_entry(a, subject)
    a_record = json.loads(a_body)
    a_record["time"] = "2000-01-01T00:00:00Z"
    rewrite(
        a, 'UPDATE log_entries SET body = :b WHERE "index" = :i', b=canonical(a_record), i=a_index
    )
    origin_forged = verify(app, cache, witnesses, 2)
    assert origin_forged.returncode == 1, origin_forged.stdout + origin_forged.stderr
    assert f"mirrored from `{a.url}`" in origin_forged.stderr
    rewrite(a, 'UPDATE log_entries SET body = :b WHERE "index" = :i', b=a_body, i=a_index)

    # B rebuilds its log with another history: a checkpoint its witnesses never cosigned,
    # and one a client that remembers what it saw finds inconsistent with it.
    rebuild_log(b)
    unwitnessed = verify(app, cache, witnesses, 2)
    assert unwitnessed.returncode == 1, unwitnessed.stdout + unwitnessed.stderr
    assert "of the 2 witness cosignatures asked for" in unwitnessed.stderr
    forked = verify(app, cache, witnesses, 0)
    assert forked.returncode == 1, forked.stdout + forked.stderr
    assert "is not consistent with the one seen before" in forked.stderr


def log_entry(server: LiveServer, subject: str) -> tuple[int, bytes]:
    """The index and stored bytes of the log entry about `subject`."""
    database = Database.from_url(server.database_url)
    with database.engine.begin() as conn:
        index, body = conn.execute(
            text('SELECT "index", body FROM log_entries WHERE subject = :s'), {"s": subject}
        ).one()
    database.engine.dispose()
    return int(index), bytes(body)
