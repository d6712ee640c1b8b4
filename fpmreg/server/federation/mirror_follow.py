"""Starting a mirror: follow a namespace or package of another registry (docs/mirrors.md,
"Following").

`follow` reads the remote actor (a `Group` for a namespace, an `Application` for a
package), the origin's log keys and its checkpoint, pins the log key and the record
keys it finds (trust on first use, as SSH does), creates the local namespace the
releases go into (one nobody can publish to here), sends a `Follow` from this
registry's instance actor, and queues the first sync, which takes every release the
origin's log already has.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.names import canonical_name, confusable_name, name_problems
from fpmreg.core.tlog.follow import ForkError, open_checkpoint
from fpmreg.core.tlog.note import NoteError, Verifier
from fpmreg.server.accounts.models import Namespace
from fpmreg.server.errors import Conflict, InvalidInput
from fpmreg.server.federation.actors import AP_PREFIX
from fpmreg.server.federation.delivery import queue_delivery, signed_get_headers
from fpmreg.server.federation.keys import RegistryKeys
from fpmreg.server.federation.mirror_models import MirrorSource
from fpmreg.server.federation.mirror_sync import (
    FOLLOWING,
    FORKED,
    MAX_CHECKPOINT_BYTES,
    queue_sync,
    record_keys_of,
    source_of_namespace,
)
from fpmreg.server.federation.remote import RemoteError, fetch_bytes, fetch_json

MIRROR_BAD = "mirror-invalid"
KINDS = {"namespaces": "Group", "packages": "Application"}


@dataclass(frozen=True)
class Target:
    """What an actor URL names: the origin registry and a namespace (and package)."""

    origin: str
    actor: str
    namespace: str
    package: str


def parse_target(url: str) -> Target:
    """`https://HOST/ap/namespaces/NS` or `https://HOST/ap/packages/NS/NAME`."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    prefix, _, rest = path.partition(AP_PREFIX + "/")
    pieces = rest.split("/")
    shapes = (pieces[0] == "namespaces" and len(pieces) == 2) or (
        pieces[0] == "packages" and len(pieces) == 3
    )
    if parts.scheme not in ("https", "http") or not parts.netloc or not shapes:
        raise InvalidInput(
            MIRROR_BAD,
            f"`{url[:200]}` is not an actor URL of an fpmreg namespace or package: give "
            "`https://HOST/ap/namespaces/NS` or `https://HOST/ap/packages/NS/NAME`",
            "url",
        )
    origin = f"{parts.scheme}://{parts.netloc}{prefix}"
    package = pieces[2] if pieces[0] == "packages" else ""
    return Target(origin, f"{origin}{path.removeprefix(prefix)}", pieces[1], package)


def follow(
    session: Session, keys: RegistryKeys, url: str, now: datetime, *, local: str = "",
    log_key: str = "", allow_private: bool,
) -> MirrorSource:  # fmt: skip
    """Start mirroring the actor at `url` into the local namespace `local` (by default
    the remote namespace's name); the source, flushed. With `log_key` (the origin's note
    key, learnt out of band) the origin's key must be that one: no trust on first use."""
    target = parse_target(url)
    if target.origin == keys.registry:
        raise InvalidInput(MIRROR_BAD, "a registry cannot mirror itself", "url")
    actor = _remote(target.actor, keys, now, allow_private=allow_private)
    kind = KINDS["packages" if target.package else "namespaces"]
    if actor.get("type") != kind or not isinstance(actor.get("inbox"), str):
        raise InvalidInput(MIRROR_BAD, f"`{target.actor}` is not a {kind} actor with an inbox")
    log_keys = _remote(f"{target.origin}/log/keys", keys, now, allow_private=allow_private)
    note_key, record_keys, log_origin = _pinned(log_keys)
    if log_key:
        _expect_key(note_key, log_key)
    _check_checkpoint(target.origin, note_key, log_origin, allow_private=allow_private)
    namespace = _local_namespace(session, local or target.namespace, target, now)
    source = MirrorSource(
        origin=target.origin, remote_actor=target.actor, remote_namespace=target.namespace,
        remote_package=target.package, local_namespace_id=namespace.id, log_origin=log_origin,
        note_key=note_key.encode(), record_keys=" ".join(record_keys), size=0,
        root=b"\0" * 32, follow_id=f"{keys.registry}{AP_PREFIX}/actor#follows/"
        f"{secrets.token_hex(8)}", created_at=now,
    )  # fmt: skip
    session.add(source)
    session.flush()
    _send_follow(session, keys, source, str(actor["inbox"]), now)
    queue_sync(session, source.id, now)
    return source


