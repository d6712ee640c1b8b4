"""The community as an ActivityPub `Group` actor (FEP-1b12; docs/activitypub.md,
"Communities"): its actor document, its collections, `Follow`s of it, and what it
announces when a reviewer accepts or a founder revokes an audit.

The actor's id is the community's URI, `BASE/c/NAME`, which answers the actor document
to a request that asks for ActivityStreams and the page to anyone else; its inbox,
outbox, followers and moderators are under `BASE/ap/communities/NAME/`. Its key is the
registry's, as for every actor here.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fpmreg.server.communities.models import Community, CommunityAudit
from fpmreg.server.communities.service import FOUNDER, CommunitiesService
from fpmreg.server.federation.actors import Actor, actor_document
from fpmreg.server.federation.delivery import queue_delivery
from fpmreg.server.federation.flags import remote_inbox
from fpmreg.server.federation.keys import RegistryKeys
from fpmreg.server.federation.models import Follower
from fpmreg.server.federation.refusal import InboxError

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = AS + "#Public"
GROUP_PREFIX = "/ap/communities"
MODERATORS = frozenset({FOUNDER, "reviewer"})
OUTBOX_ITEMS = 100


def actor_path(community: Community) -> str:
    """The `Follower.actor_path` of the community's followers: its URI's path."""
    return f"/c/{community.name}"


def collections(keys: RegistryKeys, community: Community) -> str:
    """Where the community's inbox, outbox, followers and moderators are."""
    return f"{keys.registry}{GROUP_PREFIX}/{community.name}"


def group_document(
    keys: RegistryKeys, svc: CommunitiesService, community: Community
) -> dict[str, Any]:
    """The community's `Group` actor, with the same keys as every actor here."""
    actor = Actor(
        "Group",
        actor_path(community),
        community.name,
        community.title,
        community.summary,
        actor_path(community),
    )
    document = actor_document(actor, keys)
    base = collections(keys, community)
    founders = [
        f"{keys.registry}/ap/users/{user.username}"
        for user, member in svc.members(community)
        if member.role == FOUNDER
    ]
    document.update(
        inbox=f"{base}/inbox",
        outbox=f"{base}/outbox",
        followers=f"{base}/followers",
        following=f"{base}/following",
        moderators=f"{base}/moderators",
        attributedTo=founders,
        postingRestrictedToMods=True,
    )
    return document


def moderators(keys: RegistryKeys, svc: CommunitiesService, community: Community) -> list[str]:
    """The actors of its founders and reviewers, who vet what it announces."""
    return [
        f"{keys.registry}/ap/users/{user.username}"
        for user, member in svc.members(community)
        if member.role in MODERATORS
    ]


def followers(session: Session, community: Community) -> list[Follower]:
    """The remote actors whose `Follow` of the community was accepted."""
    path = actor_path(community)
    return list(session.scalars(select(Follower).where(Follower.actor_path == path)))


def follow(
    session: Session,
    keys: RegistryKeys,
    community_uri: str,
    community: Community,
    activity: dict[str, Any],
    signer: str,
    now: datetime,
    *,
    allow_private: bool,
) -> str:
    """Store the follower and answer with an `Accept`, as for every actor here."""
    target = activity.get("object")
    if (target.get("id") if isinstance(target, dict) else target) != community_uri:
        raise InboxError(400, f"the Follow's object is not `{community_uri}`")
    inbox = remote_inbox(keys, signer, now, allow_private=allow_private, who="follower")
    path = actor_path(community)
    known = session.scalar(
        select(Follower).where(Follower.actor_path == path, Follower.remote_actor == signer)
    )
    if known is None:
        session.add(
            Follower(
                actor_path=path,
                remote_actor=signer,
                inbox=inbox,
                follow_id=str(activity.get("id", ""))[:512],
                created_at=now,
            )
        )
    accept = {
        "@context": AS,
        "id": f"{community_uri}#accepts/{secrets.token_hex(8)}",
        "type": "Accept",
        "actor": community_uri,
        "object": activity,
    }
    queue_delivery(session, inbox, community_uri, accept, now)
    return "followed"


