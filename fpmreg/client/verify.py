"""`fpmreg verify`: every locked tarball's release record is in its registry's log
(docs/transparency-log.md, "Verifying a lock").

For each registry of the lock: read its keys and checkpoint; the checkpoint must be
signed by the log key seen the first time (pinned in the cache folder) and cosigned by
at least N of the given witnesses; it must extend the checkpoint seen last time (a
consistency proof from the tiles), or the log forked. For each locked package: find its
release record, read it from the entry bundle (not from the JSON API), check its
signature, its package URL and that its sha256 is the one in the lock, and check its
inclusion under the checkpoint from the tiles. Tiles are fetched once each.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from fpmreg.client.index import cache_root
from fpmreg.client.registry import request_headers
from fpmreg.core.integrity import IntegrityError, canonical, parse_multikey, verify_proof
from fpmreg.core.lockfile import Lock, LockedPackage
from fpmreg.core.tlog.merkle import (
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from fpmreg.core.tlog.note import Checkpoint, NoteError, Verifier, open_note
from fpmreg.core.tlog.tiles import TILE_WIDTH, Tile, TileReader, decode_bundle, entries_for
from fpmreg.core.wire.log import MAX_LOOKUP_SUBJECTS, LogLookupAnswer

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class VerifyError(Exception):
    """A registry whose log cannot be read or trusted at all."""


@dataclass
class Report:
    """What verification found: one line per verified package, one per failure."""

    verified: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


@dataclass
class _Log:
    """One registry's log as this run sees it."""

    url: str
    checkpoint: Checkpoint
    keys: list[Any]  # Ed25519 public keys records may be signed with
    reader: TileReader
    fetch: Callable[[Tile], bytes]
    bundles: dict[int, list[bytes]] = field(default_factory=dict)
    where: dict[str, list[int]] = field(default_factory=dict)  # package URL: log indexes


def state_file(origin: str) -> Path:
    """Where the log key and the last checkpoint of `origin` are pinned."""
    safe = "".join(c if c.isalnum() or c in "-._" else "_" for c in origin)
    return cache_root() / "logs" / f"{safe}.json"


def _get(client: httpx.Client, url: str) -> httpx.Response:
    try:
        answer = client.get(url)
    except httpx.HTTPError as exc:
        raise VerifyError(f"cannot read `{url}`: {exc}") from None
    if answer.status_code != 200:
        raise VerifyError(f"`{url}` answered {answer.status_code}")
    return answer


def _open_log(client: httpx.Client, url: str, witnesses: list[Verifier], needed: int) -> _Log:
    keys = _get(client, f"{url}/log/keys").json()
    note_key = Verifier.parse(keys["note_key"])
    pinned_path = state_file(keys["origin"])
    pinned = json.loads(pinned_path.read_text()) if pinned_path.exists() else None
    if pinned and pinned["note_key"] != note_key.encode():
        raise VerifyError(
            f"the log key of `{url}` changed since it was first seen ({pinned['note_key']}); "
            f"if the registry announced a new key, remove `{pinned_path}` to trust it"
        )
    try:
        text, good = open_note(_get(client, f"{url}/log/checkpoint").text, [note_key, *witnesses])
        checkpoint = Checkpoint.parse(text)
    except NoteError as exc:
        raise VerifyError(f"the checkpoint of `{url}` does not verify: {exc}") from None
    if note_key not in good:
        raise VerifyError(f"the checkpoint of `{url}` is not signed by its log key")
    cosigned = len([k for k in good if k != note_key])
    if cosigned < needed:
        raise VerifyError(
            f"the checkpoint of `{url}` (size {checkpoint.size}) has {cosigned} of the "
            f"{needed} witness cosignatures asked for"
        )

    def fetch(tile: Tile) -> bytes:
        return _get(client, f"{url}/log/{tile.path()}").content

    reader = TileReader(fetch, checkpoint.size)
    if pinned:
        _check_consistent(url, reader, Checkpoint.parse(pinned["checkpoint"]), checkpoint)
    records_keys = [parse_multikey(k["publicKeyMultibase"]) for k in keys["keys"]]
    _pin(pinned_path, note_key, checkpoint, pinned)
    return _Log(url, checkpoint, records_keys, reader, fetch)


def _check_consistent(url: str, reader: TileReader, old: Checkpoint, new: Checkpoint) -> None:
    """`new` extends `old`, or `VerifyError` says the log forked."""
    if new.size < old.size:
        raise VerifyError(
            f"the log of `{url}` shrank from {old.size} to {new.size} entries: it forked"
        )
    try:
        proof = consistency_proof(reader, old.size, new.size) if 0 < old.size < new.size else []
        verify_consistency(old.size, new.size, proof, old.root, new.root)
    except ProofError as exc:
        raise VerifyError(
            f"the log of `{url}` is not consistent with the one seen before: {exc}"
        ) from None


