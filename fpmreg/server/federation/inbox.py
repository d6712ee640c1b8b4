"""What arrives at the inboxes (docs/activitypub.md, "Inbox").

Every request is checked before its activity is read. One with `Signature-Input` is an
RFC 9421 message signature, checked by `signatures.py`; any other must carry a draft-cavage
`Signature` covering the target, host, date and digest, with a `Date` within
`CLOCK_SKEW` and a `Digest` matching the body. Either way the signature must not have
been seen before (a replay is refused), and the key of its key id, fetched from the
sender (never from a private address) and cached, must belong to the activity's actor:
an actor's RSA `publicKey`, or for RFC 9421 also an Ed25519 Multikey of its
`assertionMethod`. Then a `Follow` of one of our actors is stored and answered with an
`Accept`, delivered as a job; an `Undo` of it removes the follower; an `Undo` of anything
else is acknowledged; a remote actor's `Delete` of itself drops it as a follower and
drops its keys; a `Flag` becomes a remote report and an `Accept` or `Reject` of a Flag we
sent records its decision (`flags.py`); the `Accept` of a mirror's `Follow` and every
record-carrying activity of a mirrored origin go to the mirrors (docs/mirrors.md); anything
else is
acknowledged and dropped.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fpmreg.core import integrity
from fpmreg.core.httpsig import (
    SignatureError,
    check_covered,
    check_digest,
    parse_signature,
    verify,
)
from fpmreg.core.httpsig9421 import Message, PublicKey
from fpmreg.server.federation.actors import AP_PREFIX, find_actor
from fpmreg.server.federation.delivery import queue_delivery, signed_get_headers
from fpmreg.server.federation.flags import (
    RemoteReportSink,
    receive_flag,
    receive_flag_decision,
    remote_inbox,
)
from fpmreg.server.federation.keys import RegistryKeys
from fpmreg.server.federation.mirror_follow import accepted, wake
from fpmreg.server.federation.models import Follower, RemoteKey, SeenSignature
from fpmreg.server.federation.offers import OfferAnswerSink
from fpmreg.server.federation.refusal import InboxError
from fpmreg.server.federation.remote import RemoteError, fetch_json
from fpmreg.server.federation.signatures import CLOCK_SKEW, check_rfc9421

__all__ = ["Inbound", "InboxError", "check_signature", "read_activity", "receive"]

KEY_CACHE = timedelta(hours=24)
MAX_ACTIVITY_BYTES = 256 * 1024


@dataclass(frozen=True)
class Inbound:
    """One request to an inbox."""

    method: str
    target: str  # path and query, as signed
    headers: Mapping[str, str]
    body: bytes


def check_signature(
    session: Session, keys: RegistryKeys, request: Inbound, now: datetime, *, allow_private: bool,
    stale_ok: bool = False,
) -> str:  # fmt: skip
    """The signing actor's id once the request's signature holds; `InboxError` if not.
    `stale_ok` (a `Delete`): a key cached longer than `KEY_CACHE` still serves when it
    cannot be fetched again, as a deleted actor's cannot."""

    def lookup(key_id: str) -> tuple[PublicKey, str]:
        return _remote_key(session, keys, key_id, now, allow_private=allow_private,
                           stale_ok=stale_ok)  # fmt: skip

    try:
        if "signature-input" in request.headers:
            message = Message(request.method, keys.registry + request.target, request.headers)
            owner = check_rfc9421(message, request.body, now, lookup)
        else:
            owner = _check_cavage(request, now, lookup)
    except SignatureError as exc:
        raise InboxError(401, str(exc)) from None
    seen = hashlib.sha256(request.headers["signature"].encode()).hexdigest()
    session.execute(delete(SeenSignature).where(SeenSignature.seen_at < now - 2 * CLOCK_SKEW))
    try:
        with session.begin_nested():
            session.add(SeenSignature(digest=seen, seen_at=now))
    except IntegrityError:
        raise InboxError(401, "this signature was already used: a replay is refused") from None
    return owner


def _check_cavage(
    request: Inbound, now: datetime, lookup: Callable[[str], tuple[PublicKey, str]]
) -> str:
    parsed = parse_signature(request.headers.get("signature", ""))
    check_covered(parsed, has_body=bool(request.body))
    _check_date(request.headers.get("date", ""), now)
    if request.body:
        check_digest(request.headers.get("digest", ""), request.body)
    public, owner = lookup(parsed.key_id)
    if not isinstance(public, RSAPublicKey):
        raise SignatureError("the signing key is not an RSA key (rsa-sha256); sign with RFC 9421")
    verify(public, parsed, request.method, request.target, request.headers)
    return owner