def unfollow(session: Session, community: Community, activity: dict[str, Any], signer: str) -> str:
    """An `Undo` of a `Follow` removes the follower; of anything else, nothing to undo."""
    undone = activity.get("object")
    if isinstance(undone, dict) and undone.get("type") == "Follow":
        session.execute(
            delete(Follower).where(
                Follower.actor_path == actor_path(community), Follower.remote_actor == signer
            )
        )
        return "unfollowed"
    return "undone"


def announce(
    community_uri: str, audit_uri: str, body: dict[str, Any], at: datetime
) -> dict[str, Any]:
    """The community's `Announce` of an accepted audit: the audit document embedded."""
    return {
        "@context": AS,
        "id": f"{audit_uri}#announce",
        "type": "Announce",
        "actor": community_uri,
        "object": body,
        "published": _time(at),
        "to": [PUBLIC],
        "cc": [f"{community_uri}/followers"],
    }


def verdict_announce(
    community_uri: str, verdict_uri: str, release: str, statement: dict[str, Any], at: datetime
) -> dict[str, Any]:
    """The community's `Announce` of a release its default policy now passes: the signed
    verdict document, as a `Document` about the release's page (docs/communities.md,
    "Proxy registries")."""
    subject = statement["subject"][0]["name"]
    return {
        "@context": AS,
        "id": f"{verdict_uri}#announce",
        "type": "Announce",
        "actor": community_uri,
        "object": {
            "id": verdict_uri,
            "type": "Document",
            "mediaType": "application/json",
            "name": f"{subject} passes {statement['predicate']['policy']['uri']}",
            "context": release,
            "url": verdict_uri,
            "attributedTo": community_uri,
            "published": _time(at),
            "fpmregVerdict": statement,  # verify the verdict document, not the transport
        },
        "published": _time(at),
        "to": [PUBLIC],
        "cc": [f"{community_uri}/followers"],
    }


def tombstone(community_uri: str, audit_uri: str, reason: str, at: datetime) -> dict[str, Any]:
    """The community's `Delete` of a revoked audit: a `Tombstone` with the public reason."""
    return {
        "@context": AS,
        "id": f"{audit_uri}#delete",
        "type": "Delete",
        "actor": community_uri,
        "object": {
            "type": "Tombstone",
            "id": audit_uri,
            "formerType": "Audit",
            "deleted": _time(at),
            "summary": reason,
        },
        "to": [PUBLIC],
        "cc": [f"{community_uri}/followers"],
    }


def outbox_items(
    session: Session, community_uri: str, community: Community
) -> list[dict[str, Any]]:
    """The community's activities, newest first: an `Announce` of each accepted audit, a
    `Delete` of each revoked one (at most `OUTBOX_ITEMS`)."""
    rows = session.scalars(
        select(CommunityAudit)
        .where(
            CommunityAudit.community_id == community.id,
            CommunityAudit.status.in_(("accepted", "revoked")),
        )
        .order_by(CommunityAudit.decided_at.desc(), CommunityAudit.id.desc())
        .limit(OUTBOX_ITEMS)
    )
    items = []
    for audit in rows:
        uri = f"{community_uri}/audits/{audit.id}"
        at = audit.decided_at or audit.submitted_at
        if audit.status == "accepted":
            items.append(announce(community_uri, uri, json.loads(audit.body), at))
        else:
            items.append(tombstone(community_uri, uri, audit.reason, at))
    return items


def to_followers(
    session: Session,
    community_uri: str,
    community: Community,
    activity: dict[str, Any],
    now: datetime,
) -> None:
    """Queue `activity` for every follower of the community."""
    for follower in followers(session, community):
        queue_delivery(session, follower.inbox, community_uri, activity, now)


def _time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")
