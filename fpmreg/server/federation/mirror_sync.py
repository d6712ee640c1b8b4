"""Syncing a mirror from its origin's log (docs/mirrors.md, "Syncing").

A `federation.mirror-sync` job reads the origin's checkpoint, checks it is signed by the
pinned log key and extends the one this mirror verified last, then walks the entries it
adds: each is proved included from the tiles, must be a record signed by the origin's
registry key, and when it is about a mirrored package it is applied here: a release is
downloaded, must have the record's sha256, and is published into the local namespace
with the origin named in its own record; a yank, deprecation, quarantine or delete is
applied to the local copy. A refused entry is kept with its reason and skipped; a log
that forks, or a checkpoint that is not signed by the pinned key, stops the source.
Activities from the origin only wake the job: the log is the source of truth, so a
lost delivery is caught up by the next sync.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fpmreg.core.integrity import IntegrityError, canonical, parse_multikey, verify_proof
from fpmreg.core.names import canonical_name
from fpmreg.core.tlog.follow import ForkError, Seen, check_extends, new_entries, open_checkpoint
from fpmreg.core.tlog.merkle import ProofError, root_hash
from fpmreg.core.tlog.note import Checkpoint, Verifier
from fpmreg.core.tlog.tiles import Tile, TileReader
from fpmreg.server.accounts.models import Namespace
from fpmreg.server.changes import ChangeCounter
from fpmreg.server.clock import Clock
from fpmreg.server.errors import DomainError
from fpmreg.server.federation.mirror_models import MirroredRelease, MirrorRefusal, MirrorSource
from fpmreg.server.federation.records import RECORD_TYPE
from fpmreg.server.federation.remote import TIMEOUT, RemoteError, fetch_bytes, fetch_json
from fpmreg.server.jobs import Job, JobContext, JobStatus, enqueue
from fpmreg.server.packages.service import PackagesService
from fpmreg.server.storage import BlobStore

log = logging.getLogger(__name__)

MIRROR_SYNC = "federation.mirror-sync"
# Entries verified per job run; a longer backlog continues in the next job.
ENTRIES_PER_RUN = 2000
MAX_CHECKPOINT_BYTES = 64 * 1024
MAX_TILE_BYTES = 256 * 32 + 1024
MAX_BUNDLE_BYTES = 256 * 65538
FOLLOWING, FORKED = "following", "forked"


class MirrorActions(Protocol):
    """Applies a verified state change of the origin to the local copy (implemented
    with the moderation services by `web.mirroring`). `namespace` is the local one."""

    def apply(
        self, session: Session, packages: PackagesService, record: dict[str, Any],
        namespace: str, name: str, version: str,
    ) -> None: ...  # fmt: skip


class Refused(Exception):
    """An entry this mirror will not apply, and why."""


def queue_sync(session: Session, source_id: int, now: datetime) -> None:
    """Queue a sync of `source_id` unless one that has not run yet is waiting."""
    waiting = session.scalars(
        select(Job.payload).where(
            Job.kind == MIRROR_SYNC, Job.status == JobStatus.QUEUED, Job.attempts == 0
        )
    )
    if any(p.get("source_id") == source_id for p in waiting):
        return
    enqueue(session, MIRROR_SYNC, {"source_id": source_id}, at=now)


@dataclass
class MirrorSync:
    """The `federation.mirror-sync` job's handler."""

    store: BlobStore
    clock: Clock
    actions: MirrorActions
    changes: ChangeCounter | None = None
    max_upload_bytes: int = 10 * 1024 * 1024
    allow_private: bool = False

    def __call__(self, context: JobContext) -> None:
        sync_source(self, context.session, int(context.payload["source_id"]), context.now)


def _locked_source(session: Session, source_id: int) -> MirrorSource | None:
    session.execute(  # a write first: the row (PostgreSQL) or the database (SQLite) is ours
        update(MirrorSource).where(MirrorSource.id == source_id).values(size=MirrorSource.size)
    )
    return session.get(MirrorSource, source_id, populate_existing=True)


def sync_source(sync: MirrorSync, session: Session, source_id: int, now: datetime) -> str:
    """Verify and apply what the origin's log added since the last sync; what happened."""
    source = _locked_source(session, source_id)
    if source is None or source.status != FOLLOWING:
        return "not following"
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
        walker = _Walker(sync, session, source, client, now)
        try:
            done = walker.run()
        except (ForkError, ProofError) as exc:
            _stop(session, source, f"the origin's log cannot be trusted: {exc}", now)
            return f"stopped: {exc}"
        except RemoteError as exc:
            raise RuntimeError(f"the origin cannot be read: {exc}") from None  # retried
    source.synced_at = now
    session.flush()
    if not done:
        queue_sync(session, source.id, now)
    return f"synced to {source.size}"