def resume(
    session: Session, keys: RegistryKeys, source: MirrorSource, now: datetime, *,
    log_key: str = "", allow_private: bool,
) -> None:  # fmt: skip
    """Follow a source that stopped (`forked`) again, from the start of the origin's
    current log: the operator has checked with the origin why its log changed. A new log
    key is taken only when `log_key` names it. Releases mirrored before are kept; the
    new log must have the same bytes for them (docs/mirrors.md, "When the origin's log
    changes")."""
    if source.status != FORKED:
        raise Conflict(MIRROR_BAD, f"the mirror of {source.remote_actor} is {source.status}, "
                       "not stopped: there is nothing to resume")  # fmt: skip
    log_keys = _remote(f"{source.origin}/log/keys", keys, now, allow_private=allow_private)
    note_key, record_keys, log_origin = _pinned(log_keys)
    if note_key.encode() != source.note_key:
        if not log_key:
            raise InvalidInput(
                MIRROR_BAD,
                f"the origin's log key is now `{note_key.encode()}`, not the pinned "
                f"`{source.note_key}`: once the origin has confirmed it, resume with "
                f"`--log-key {note_key.encode()}`",
                "log_key",
            )
        _expect_key(note_key, log_key)
    _check_checkpoint(source.origin, note_key, log_origin, allow_private=allow_private)
    source.note_key, source.log_origin = note_key.encode(), log_origin
    source.record_keys = " ".join(dict.fromkeys([*source.record_keys.split(), *record_keys]))
    source.size, source.root = 0, b"\0" * 32
    source.status, source.status_reason = FOLLOWING, ""
    session.flush()
    queue_sync(session, source.id, now)


def _expect_key(found: Verifier, wanted: str) -> None:
    if found.encode() != wanted.strip():
        raise InvalidInput(
            MIRROR_BAD,
            f"the origin's log key is `{found.encode()}`, not the `{wanted.strip()[:200]}` "
            "you gave: do not mirror it until the origin explains the difference",
            "log_key",
        )


def _check_checkpoint(origin: str, key: Verifier, log_origin: str, *, allow_private: bool) -> None:
    note = fetch_bytes(f"{origin}/log/checkpoint", allow_private=allow_private,
                       limit=MAX_CHECKPOINT_BYTES)  # fmt: skip
    try:
        open_checkpoint(note.decode("utf-8", "replace"), key, log_origin)
    except ForkError as exc:
        raise InvalidInput(MIRROR_BAD, f"the origin's checkpoint does not verify: {exc}") from None


def _remote(url: str, keys: RegistryKeys, now: datetime, *, allow_private: bool) -> Any:
    try:
        document = fetch_json(url, allow_private=allow_private,
                              headers=signed_get_headers(keys, url, now))  # fmt: skip
    except RemoteError as exc:
        raise InvalidInput(MIRROR_BAD, f"cannot read the origin: {exc}", "url") from None
    if not isinstance(document, dict):
        raise InvalidInput(MIRROR_BAD, f"`{url[:200]}` is not a JSON object", "url")
    return document


def _pinned(document: dict[str, Any]) -> tuple[Verifier, list[str], str]:
    """The origin's note key, record keys and log origin from its `/log/keys`."""
    try:
        note_key = Verifier.parse(str(document.get("note_key", "")))
    except NoteError as exc:
        raise InvalidInput(MIRROR_BAD, f"the origin's log key is not a note key: {exc}") from None
    found = record_keys_of(document)
    origin = document.get("origin")
    if not found or not isinstance(origin, str) or origin != note_key.name:
        raise InvalidInput(MIRROR_BAD, "the origin's /log/keys has no record key or origin")
    return note_key, found, origin


def _local_namespace(session: Session, name: str, target: Target, now: datetime) -> Namespace:
    """The namespace the mirror fills: new, or one this origin's mirrors already use."""
    problems = name_problems(name, field="as", what="namespace")
    if problems:
        raise InvalidInput.of(problems)
    existing = session.scalar(select(Namespace).where(Namespace.canonical == canonical_name(name)))
    if existing is not None:
        owner = source_of_namespace(session, existing.id)
        if owner is None or owner.origin != target.origin:
            raise Conflict(
                "mirror-namespace-taken",
                f"namespace `{name}` already exists on this registry: mirror into another "
                "one with `--as NAME`",
                "as",
            )
        return existing
    namespace = Namespace(name=name, canonical=canonical_name(name),
                          confusable=confusable_name(name), created_at=now,
                          description=f"Mirror of {target.actor}")  # fmt: skip
    session.add(namespace)
    session.flush()
    return namespace


def _send_follow(
    session: Session, keys: RegistryKeys, source: MirrorSource, inbox: str, now: datetime
) -> None:
    actor = f"{keys.registry}{AP_PREFIX}/actor"
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": source.follow_id,
        "type": "Follow",
        "actor": actor,
        "object": source.remote_actor,
    }
    queue_delivery(session, inbox, actor, activity, now)


def accepted(session: Session, follow_id: str, signer: str, now: datetime) -> bool:
    """Mark the source whose `Follow` the remote actor `signer` accepted; whether one was."""
    source = session.scalar(
        select(MirrorSource).where(
            MirrorSource.follow_id == follow_id, MirrorSource.remote_actor == signer
        )
    )
    if source is None:
        return False
    source.accepted_at = now
    return True


def wake(session: Session, activity: dict[str, Any], signer: str, now: datetime) -> bool:
    """Queue a sync of every source the activity's sender is the origin of, when it
    carries a record (the log is read, not the activity); whether any was."""
    if not _carries_record(activity):
        return False
    rows = session.scalars(select(MirrorSource).where(MirrorSource.status == "following"))
    woke = False
    for source in rows:
        if signer.startswith(source.origin + AP_PREFIX + "/"):
            queue_sync(session, source.id, now)
            woke = True
    return woke


def _carries_record(activity: dict[str, Any]) -> bool:
    inner = activity.get("object")
    if isinstance(inner, dict) and inner.get("type") in ("Create", "Update", "Delete"):
        inner = inner.get("object")  # an Announce of one
    return isinstance(inner, dict) and isinstance(inner.get("fpmregRecord"), dict)
