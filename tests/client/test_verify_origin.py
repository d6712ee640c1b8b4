"""`fpmreg verify` of a mirrored release: registry B's release record names its
`origin`, the record of the same release in registry A's log, and verify checks that
one too (A's keys, subject, sha256, inclusion, witnesses, consistency).

A is a real registry; B is a log built with the core code and served on loopback (the
server does not write origin-bearing records yet)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fpmreg.core.lockfile import Lock, LockedPackage, dumps, loads
from fpmreg.core.tlog.note import COSIGNATURE, Signer
from tests.client.conftest import fpmreg
from tests.client.pinning import NAMESPACE, publish, token_for
from tests.client.test_verify import _release_indexes
from tests.support.live import LiveServer
from tests.support.static_log import StaticLog, serving

NUMKIT = f"pkg:fpm/{NAMESPACE}/numkit@1.0.0"
STATKIT = f"pkg:fpm/{NAMESPACE}/statkit@1.0.0"


@pytest.fixture(autouse=True)
def private_cache(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(isolated / ".cache"))
    return isolated / ".cache" / "fpmreg"


@pytest.fixture
def mirror() -> Iterator[StaticLog]:
    with serving(StaticLog()) as log:
        yield log


def _published(server: LiveServer) -> dict[str, str]:
    token = token_for(server)
    return {
        NUMKIT: publish(server, token, "numkit", "1.0.0"),
        STATKIT: publish(server, token, "statkit", "1.0.0"),
    }


def _mirrored(mirror: StaticLog, origin: str, index: int, subject: str, sha256: str) -> int:
    """B's release record of numkit, naming `index` of `origin`'s log as its origin."""
    return mirror.append(
        {
            "type": "fpmreg-record/v1",
            "registry": mirror.url,
            "action": "version.publish",
            "time": "2026-12-03T00:00:00Z",
            "subject": NUMKIT,
            "package": f"{NAMESPACE}/numkit",
            "sha256": sha256,
            "origin": {"registry": origin, "logIndex": index, "subject": subject},
        }
    )


def _lock_on(project: Path, mirror: StaticLog, index: int, sha256: str) -> Path:
    project.mkdir(parents=True, exist_ok=True)
    package = LockedPackage(NAMESPACE, "numkit", "1.0.0", sha256, mirror.url, log_index=index)
    (project / "fpm.lock").write_text(dumps(Lock((package,))))
    assert loads((project / "fpm.lock").read_text()).packages[0].log_index == index
    return project


def test_a_mirrored_release_verifies_in_both_logs(
    live_server: LiveServer, mirror: StaticLog, tmp_path: Path, private_cache: Path
) -> None:
    shas = _published(live_server)
    origin_index = _release_indexes(live_server)[NUMKIT]
    mirror.append({"type": "fpmreg-record/v1", "action": "version.publish", "subject": "x"})
    index = _mirrored(mirror, live_server.url, origin_index, NUMKIT, shas[NUMKIT])
    project = _lock_on(tmp_path / "app", mirror, index, shas[NUMKIT])

    run = fpmreg("verify", "-C", project)

    assert run.exit_code == 0, run.stderr
    assert f"verified {NAMESPACE}/numkit@1.0.0" in run.stdout
    # Both logs were opened and pinned: A's through B's record.
    assert len(list((private_cache / "logs").glob("*.json"))) == 2


def test_an_origin_pointing_at_another_record_fails(
    live_server: LiveServer, mirror: StaticLog, tmp_path: Path
) -> None:
    shas = _published(live_server)
    statkit = _release_indexes(live_server)[STATKIT]
    index = _mirrored(mirror, live_server.url, statkit, NUMKIT, shas[NUMKIT])
    project = _lock_on(tmp_path / "app", mirror, index, shas[NUMKIT])

    run = fpmreg("verify", "-C", project)

    assert run.exit_code == 1
    assert (
        f"{NUMKIT}: mirrored from `{live_server.url}`: the mirror's record's log index "
        f"{statkit} is the record of {STATKIT}, not of {NUMKIT}: a forged origin"
    ) in run.stderr


def test_a_mirror_whose_sha256_differs_from_the_origin_fails(
    live_server: LiveServer, mirror: StaticLog, tmp_path: Path
) -> None:
    shas = _published(live_server)
    origin_index = _release_indexes(live_server)[NUMKIT]
    other = "f" * 64  # B logged (and serves) other bytes under A's release
    index = _mirrored(mirror, live_server.url, origin_index, NUMKIT, other)
    project = _lock_on(tmp_path / "app", mirror, index, other)

    run = fpmreg("verify", "-C", project)

    assert run.exit_code == 1
    assert f"mirrored from `{live_server.url}`: fpm.lock has sha256 {other}" in run.stderr
    assert shas[NUMKIT] in run.stderr and "tampered" in run.stderr


def test_the_origin_needs_the_witnesses_too(
    live_server: LiveServer, mirror: StaticLog, tmp_path: Path
) -> None:
    """B's checkpoint is cosigned by the witness, A's is not: A's record cannot count."""
    shas = _published(live_server)
    origin_index = _release_indexes(live_server)[NUMKIT]
    index = _mirrored(mirror, live_server.url, origin_index, NUMKIT, shas[NUMKIT])
    project = _lock_on(tmp_path / "app", mirror, index, shas[NUMKIT])
    witness = Signer.generate("witness.example/w", COSIGNATURE)
    mirror.cosigners.append(witness)

    run = fpmreg(
        "verify", "-C", project, "--witness", witness.verifier.encode(), "--witnesses", "1"
    )

    assert run.exit_code == 1
    assert f"mirrored from `{live_server.url}`: the checkpoint of `{live_server.url}`" in (
        run.stderr
    )
    assert "has 0 of the 1 witness cosignatures asked for" in run.stderr


def test_a_forged_mirror_record_is_refused_before_its_origin(
    live_server: LiveServer, mirror: StaticLog, tmp_path: Path
) -> None:
    shas = _published(live_server)
    origin_index = _release_indexes(live_server)[NUMKIT]
    index = _mirrored(mirror, live_server.url, origin_index, NUMKIT, shas[NUMKIT])
    project = _lock_on(tmp_path / "app", mirror, index, shas[NUMKIT])
    mirror.key = Ed25519PrivateKey.generate()  # B now publishes another key

    run = fpmreg("verify", "-C", project)

    assert run.exit_code == 1
    assert f"{NUMKIT}: the record at {index} is not signed by the registry (forged)" in (run.stderr)
