"""Telling followers: every signed record becomes a `Create` activity, listed in the
package's outbox and delivered to the followers of the package and of its namespace
(docs/activitypub.md, "Delivery")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.server.federation.actors import AP_PREFIX
from fpmreg.server.federation.delivery import queue_delivery
from fpmreg.server.federation.keys import RegistryKeys
from fpmreg.server.federation.models import Follower

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def create_activity(
    base: str, actor_path: str, index: int, action: str, subject: str, record: dict[str, Any]
) -> dict[str, Any]:
    """The `Create` of the document that carries the record at log `index`."""
    actor_id = base + actor_path
    entry = f"{base}/api/v1/log/entries/{index}"
    document = {
        "id": entry,
        "type": "Document",
        "attributedTo": actor_id,
        "name": f"{action} {subject}",
        "published": record.get("time"),
        "mediaType": "application/json",
        "fpmregRecord": record,
    }
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{entry}#create",
        "type": "Create",
        "actor": actor_id,
        "published": record.get("time"),
        "to": [PUBLIC],
        "object": document,
    }


def announce_record(
    session: Session, keys: RegistryKeys, index: int, record: dict[str, Any], now: datetime
) -> int:
    """Queue the record's `Create` to every follower inbox (each inbox once); how many."""
    package = str(record.get("package", ""))
    if "/" not in package:
        return 0
    paths = [f"{AP_PREFIX}/packages/{package}", f"{AP_PREFIX}/namespaces/{package.split('/')[0]}"]
    rows = session.execute(
        select(Follower.actor_path, Follower.inbox)
        .where(Follower.actor_path.in_(paths))
        .order_by(Follower.id)
    )
    sent: set[str] = set()
    for path, inbox in rows:
        if inbox in sent:
            continue
        sent.add(inbox)
        activity = create_activity(keys.registry, path, index, str(record.get("action")),
                                   str(record.get("subject")), record)  # fmt: skip
        queue_delivery(session, inbox, keys.registry + path, activity, now)
    return len(sent)
