"""`fpmreg verify`: every locked tarball's release record is in its registry's log
(docs/transparency-log.md, "Verifying a lock").

For each registry of the lock: read its keys and checkpoint; the checkpoint must be
signed by the log key seen the first time (pinned in the cache folder) and cosigned by
at least N of the given witnesses; it must extend the checkpoint seen last time (a
consistency proof from the tiles), or the log forked. For each locked package: take
the release record at the lock's `log-index` (a lookup finds it for a package locked
without one), read it from the entry bundle (not from the JSON API), check its
signature, that it is the release record of the package URL and that its sha256 is the
one in the lock, and check its inclusion under the checkpoint from the tiles. A record
of a mirrored release names its `origin`: the same is checked of the origin registry's
record in the origin's log. Tiles are fetched once each, the first ones concurrently.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from fpmreg.client.environment import cache_root, request_headers
from fpmreg.client.loglookup import LogLookupFailed, look_up
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
from fpmreg.core.tlog.tiles import (
    TILE_WIDTH,
    Tile,
    TileReader,
    decode_bundle,
    entries_for,
    tile_for,
)

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
PUBLISH = "version.publish"
# A mirror of a mirror is followed, but not for ever.
MAX_ORIGIN_DEPTH = 4
FETCH_JOBS = 8
# What a malformed log or record raises while it is read.
MALFORMED = (ProofError, ValueError, KeyError, IndexError, TypeError, AttributeError)


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
    tiles: dict[Tile, bytes]  # every tile and bundle fetched, by tile
    bundles: dict[int, list[bytes]] = field(default_factory=dict)
    where: dict[str, list[int]] = field(default_factory=dict)  # package URL: candidates


@dataclass
class _Run:
    """One verification: its HTTP client, the trust asked for, and every log it opened
    (or the reason it could not), by registry URL."""

    client: httpx.Client
    witnesses: list[Verifier]
    needed: int
    logs: dict[str, _Log | VerifyError] = field(default_factory=dict)

    def log(self, url: str) -> _Log:
        """The log of the registry at `url`, opened once; `VerifyError` if it cannot be."""
        if url not in self.logs:
            try:
                self.logs[url] = _open_log(self.client, url, self.witnesses, self.needed)
            except VerifyError as exc:
                self.logs[url] = exc
            except MALFORMED as exc:
                self.logs[url] = VerifyError(f"the log of `{url}` is malformed: {exc}")
        found = self.logs[url]
        if isinstance(found, VerifyError):
            raise found
        return found


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
    tiles: dict[Tile, bytes] = {}

    def fetch(tile: Tile) -> bytes:
        if tile not in tiles:
            tiles[tile] = _get(client, f"{url}/log/{tile.path()}").content
        return tiles[tile]

    reader = TileReader(fetch, checkpoint.size)
    if pinned:
        _check_consistent(url, reader, Checkpoint.parse(pinned["checkpoint"]), checkpoint)
    records_keys = [parse_multikey(k["publicKeyMultibase"]) for k in keys["keys"]]
    _pin(pinned_path, note_key, checkpoint, pinned)
    return _Log(url, checkpoint, records_keys, reader, fetch, tiles)


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


def _prefetch(log: _Log, indexes: list[int]) -> None:
    """Fetch, concurrently, the entry bundles and leaf tiles of `indexes` not fetched yet
    (a lock's packages are spread over the log: one request each would be serial)."""
    size = log.checkpoint.size
    wanted: set[Tile | None] = set()
    for index in indexes:
        if 0 <= index < size:
            wanted.add(entries_for(index // TILE_WIDTH, size))
            wanted.add(tile_for(0, index // TILE_WIDTH, size))
    missing = [t for t in wanted if t is not None and t not in log.tiles]
    if len(missing) < 2:
        return  # fetched when read
    with ThreadPoolExecutor(max_workers=min(FETCH_JOBS, len(missing))) as pool:
        list(pool.map(log.fetch, missing))


def _entry(log: _Log, index: int) -> bytes:
    bundle = index // TILE_WIDTH
    if bundle not in log.bundles:
        tile = entries_for(bundle, log.checkpoint.size)
        if tile is None:
            raise ProofError(f"entry {index} is past the checkpoint")
        log.bundles[bundle] = decode_bundle(log.fetch(tile))
    entries = log.bundles[bundle]
    return entries[index % TILE_WIDTH]


def _record(log: _Log, index: int) -> tuple[bytes, dict[str, Any]]:
    """The entry at `index` and the record it holds; `ValueError` if it holds none."""
    entry = _entry(log, index)
    record = json.loads(entry)
    if not isinstance(record, dict) or canonical(record) != entry:
        raise ValueError(f"the log entry {index} is not a record")
    return entry, record


def _subject(package: LockedPackage) -> str:
    return package.package_url


def _locate(client: httpx.Client, log: _Log, packages: list[LockedPackage]) -> None:
    """Where the records of the `packages` locked without a log index are."""
    subjects = {_subject(p) for p in packages if p.log_index is None}
    if not subjects:
        return
    try:
        found = look_up(client, log.url, subjects)
    except LogLookupFailed as exc:
        raise VerifyError(str(exc)) from None
    if found is None:
        raise VerifyError(f"`{log.url}` has no log lookup ({log.url}/api/v1/log/lookup)")
    for subject in subjects:
        if subject in found.releases:
            candidates = [found.releases[subject]]
        else:
            candidates = list(reversed(found.entries.get(subject, [])))  # newest first
        log.where[subject] = [i for i in candidates if i < log.checkpoint.size]


def check_package(run: _Run, log: _Log, package: LockedPackage) -> str:
    """'' when `package`'s release is proved in the log, else what is wrong."""
    subject = _subject(package)
    if package.log_index is not None:
        problem = _check_release(run, log, package.log_index, subject, package.sha256, 0)
        return f"{subject}: {problem}" if problem else ""
    for index in log.where.get(subject, []):
        if _record(log, index)[1].get("action") != PUBLISH:
            continue
        problem = _check_release(run, log, index, subject, package.sha256, 0, by="the lookup")
        return f"{subject}: {problem}" if problem else ""
    return f"{subject}: no release record in the log of `{log.url}`"


def _check_release(
    run: _Run, log: _Log, index: int, subject: str, sha256: str, depth: int, by: str = ""
) -> str:
    """'' when entry `index` of `log` is the signed release record of `subject` with
    `sha256`, included under the checkpoint (and so is its origin's); else what is
    wrong. `by` says who named the index: the lock, its mirror's record, a lookup."""
    by = by or ("the lock" if depth == 0 else "the mirror's record")
    suspect = "a tampered lock" if depth == 0 else "a forged origin"
    if not 0 <= index < log.checkpoint.size:
        return (
            f"{by}'s log index {index} is past the checkpoint of `{log.url}` "
            f"({log.checkpoint.size} entries): {suspect}, or a log not checkpointed yet"
        )
    entry, record = _record(log, index)
    if not any(_signed(record, key) for key in log.keys):
        return f"the record at {index} is not signed by the registry (forged)"
    action, named = record.get("action"), record.get("subject")
    if action != PUBLISH or named != subject:
        what = named if action == PUBLISH else f"`{action}` of {named}"
        return (
            f"{by}'s log index {index} is the record of {what}, not of {subject}: "
            f"{suspect} or a forked log"
        )
    if record.get("logIndex", index) != index:
        return f"the record at {index} says it is at {record['logIndex']}: the log is malformed"
    if record.get("sha256") != sha256:
        return (
            f"fpm.lock has sha256 {sha256}, the signed record of `{log.url}` "
            f"{record.get('sha256')}: the tarball was tampered with"
        )
    proof = inclusion_proof(log.reader, index, log.checkpoint.size)
    try:
        size, root = log.checkpoint.size, log.checkpoint.root
        verify_inclusion(leaf_hash(entry), index, size, proof, root)
    except ProofError as exc:
        return f"the record at {index} is not in the log: {exc}"
    if "origin" in record:
        return _check_origin(run, record["origin"], sha256, depth + 1)
    return ""


def _check_origin(run: _Run, origin: Any, sha256: str, depth: int) -> str:
    """'' when the origin a mirror's record names holds the same release, proved."""
    if not isinstance(origin, dict):
        return "the record's `origin` is not an object"
    registry, index, subject = origin.get("registry"), origin.get("logIndex"), origin.get("subject")
    if (
        not isinstance(registry, str)
        or not registry.startswith(("https://", "http://"))
        or not isinstance(index, int)
        or isinstance(index, bool)
        or not isinstance(subject, str)
    ):
        return "the record's `origin` needs `registry` (a URL), `logIndex` and `subject`"
    url = registry.rstrip("/")
    if depth > MAX_ORIGIN_DEPTH:
        return f"its origins go deeper than {MAX_ORIGIN_DEPTH} mirrors (at `{url}`)"
    try:
        problem = _check_release(run, run.log(url), index, subject, sha256, depth)
    except VerifyError as exc:
        problem = str(exc)
    except MALFORMED as exc:
        problem = f"the log of `{url}` is malformed: {exc}"
    return f"mirrored from `{url}`: {problem}" if problem else ""


def _signed(record: dict[str, Any], key: Any) -> bool:
    try:
        verify_proof(record, key)
    except IntegrityError:
        return False
    return True


def verify_lock(lock: Lock, witnesses: list[Verifier], needed: int) -> Report:
    """Check every registry package of `lock` against its registry's log."""
    report = Report()
    by_registry: dict[str, list[LockedPackage]] = {}
    for package in lock.packages:
        by_registry.setdefault(package.registry.rstrip("/"), []).append(package)
    with httpx.Client(timeout=TIMEOUT, headers=request_headers()) as client:
        run = _Run(client, witnesses, needed)
        for url, packages in by_registry.items():
            try:
                log = run.log(url)  # a registry whose log fails is said once
                _locate(client, log, packages)
                locked = [p.log_index for p in packages if p.log_index is not None]
                _prefetch(log, locked + [i for found in log.where.values() for i in found])
            except VerifyError as exc:
                report.failures.append(str(exc))
                continue
            except MALFORMED as exc:
                report.failures.append(f"the log of `{url}` is malformed: {exc}")
                continue
            for package in packages:
                label = f"{package.namespace}/{package.name}@{package.version}"
                try:
                    problem = check_package(run, log, package)
                except VerifyError as exc:
                    problem = f"{label}: {exc}"
                except MALFORMED as exc:
                    problem = f"{label}: the log of `{url}` is malformed: {exc}"
                if problem:
                    report.failures.append(problem)
                else:
                    report.verified.append(label)
    return report