def _pin(path: Path, key: Verifier, checkpoint: Checkpoint, pinned: dict[str, Any] | None) -> None:
    if pinned and Checkpoint.parse(pinned["checkpoint"]).size > checkpoint.size:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"note_key": key.encode(), "checkpoint": checkpoint.text()}))


def _entry(log: _Log, index: int) -> bytes:
    bundle = index // TILE_WIDTH
    if bundle not in log.bundles:
        tile = entries_for(bundle, log.checkpoint.size)
        if tile is None:
            raise ProofError(f"entry {index} is past the checkpoint")
        log.bundles[bundle] = decode_bundle(log.fetch(tile))
    entries = log.bundles[bundle]
    return entries[index % TILE_WIDTH]


def _subject(package: LockedPackage) -> str:
    return f"pkg:fpm/{package.namespace}/{package.name}@{package.version}"


def _look_up(client: httpx.Client, log: _Log, packages: list[LockedPackage]) -> None:
    """Where the records of `packages` are, in requests of up to 1000 package URLs."""
    subjects = sorted({_subject(p) for p in packages})
    for start in range(0, len(subjects), MAX_LOOKUP_SUBJECTS):
        chunk = subjects[start : start + MAX_LOOKUP_SUBJECTS]
        try:
            answer = client.post(f"{log.url}/api/v1/log/lookup", json={"subjects": chunk})
        except httpx.HTTPError as exc:
            raise VerifyError(f"cannot read `{log.url}/api/v1/log/lookup`: {exc}") from None
        if answer.status_code != 200:
            raise VerifyError(f"`{log.url}/api/v1/log/lookup` answered {answer.status_code}")
        for subject, indexes in LogLookupAnswer.model_validate(answer.json()).entries.items():
            log.where[subject] = [i for i in indexes if i < log.checkpoint.size]


def check_package(log: _Log, package: LockedPackage) -> str:
    """'' when `package`'s release is proved in the log, else what is wrong."""
    subject = _subject(package)
    for index in log.where.get(subject, []):
        entry = _entry(log, index)
        record = json.loads(entry)
        if record.get("action") != "version.publish":
            continue
        if canonical(record) != entry or record.get("subject") != subject:
            return f"{subject}: the log entry {index} is not a record of this release"
        if not any(_signed(record, key) for key in log.keys):
            return f"{subject}: the record at {index} is not signed by the registry (forged)"
        if record.get("sha256") != package.sha256:
            logged = record.get("sha256")
            return (
                f"{subject}: fpm.lock has sha256 {package.sha256}, the registry's signed "
                f"record {logged}: the tarball was tampered with"
            )
        proof = inclusion_proof(log.reader, index, log.checkpoint.size)
        try:
            size, root = log.checkpoint.size, log.checkpoint.root
            verify_inclusion(leaf_hash(entry), index, size, proof, root)
        except ProofError as exc:
            return f"{subject}: the record at {index} is not in the log: {exc}"
        return ""
    return f"{subject}: no release record in the log of `{log.url}`"


def _signed(record: dict[str, Any], key: Any) -> bool:
    try:
        verify_proof(record, key)
    except IntegrityError:
        return False
    return True


def verify_lock(lock: Lock, witnesses: list[Verifier], needed: int) -> Report:
    """Check every registry package of `lock` against its registry's log."""
    report = Report()
    logs: dict[str, _Log | None] = {}  # None: the registry's log failed (said once)
    with httpx.Client(timeout=TIMEOUT, headers=request_headers()) as client:
        for package in lock.packages:
            url = package.registry.rstrip("/")
            label = f"{package.namespace}/{package.name}@{package.version}"
            try:
                if url not in logs:
                    logs[url] = None
                    opened = _open_log(client, url, witnesses, needed)
                    same = [p for p in lock.packages if p.registry.rstrip("/") == url]
                    _look_up(client, opened, same)
                    logs[url] = opened
                log = logs[url]
                if log is None:
                    continue
                problem = check_package(log, package)
            except VerifyError as exc:
                report.failures.append(str(exc))
                continue
            except (ProofError, ValueError, KeyError, IndexError) as exc:
                report.failures.append(f"{label}: the log of `{url}` is malformed: {exc}")
                continue
            if problem:
                report.failures.append(problem)
            else:
                report.verified.append(label)
    return report
