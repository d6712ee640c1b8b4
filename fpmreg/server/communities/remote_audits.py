"""Audits from other registries (docs/communities.md, "Audits from other registries"):
an `Offer` of an audit arrives at the community's inbox and waits in its queue, marked
remote; the reviewer's decision goes back as an `Accept` or `Reject` of the Offer, an
accepted audit (remote or local) is announced to the community's followers, and a
revoked one is deleted with a tombstone.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.integrity import canonical
from fpmreg.core.vet.audits import AuditError, parse_audit
from fpmreg.server.communities import group
from fpmreg.server.communities.audits import AuditsService
from fpmreg.server.communities.models import Community, CommunityAudit
from fpmreg.server.communities.remote_models import RemoteAudit
from fpmreg.server.events import record_event
from fpmreg.server.federation.delivery import queue_delivery
from fpmreg.server.federation.flags import remote_inbox
from fpmreg.server.federation.keys import RegistryKeys
from fpmreg.server.federation.refusal import InboxError

SHA256 = re.compile(r"[0-9a-f]{64}")
RELEASES = ("subject", "deltaFrom", "deltaTo")
MAX_ID = 512


def _id(value: Any) -> str:
    found = value.get("id") if isinstance(value, dict) else value
    return found if isinstance(found, str) else ""


def check_offered(
    svc: AuditsService, community: Community, offer: dict[str, Any], signer: str
) -> dict[str, Any]:
    """The audit document of a well-formed `Offer` to `community`; `InboxError` (400)
    naming the fault if it is not one."""
    uri = svc.communities.uri(community)
    offer_id = _id(offer)
    if not offer_id.startswith(("https://", "http://")) or len(offer_id) > MAX_ID:
        raise InboxError(
            400, f"the Offer needs an `id`: an http(s) URL of at most {MAX_ID} characters"
        )
    if _id(offer.get("target")) != uri:
        raise InboxError(400, f"the Offer's `target` must be this community, `{uri}`")
    audit = offer.get("object")
    if not isinstance(audit, dict) or audit.get("type") != "Audit":
        raise InboxError(400, "the Offer's `object` must be an `Audit` document (docs/vetting.md)")
    if audit.get("auditor") != signer:
        raise InboxError(400, "the audit's `auditor` must be the Offer's actor, who signed it")
    if audit.get("community") != uri:
        raise InboxError(400, f"the audit's `community` must be `{uri}`")
    named = [key for key in RELEASES if key in audit]
    if not named:
        raise InboxError(
            400, "the audit names no reviewed release (`subject`, or `deltaFrom` and `deltaTo`)"
        )
    for key in named:
        release = audit[key]
        if not isinstance(release, dict) or not SHA256.fullmatch(str(release.get("sha256", ""))):
            raise InboxError(
                400,
                f"the audit's `{key}` is not bound to a sha256 digest: "
                "give the sha256 of the tarball reviewed",
            )
    published = {d.slug for d in svc.communities.latest(community, "criteria")}
    known = {svc.communities.uri(community, "criteria", slug) for slug in published}
    criteria = audit.get("criteria")
    for item in criteria if isinstance(criteria, list) else []:
        if item not in known:
            raise InboxError(
                400, f"`{str(item)[:200]}` is not a criterion of community `{community.name}`"
            )
    try:
        parse_audit(audit)
    except AuditError as exc:
        problems = "; ".join(f"{p.field}: {p.message}" for p in exc.problems)
        raise InboxError(400, f"the audit cannot be read: {problems}"[:1000]) from None
    return audit


def receive_offer(
    session: Session,
    keys: RegistryKeys,
    svc: AuditsService,
    community: Community,
    offer: dict[str, Any],
    signer: str,
    now: datetime,
    *,
    allow_private: bool,
) -> str:
    """Store the offered audit as submitted, marked remote; the same Offer again is
    acknowledged once."""
    audit = check_offered(svc, community, offer, signer)
    offer_id = _id(offer)
    if session.scalar(select(RemoteAudit).where(RemoteAudit.offer_id == offer_id)) is not None:
        return "already offered"
    inbox = remote_inbox(keys, signer, now, allow_private=allow_private, who="auditor")
    if len(signer) > MAX_ID or len(inbox) > MAX_ID:
        raise InboxError(400, f"the auditor's actor and inbox are URLs of at most {MAX_ID} chars")
    package = str(parse_audit(audit).package).lower()  # as local audits store it
    row = CommunityAudit(
        community_id=community.id,
        auditor_id=None,
        body="",
        sha256="",
        package=package,
        status="submitted",
        submitted_at=now,
    )
    session.add(row)
    session.flush()
    body = {**audit, "id": svc.uri(community, row)}  # the document is ours from here on
    data = canonical(body)
    row.body, row.sha256 = data.decode("utf-8"), hashlib.sha256(data).hexdigest()
    session.add(
        RemoteAudit(audit_id=row.id, actor=signer, offer_id=offer_id, inbox=inbox, received_at=now)
    )
    record_event(
        session,
        at=now,
        actor_id=None,
        action="community.audit-submit",
        subject=f"community:{community.name}/audits/{row.id}",
        data={
            "document": body["id"],
            "sha256": row.sha256,
            "remote": signer,
            "community": svc.communities.uri(community),
            "kind": "audits",
        },
    )
    session.flush()
    return "offer received"


def remote_of(session: Session, audit: CommunityAudit) -> RemoteAudit | None:
    """Who offered the audit, if it came from another registry."""
    return session.get(RemoteAudit, audit.id)


def remote_auditors(session: Session, ids: list[int]) -> dict[int, str]:
    """The remote auditors' actors of those audits that came as Offers."""
    rows = session.execute(
        select(RemoteAudit.audit_id, RemoteAudit.actor).where(RemoteAudit.audit_id.in_(ids))
    )
    return dict(rows.tuples().all())


def after_decision(
    session: Session,
    svc: AuditsService,
    community: Community,
    audit: CommunityAudit,
) -> None:
    """Tell the remote auditor (`Accept` or `Reject` of their Offer) and, once accepted,
    the community's followers (`Announce`)."""
    uri, audit_uri = svc.communities.uri(community), svc.uri(community, audit)
    now = audit.decided_at or svc.clock.now()
    remote = remote_of(session, audit)
    if remote is not None:
        answer: dict[str, Any] = {
            "@context": group.AS,
            "id": f"{audit_uri}#{audit.status}",
            "actor": uri,
            "object": remote.offer_id,
            "to": [remote.actor],
        }
        if audit.status == "accepted":
            answer |= {"type": "Accept", "result": audit_uri}
        else:
            answer |= {"type": "Reject", "summary": audit.reason, "content": audit.reason}
        queue_delivery(session, remote.inbox, uri, answer, now)
    if audit.status == "accepted":
        activity = group.announce(uri, audit_uri, _body(audit), now)
        group.to_followers(session, uri, community, activity, now)


def after_revoke(
    session: Session,
    svc: AuditsService,
    community: Community,
    audit: CommunityAudit,
    *,
    was_accepted: bool,
) -> None:
    """An audit that was announced is deleted, with a `Tombstone`, for the followers and
    its remote auditor."""
    if not was_accepted:
        return
    uri, audit_uri = svc.communities.uri(community), svc.uri(community, audit)
    now = audit.decided_at or svc.clock.now()
    activity = group.tombstone(uri, audit_uri, audit.reason, now)
    group.to_followers(session, uri, community, activity, now)
    remote = remote_of(session, audit)
    if remote is not None:
        queue_delivery(session, remote.inbox, uri, activity, now)


def _body(audit: CommunityAudit) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(audit.body)
    return loaded