def _check_date(text: str, now: datetime) -> None:
    try:
        sent = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        raise SignatureError("the request has no valid Date header") from None
    if sent.tzinfo is None or abs(now - sent) > CLOCK_SKEW:
        raise SignatureError(f"the Date header is more than {CLOCK_SKEW} from this server's clock")


def _remote_key(
    session: Session, keys: RegistryKeys, key_id: str, now: datetime, *, allow_private: bool,
    stale_ok: bool = False,
) -> tuple[PublicKey, str]:  # fmt: skip
    cached = session.get(RemoteKey, key_id)
    if cached is None or now - cached.fetched_at > KEY_CACHE:
        try:
            url = key_id.split("#")[0]
            document = fetch_json(
                url, allow_private=allow_private, headers=signed_get_headers(keys, url, now)
            )
            pem, owner = _key_of(document, key_id)
            cached = session.merge(RemoteKey(key_id=key_id, owner=owner, pem=pem, fetched_at=now))
        except RemoteError as exc:
            if cached is None or not stale_ok:
                raise SignatureError(f"the signing key cannot be fetched: {exc}") from None
    public = load_pem_public_key(cached.pem.encode())
    if not isinstance(public, RSAPublicKey | Ed25519PublicKey):
        raise SignatureError("the signing key is neither an RSA nor an Ed25519 key")
    return public, cached.owner


def _key_of(document: Any, key_id: str) -> tuple[str, str]:
    """(PEM, owner) of `key_id` in the fetched actor or key document: its RSA
    `publicKey`, or an Ed25519 Multikey of its `assertionMethod` (FEP-521a)."""
    multikey = _multikey_of(document, key_id)
    if multikey is not None:
        return multikey
    key = document.get("publicKey") if isinstance(document, dict) else None
    key = key if isinstance(key, dict) else document
    if not isinstance(key, dict) or not isinstance(key.get("publicKeyPem"), str):
        raise SignatureError("the keyId document has no publicKeyPem")
    if key.get("id") != key_id.split("#")[0] and key.get("id") != key_id:
        raise SignatureError("the keyId document describes another key")
    owner = key.get("owner") or document.get("id")
    if not isinstance(owner, str):
        raise SignatureError("the key has no owner")
    return key["publicKeyPem"], owner


def _multikey_of(document: Any, key_id: str) -> tuple[str, str] | None:
    methods = document.get("assertionMethod") if isinstance(document, dict) else None
    methods = [methods] if isinstance(methods, dict) else methods
    if not isinstance(methods, list):
        return None
    for method in methods:
        if not isinstance(method, dict) or method.get("id") != key_id:
            continue
        owner = document.get("id")
        if owner != key_id.split("#")[0] or method.get("controller") != owner:
            raise SignatureError("the keyId's Multikey is not controlled by the actor that has it")
        if method.get("type") != "Multikey":
            raise SignatureError("the keyId's assertionMethod is not a Multikey")
        try:
            public = integrity.parse_multikey(str(method.get("publicKeyMultibase", "")))
        except integrity.IntegrityError as exc:
            raise SignatureError(f"the keyId's publicKeyMultibase is not Ed25519: {exc}") from None
        pem = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        return pem.decode(), str(owner)
    return None


def read_activity(body: bytes) -> dict[str, Any]:
    """The activity of a body; `InboxError` (400) if it is not one."""
    if len(body) > MAX_ACTIVITY_BYTES:
        raise InboxError(413, f"an activity is at most {MAX_ACTIVITY_BYTES} bytes")
    try:
        activity = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InboxError(400, "the body is not JSON") from None
    if b"\\u0000" in body:  # no text column holds one (PostgreSQL refuses it)
        raise InboxError(400, "the activity contains a NUL character (\\u0000)")
    if not isinstance(activity, dict) or not isinstance(activity.get("type"), str):
        raise InboxError(400, "the body is not an activity (an object with a `type`)")
    return activity


