"""Witnessing between registries (docs/transparency-log.md, "Witnessing").

As a witness, a registry cosigns the checkpoints of the logs named in
`FPMREG_WITNESS_LOGS` that are consistent with the last one it cosigned; the check and
the update of what it saw run in one transaction that locks the origin's row first, so
two submissions cannot roll each other back. As a log, it asks each witness of
`FPMREG_LOG_WITNESSES` for a cosignature of its current checkpoint (`fpmreg-server log
cosign`) and serves the cosignatures it got with the checkpoint of the same size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fpmreg.core.tlog.merkle import consistency_proof
from fpmreg.core.tlog.note import NoteError, Verifier, open_note
from fpmreg.core.tlog.witness import (
    Seen,
    Submission,
    check_submission,
    cosign,
    parse_log_witnesses,
    parse_witness_logs,
    submission_body,
)
from fpmreg.server.clock import Clock
from fpmreg.server.federation.keys import RegistryKeys
from fpmreg.server.federation.log import TransparencyLog
from fpmreg.server.federation.mirror_models import MirrorSource
from fpmreg.server.federation.models import Cosignature, WitnessState
from fpmreg.server.jobs import Job, JobContext, JobStatus, enqueue

EMPTY_ROOT = b"\0" * 32
witnessed_logs = parse_witness_logs  # the logs of FPMREG_WITNESS_LOGS, by origin
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def _locked_state(session: Session, origin: str, now: datetime) -> WitnessState:
    """The origin's row, created if new, and locked for the rest of the transaction."""
    if session.get(WitnessState, origin) is None:
        try:
            with session.begin_nested():
                session.add(WitnessState(origin=origin, size=0, root=EMPTY_ROOT, updated_at=now))
        except IntegrityError:
            pass  # another submission created it
    session.execute(  # a write first: the row (PostgreSQL) or the database (SQLite) is ours
        update(WitnessState).where(WitnessState.origin == origin).values(size=WitnessState.size)
    )
    state = session.get(WitnessState, origin, populate_existing=True)
    assert state is not None
    return state


def add_checkpoint(
    session: Session,
    keys: RegistryKeys,
    logs: dict[str, list[Verifier]],
    submission: Submission,
    now: datetime,
) -> str:
    """Check `submission` and record it; the cosignature line. `WitnessError` if refused."""
    origin = submission.note.split("\n", 1)[0]
    if origin not in logs:
        check_submission(submission, logs, Seen(0, EMPTY_ROOT))  # raises the 404
    state = _locked_state(session, origin, now)
    checkpoint = check_submission(submission, logs, Seen(state.size, state.root))
    state.size, state.root, state.updated_at = checkpoint.size, checkpoint.root, now
    session.flush()
    return cosign(keys.witness_signer, checkpoint, int(now.timestamp()))


def served_checkpoint(session: Session, keys: RegistryKeys) -> str:
    """The log's signed checkpoint with every cosignature collected for its size."""
    log = TransparencyLog(session)
    size = log.size()
    note = log.checkpoint(keys.signer, size)
    lines = session.scalars(
        select(Cosignature.line).where(Cosignature.size == size).order_by(Cosignature.witness)
    )
    return note + "".join(lines)


@dataclass(frozen=True)
class WitnessPeer:
    """A witness this log asks for cosignatures."""

    url: str
    key: Verifier


def log_witnesses(setting: str) -> list[WitnessPeer]:
    """The witnesses of `FPMREG_LOG_WITNESSES` (`URL KEY` pairs, comma-separated)."""
    return [WitnessPeer(url, key) for url, key in parse_log_witnesses(setting)]


def request_cosignature(
    session: Session, keys: RegistryKeys, peer: WitnessPeer, client: httpx.Client, now: datetime
) -> str:
    """Ask `peer` to cosign the current checkpoint and keep its line; what happened."""
    log = TransparencyLog(session)
    size = log.size()
    note = log.checkpoint(keys.signer, size)
    old = _last_cosigned(session, peer) or 0
    for _attempt in range(2):  # once more from the size a 409 names
        proof = consistency_proof(log.nodes, old, size) if 0 < old < size else []
        answer = client.post(
            f"{peer.url}/add-checkpoint", content=submission_body(old, proof, note)
        )
        if answer.status_code == 409 and answer.text.strip().isdigit():
            old = int(answer.text.strip())
            if old > size:
                return f"{peer.url}: the witness saw a larger tree ({old}) than this log has"
            continue
        break
    if answer.status_code != 200:
        return f"{peer.url}: refused with {answer.status_code}: {answer.text.strip()[:200]}"
    line = _the_peer_line(note, answer.text, peer.key)
    session.merge(Cosignature(witness=peer.key.name, size=size, line=line, created_at=now))
    session.flush()
    return f"{peer.url}: cosigned size {size}"


def _last_cosigned(session: Session, peer: WitnessPeer) -> int | None:
    return session.scalar(
        select(Cosignature.size)
        .where(Cosignature.witness == peer.key.name)
        .order_by(Cosignature.size.desc())
        .limit(1)
    )


def _the_peer_line(note: str, answer: str, key: Verifier) -> str:
    """The one answer line that is `key`'s good cosignature of `note`; `ValueError`."""
    for line in answer.splitlines(keepends=True):
        try:
            open_note(note.split("\n\n")[0] + "\n\n" + line, [key])
        except NoteError:
            continue
        return line
    raise ValueError("the witness answered no good cosignature from its key")


def cosign_round(
    session: Session, keys: RegistryKeys, peers: list[WitnessPeer], clock: Clock
) -> list[str]:
    """One request to every witness; a line per witness saying how it went."""
    outcomes = []
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
        for peer in peers:
            try:
                outcomes.append(request_cosignature(session, keys, peer, client, clock.now()))
            except (httpx.HTTPError, ValueError) as exc:
                outcomes.append(f"{peer.url}: {exc}")
    return outcomes


COSIGN = "federation.cosign"


def queue_cosign(session: Session, now: datetime) -> None:
    """Queue a cosigning round unless one that has not run yet is waiting (one being
    retried after a failure does not hold a new round back)."""
    waiting = session.scalar(
        select(Job.id)
        .where(Job.kind == COSIGN, Job.status == JobStatus.QUEUED, Job.attempts == 0)
        .limit(1)
    )
    if waiting is None:
        enqueue(session, COSIGN, {}, at=now)


@dataclass(frozen=True)
class Cosign:
    """The `federation.cosign` job: one round to every witness; raises (so the job is
    retried with back-off) when a witness did not cosign."""

    keys: RegistryKeys
    peers: list[WitnessPeer]
    clock: Clock

    def __call__(self, context: JobContext) -> None:
        outcomes = cosign_round(context.session, self.keys, self.peers, self.clock)
        failed = [line for line in outcomes if ": cosigned size " not in line]
        if failed:
            raise RuntimeError("; ".join(failed)[:500])


def mirrored_logs(session: Session) -> dict[str, list[Verifier]]:
    """The logs of the registries this one mirrors, which it witnesses too
    (docs/mirrors.md, "Witnessing the origin")."""
    logs: dict[str, list[Verifier]] = {}
    for origin, key in session.execute(select(MirrorSource.log_origin, MirrorSource.note_key)):
        verifier = Verifier.parse(key)
        if verifier not in logs.setdefault(origin, []):
            logs[origin].append(verifier)
    return logs
