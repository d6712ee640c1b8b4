"""The transparency log: every public change is a signed record in a C2SP log that a
client can check from the tiles and the checkpoint alone."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fpmreg.core.integrity import IntegrityError, canonical, parse_multikey, verify_proof
from fpmreg.core.tlog.merkle import leaf_hash, root_hash, verify_inclusion
from fpmreg.core.tlog.note import Checkpoint, Verifier, open_note
from fpmreg.core.tlog.tiles import Tile, TileReader, decode_bundle
from fpmreg.server.accounts.models import Scope
from fpmreg.server.federation.keys import rotate_keys
from fpmreg.server.settings import Settings
from fpmreg.server.storage import BlobStore
from tests.factories import Publisher, make_owner_token, make_publisher, publish


def _checkpoint(client: TestClient) -> Checkpoint:
    verifier = Verifier.parse(client.get("/log/key").text.strip())
    text, _signed_by = open_note(client.get("/log/checkpoint").text, [verifier])
    return Checkpoint.parse(text)


def _entry(client: TestClient, subject: str) -> dict[str, object]:
    found = client.get("/api/v1/log/entries", params={"subject": subject})
    assert found.status_code == 200, found.text
    (index,) = found.json()["indexes"][-1:]
    answer = client.get(f"/api/v1/log/entries/{index}")
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def _verify_record(client: TestClient, record: dict[str, object]) -> None:
    keys = client.get("/log/keys").json()["keys"]
    method = record["proof"]["verificationMethod"]  # type: ignore[index]
    (key,) = [k for k in keys if k["id"] == method]
    verify_proof(record, parse_multikey(key["publicKeyMultibase"]))


def _published(session: Session, store: BlobStore) -> tuple[Publisher, str]:
    owner = make_publisher(session)
    publish(session, store, owner, "lib", "1.0.0")
    return owner, owner.namespace.name


def test_a_release_is_a_signed_record_included_under_the_signed_checkpoint(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    _owner, ns = _published(session, store)
    version = client.get(f"/api/v1/packages/{ns}/lib/versions/1.0.0").json()

    answer = _entry(client, f"pkg:fpm/{ns}/lib@1.0.0")
    record = answer["record"]
    assert isinstance(record, dict)
    assert record["action"] == "version.publish"
    assert record["sha256"] == version["sha256"]
    assert record["logIndex"] == answer["index"]
    _verify_record(client, record)

    checkpoint = _checkpoint(client)
    assert checkpoint.origin == "testserver/log"
    proof = [base64.b64decode(h) for h in answer["proof"]]  # type: ignore[union-attr]
    index = int(answer["index"])  # type: ignore[call-overload]
    verify_inclusion(leaf_hash(canonical(record)), index, checkpoint.size, proof, checkpoint.root)


def test_yank_and_quarantine_are_recorded_without_private_details(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner, ns = _published(session, store)
    token = make_owner_token(session, owner, Scope.YANK)
    yanked = client.put(
        f"/api/v1/packages/{ns}/lib/versions/1.0.0/yank",
        json={"reason": "miscompiles with gfortran 13"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert yanked.status_code == 200, yanked.text

    record = _entry(client, f"pkg:fpm/{ns}/lib@1.0.0")["record"]
    assert isinstance(record, dict)
    assert record["action"] == "version.yank"
    assert record["reason"] == "miscompiles with gfortran 13"
    assert "actor" not in json.dumps(record) and owner.user.username not in json.dumps(record)
    _verify_record(client, record)


def test_a_refused_publish_adds_nothing_to_the_log(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner, _ns = _published(session, store)
    before = _checkpoint(client).size
    with pytest.raises(Exception, match="already"):
        publish(session, store, owner, "lib", "1.0.0")
    session.rollback()
    assert _checkpoint(client).size == before


def test_the_tiles_rebuild_the_tree_and_the_bundles_hold_the_records(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = make_publisher(session)
    for minor in range(5):
        publish(session, store, owner, "lib", f"1.{minor}.0")
    checkpoint = _checkpoint(client)

    def fetch(tile: Tile) -> bytes:
        answer = client.get(f"/log/{tile.path()}")
        assert answer.status_code == 200, answer.text
        assert "immutable" in answer.headers["cache-control"]
        return answer.content

    assert root_hash(TileReader(fetch, checkpoint.size), checkpoint.size) == checkpoint.root
    last = (checkpoint.size - 1) // 256
    width = checkpoint.size - last * 256
    bundle = decode_bundle(fetch(Tile(-1, last, width)))
    records = [json.loads(e) for e in bundle[-5:]]
    assert [r["subject"] for r in records] == [
        f"pkg:fpm/{owner.namespace.name}/lib@1.{m}.0" for m in range(5)
    ]
    for record in records:
        _verify_record(client, record)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("tile/0/0001", 422),
        ("tile/99/000", 422),
        ("tile/0/x999/999", 404),
        ("tile/entries/000.p/255", 404),
    ],
)
def test_bad_or_missing_tiles_get_a_clear_error(client: TestClient, path: str, status: int) -> None:
    answer = client.get(f"/log/{path}")
    assert answer.status_code == status
    (problem,) = answer.json()["errors"]
    assert problem["code"] == ("request-invalid" if status == 422 else "log-tile-missing")
    if status == 422:  # the message names the layout the path must follow
        assert "pattern" in problem["detail"] or "match" in problem["detail"]


def test_records_signed_before_a_rotation_still_verify(
    client: TestClient, session: Session, store: BlobStore, settings: Settings
) -> None:
    _owner, ns = _published(session, store)
    record = _entry(client, f"pkg:fpm/{ns}/lib@1.0.0")["record"]
    assert isinstance(record, dict)
    rotated = rotate_keys(Path(settings.keys_dir), settings.base_url)

    assert len(rotated.multikeys()) == 2
    method = record["proof"]["verificationMethod"]
    assert method.endswith(rotated.multikeys()[1])  # the retired key signed it
    verify_proof(record, parse_multikey(rotated.multikeys()[1]))
    with pytest.raises(IntegrityError):
        verify_proof(record, parse_multikey(rotated.multikeys()[0]))


def test_a_subject_with_a_nul_finds_nothing_on_every_database(client: TestClient) -> None:
    # PostgreSQL refuses NUL in text: the query must not reach it (the fuzzer found it).
    found = client.get("/api/v1/log/entries", params={"subject": "pkg:fpm/a/b\x00"})
    assert found.status_code == 200 and found.json()["indexes"] == []
    looked = client.post("/api/v1/log/lookup", json={"subjects": ["pkg:fpm/a\x00", "x"]})
    assert looked.status_code == 200
    assert looked.json()["entries"] == {"pkg:fpm/a\x00": [], "x": []}


def test_the_lookup_names_each_release_record_apart_from_later_records(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner, ns = _published(session, store)
    token = make_owner_token(session, owner, Scope.YANK)
    yanked = client.put(
        f"/api/v1/packages/{ns}/lib/versions/1.0.0/yank",
        json={"reason": "broken"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert yanked.status_code == 200, yanked.text
    subject = f"pkg:fpm/{ns}/lib@1.0.0"

    looked = client.post("/api/v1/log/lookup", json={"subjects": [subject, "pkg:fpm/x/y@1"]})

    assert looked.status_code == 200, looked.text
    publish_index, yank_index = looked.json()["entries"][subject]
    assert looked.json()["releases"] == {subject: publish_index}  # not the yank's
    assert yank_index > publish_index
    release = client.get(f"/api/v1/log/entries/{publish_index}").json()["record"]
    assert release["action"] == "version.publish" and release["subject"] == subject