def receive(
    session: Session, keys: RegistryKeys, activity: dict[str, Any], signer: str, now: datetime,
    *, allow_private: bool, reports: RemoteReportSink | None = None,
    offers: OfferAnswerSink | None = None,
) -> str:  # fmt: skip
    """Act on a checked activity; what was done, for the answer. An `Accept` or
    `Reject` of an `Offer` we sent goes to `offers` (docs/activitypub.md, "Audits as
    Offers")."""
    actor = activity.get("actor")
    actor_id = actor.get("id") if isinstance(actor, dict) else actor
    if actor_id != signer:
        raise InboxError(401, "the activity's actor is not the owner of the signing key")
    kind = activity["type"]
    if kind == "Follow":
        return _follow(session, keys, activity, signer, now, allow_private=allow_private)
    if kind == "Undo":
        return _undo(session, keys, activity, signer)
    follow_id = _follow_id(activity.get("object")) if kind == "Accept" else ""
    if follow_id and accepted(session, follow_id, signer, now):
        return "mirror accepted"  # docs/mirrors.md
    if kind in ("Create", "Update", "Delete", "Announce") and wake(session, activity, signer, now):
        return "mirror sync queued"
    if kind == "Delete":
        return _delete(session, activity, signer)
    if kind == "Flag":
        if reports is None:
            raise InboxError(400, "this registry takes no reports by ActivityPub")
        return receive_flag(session, keys, activity, signer, now, reports=reports,
                            allow_private=allow_private)  # fmt: skip
    if kind in ("Accept", "Reject"):
        answered = offers.answer(session, activity, signer, now) if offers is not None else None
        if answered is not None:
            return answered
        return receive_flag_decision(session, activity, signer, now, reports=reports)
    return "accepted"


def _undo(session: Session, keys: RegistryKeys, activity: dict[str, Any], signer: str) -> str:
    """`Undo` of a `Follow` removes the follower; of anything else (an `Announce`, a
    `Like`) there is nothing to undo here: acknowledged."""
    undone = activity.get("object")
    if isinstance(undone, dict) and undone.get("type") == "Follow":
        path = _our_path(keys, undone.get("object"))
        session.execute(
            delete(Follower).where(Follower.actor_path == path, Follower.remote_actor == signer)
        )
        return "unfollowed"
    return "undone"


def _delete(session: Session, activity: dict[str, Any], signer: str) -> str:
    """A remote actor's `Delete` of itself: it follows nothing here any more and its
    cached keys go. A `Delete` of anything else is acknowledged."""
    target = activity.get("object")
    target_id = target.get("id") if isinstance(target, dict) else target
    if target_id != signer:
        return "accepted"
    session.execute(delete(Follower).where(Follower.remote_actor == signer))
    session.execute(delete(RemoteKey).where(RemoteKey.owner == signer))
    return "actor deleted"


def _follow_id(accepted_object: Any) -> str:
    """The id of the `Follow` an `Accept` accepts (the object itself or its id)."""
    if isinstance(accepted_object, dict) and accepted_object.get("type") == "Follow":
        accepted_object = accepted_object.get("id")
    return accepted_object if isinstance(accepted_object, str) else ""


def _our_path(keys: RegistryKeys, target: Any) -> str:
    target_id = target.get("id") if isinstance(target, dict) else target
    if not isinstance(target_id, str) or not target_id.startswith(keys.registry + AP_PREFIX):
        raise InboxError(400, "the activity's object is not an actor of this registry")
    return target_id.removeprefix(keys.registry)


def _follow(
    session: Session, keys: RegistryKeys, activity: dict[str, Any], signer: str, now: datetime,
    *, allow_private: bool,
) -> str:  # fmt: skip
    path = _our_path(keys, activity.get("object"))
    if find_actor(session, path) is None:
        raise InboxError(404, "there is no such actor to follow")
    inbox = remote_inbox(keys, signer, now, allow_private=allow_private, who="follower")
    if _existing(session, path, signer) is None:
        session.add(
            Follower(
                actor_path=path,
                remote_actor=signer,
                inbox=inbox,
                follow_id=str(activity.get("id", "")),
                created_at=now,
            )
        )
    accept = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{keys.registry}{path}#accepts/{secrets.token_hex(8)}",
        "type": "Accept",
        "actor": keys.registry + path,
        "object": activity,
    }
    queue_delivery(session, inbox, keys.registry + path, accept, now)
    return "followed"


def _existing(session: Session, path: str, remote: str) -> Follower | None:
    return session.scalar(
        select(Follower).where(Follower.actor_path == path, Follower.remote_actor == remote)
    )