def _stop(session: Session, source: MirrorSource, reason: str, now: datetime) -> None:
    source.status, source.status_reason = FORKED, reason
    session.add(MirrorRefusal(source_id=source.id, log_index=source.size, reason=reason,
                              refused_at=now))  # fmt: skip
    log.warning("mirror of %s stopped: %s", source.origin, reason)
    session.flush()


class _Walker:
    """One sync run of one source."""

    def __init__(
        self, sync: MirrorSync, session: Session, source: MirrorSource, client: httpx.Client,
        now: datetime,
    ) -> None:  # fmt: skip
        self.sync, self.session, self.source, self.client, self.now = (
            sync, session, source, client, now)  # fmt: skip
        self.keys = source.record_keys.split()
        self.packages = PackagesService(
            session, sync.clock, sync.store, max_upload_bytes=sync.max_upload_bytes,
            changes=sync.changes,
        )  # fmt: skip

    def get(self, path: str, limit: int) -> bytes:
        return fetch_bytes(f"{self.source.origin}{path}", allow_private=self.sync.allow_private,
                           limit=limit, client=self.client)  # fmt: skip

    def run(self) -> bool:
        """Walk at most `ENTRIES_PER_RUN` new entries; whether the checkpoint was reached."""
        source = self.source
        note = self.get("/log/checkpoint", MAX_CHECKPOINT_BYTES).decode("utf-8", "replace")
        checkpoint = open_checkpoint(note, Verifier.parse(source.note_key), source.log_origin)

        def fetch(tile: Tile) -> bytes:
            limit = MAX_BUNDLE_BYTES if tile.is_entries else MAX_TILE_BYTES
            return self.get(f"/log/{tile.path()}", limit)

        reader = TileReader(fetch, checkpoint.size)
        check_extends(reader, Seen(source.size, source.root), checkpoint)
        stop = min(checkpoint.size, source.size + ENTRIES_PER_RUN)
        for index, entry in new_entries(fetch, reader, checkpoint, source.size, stop):
            self.entry(index, entry, checkpoint)
            source.size = index + 1
        source.root = root_hash(reader, source.size) if source.size else source.root
        if source.size == checkpoint.size:
            source.checkpoint = note
        return source.size == checkpoint.size

    def entry(self, index: int, entry: bytes, checkpoint: Checkpoint) -> None:
        """Apply one proved entry if it is about a mirrored package; refusals are kept."""
        try:
            record = json.loads(entry)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return self.refuse(index, "", "the entry is not a JSON record")
        if not isinstance(record, dict) or record.get("type") != RECORD_TYPE:
            return None  # not a record this registry format knows: nothing to mirror
        parts = _package_parts(record)
        if parts is None or not self.in_scope(parts[0], parts[1]):
            return None
        subject = str(record.get("subject", ""))
        try:
            if canonical(record) != entry:
                raise Refused("the entry is not the canonical form of its record")
            self.check_signed(record)
            with self.session.begin_nested():
                self.apply(index, record, parts, checkpoint)
        except Refused as exc:
            self.refuse(index, subject, str(exc))
        except DomainError as exc:
            self.refuse(index, subject, f"this registry refused it: {exc.detail}")
        return None

    def in_scope(self, namespace: str, name: str) -> bool:
        source = self.source
        if canonical_name(namespace) != canonical_name(source.remote_namespace):
            return False
        return not source.remote_package or canonical_name(name) == canonical_name(
            source.remote_package
        )

    def check_signed(self, record: dict[str, Any]) -> None:
        """`Refused` unless a pinned key of the origin signed `record`; keys the origin
        added since (a rotation) are fetched from the same origin once."""
        if record.get("registry") != self.source.origin:
            raise Refused(f"the record names registry `{record.get('registry')}`")
        method = str((record.get("proof") or {}).get("verificationMethod", ""))
        if method.partition("#")[2] not in self.keys:
            self.refresh_keys()
        for text in self.keys:
            try:
                verify_proof(record, parse_multikey(text))
                return
            except IntegrityError:
                continue
        raise Refused("the record is not signed by the origin registry's keys (forged)")

    def refresh_keys(self) -> None:
        try:
            keys = fetch_json(f"{self.source.origin}/log/keys",
                              allow_private=self.sync.allow_private)  # fmt: skip
        except RemoteError:
            return
        if not isinstance(keys, dict) or keys.get("note_key") != self.source.note_key:
            return  # a new log key is not taken silently (docs/mirrors.md)
        self.keys = list(dict.fromkeys([*self.keys, *record_keys_of(keys)]))
        self.source.record_keys = " ".join(self.keys)

    def apply(
        self, index: int, record: dict[str, Any], parts: tuple[str, str, str],
        checkpoint: Checkpoint,
    ) -> None:  # fmt: skip
        _, name, version = parts
        local = self.local_namespace()
        if record.get("action") == "version.publish":
            return self.publish(index, record, parts, local, checkpoint)
        if self.local_package_exists(local, name):
            self.sync.actions.apply(self.session, self.packages, record, local.name, name, version)
        return None

    def local_namespace(self) -> Namespace:
        namespace = self.session.get(Namespace, self.source.local_namespace_id)
        if namespace is None:
            raise Refused("the local namespace of this mirror was removed")
        return namespace

    def local_package_exists(self, namespace: Namespace, name: str) -> bool:
        try:
            self.packages.get_package(namespace.name, name)
        except DomainError:
            return False
        return True

    def publish(
        self, index: int, record: dict[str, Any], parts: tuple[str, str, str],
        namespace: Namespace, checkpoint: Checkpoint,
    ) -> None:  # fmt: skip
        remote_ns, name, version = parts
        sha256 = str(record.get("sha256", ""))
        local_subject = f"pkg:fpm/{namespace.name}/{name}@{version}"
        before = self.session.scalar(select(MirroredRelease.sha256).where(
            MirroredRelease.source_id == self.source.id,
            MirroredRelease.local_subject == local_subject))  # fmt: skip
        if before is not None:  # seen again in a log the operator resumed from its start
            if before != sha256:
                raise Refused(f"the record says sha256 {sha256}; the release mirrored "
                              f"before has {before}, and is kept")  # fmt: skip
            return None
        try:
            data = self.get(f"/tarballs/{remote_ns}/{name}/{version}.tar.gz",
                            self.sync.max_upload_bytes)  # fmt: skip
        except RemoteError as exc:
            raise Refused(f"the tarball cannot be downloaded: {exc}") from None
        got = hashlib.sha256(data).hexdigest()
        if got != sha256:
            raise Refused(f"the tarball's sha256 is {got}, the signed record says {sha256}")
        origin = {"registry": self.source.origin, "logIndex": index,
                  "subject": str(record.get("subject"))}  # fmt: skip
        self.packages.publish_mirrored(namespace, io.BytesIO(data), origin)
        self.session.add(
            MirroredRelease(
                source_id=self.source.id, log_index=index, subject=origin["subject"],
                local_subject=local_subject, sha256=sha256,
                record=canonical(record), checkpoint=checkpoint.text(), mirrored_at=self.now,
            )
        )  # fmt: skip
        self.session.flush()
        return None

    def refuse(self, index: int, subject: str, reason: str) -> None:
        refusal = MirrorRefusal(
            source_id=self.source.id,
            log_index=index,
            subject=subject[:256],
            reason=reason,
            refused_at=self.now,
        )
        self.session.add(refusal)
        log.warning("mirror of %s refused entry %d: %s", self.source.origin, index, reason)
        self.session.flush()


def record_keys_of(document: dict[str, Any]) -> list[str]:
    """The record keys (Multikeys) a registry's `/log/keys` document lists."""
    keys = [k.get("publicKeyMultibase") for k in document.get("keys") or []
            if isinstance(k, dict)]  # fmt: skip
    return [k for k in keys if isinstance(k, str) and k.startswith("z")]


def source_of_namespace(session: Session, namespace_id: int) -> MirrorSource | None:
    """The (first) source that fills the local namespace `namespace_id`, if it is a mirror's."""
    return session.scalar(
        select(MirrorSource)
        .where(MirrorSource.local_namespace_id == namespace_id)
        .order_by(MirrorSource.id)
        .limit(1)
    )


def _package_parts(record: dict[str, Any]) -> tuple[str, str, str] | None:
    """(namespace, name, version) a record is about, from its package URL."""
    subject = record.get("subject")
    if not isinstance(subject, str) or not subject.startswith("pkg:fpm/"):
        return None
    path, _, version = subject.removeprefix("pkg:fpm/").partition("@")
    namespace, slash, name = path.partition("/")
    if not slash or not namespace or not name or "/" in name:
        return None
    return namespace, name, version
