"""Each signed record becomes an activity, listed in the outboxes and delivered to the
followers of the package and of its namespace (docs/activitypub.md, "Delivery").

A release or an advisory is a `Create` of a `Document` carrying the record; a change of
an existing release or package an `Update` of one; a deletion a `Delete` of a
`Tombstone` that still carries it. The package's followers get the activity itself; the
namespace's `Group` `Announce`s it to its own followers (FEP-1b12), and an inbox that
follows both gets only the activity.
"""

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
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
CREATES = frozenset({"version.publish", "advisory.publish"})
DELETES = frozenset({"version.delete", "package.delete"})
# After these the package has no actor to fetch a key from: the instance sends them.
ACTORLESS = frozenset({"package.quarantine", "package.delete"})


def activity_type(action: str) -> str:
    """`Create`, `Update` or `Delete`: what the record of `action` is to followers."""
    return "Create" if action in CREATES else "Delete" if action in DELETES else "Update"


def package_path(record: dict[str, Any]) -> str:
    """The path of the package actor a record is about (`/ap/packages/ns/name`)."""
    return f"{AP_PREFIX}/packages/{record.get('package', '')}"


def namespace_path(record: dict[str, Any]) -> str:
    return f"{AP_PREFIX}/namespaces/{str(record.get('package', '')).split('/')[0]}"


def release_url(base: str, record: dict[str, Any]) -> str:
    """The URL of what a record is about: the release (`.../versions/V`) or the package."""
    version = str(record.get("subject", "")).partition("@")[2]
    url = base + package_path(record)
    return f"{url}/versions/{version}" if version else url


def record_activity(base: str, index: int, record: dict[str, Any]) -> dict[str, Any]:
    """The activity of the record at log `index`, sent by its package's actor (the
    instance's once the package has none)."""
    action = str(record.get("action", ""))
    kind = activity_type(action)
    actor_id = base + (f"{AP_PREFIX}/actor" if action in ACTORLESS else package_path(record))
    entry = f"{base}/api/v1/log/entries/{index}"
    about = release_url(base, record)
    thing: dict[str, Any]
    if kind == "Delete":
        thing = {"id": about, "type": "Tombstone", "formerType": "Document",
                 "deleted": record.get("time"), "url": entry}  # fmt: skip
    else:
        thing = {"id": entry, "type": "Document", "context": about,
                 "name": f"{action} {record.get('subject', '')}", "mediaType": "application/json",
                 "published": record.get("time")}  # fmt: skip
    thing["attributedTo"] = actor_id
    thing["fpmregRecord"] = record  # verify the record, not the transport
    return {
        "@context": AS_CONTEXT,
        "id": f"{entry}#{kind.lower()}",
        "type": kind,
        "actor": actor_id,
        "published": record.get("time"),
        "to": [PUBLIC],
        "object": thing,
    }


def announce_activity(base: str, group_path: str, activity: dict[str, Any]) -> dict[str, Any]:
    """The namespace `Group`'s `Announce` of a package's activity (embedded whole)."""
    group = base + group_path
    return {
        "@context": AS_CONTEXT,
        "id": f"{activity['id'].partition('#')[0]}#announce",
        "type": "Announce",
        "actor": group,
        "published": activity.get("published"),
        "to": [PUBLIC],
        "cc": [f"{group}/followers"],
        "object": activity,
    }


def announce_record(
    session: Session, keys: RegistryKeys, index: int, record: dict[str, Any], now: datetime
) -> int:
    """Queue the record's activity to the package's followers and its `Announce` to the
    namespace's other followers (each inbox once); how many inboxes."""
    if "/" not in str(record.get("package", "")):
        return 0
    base = keys.registry
    activity = record_activity(base, index, record)
    package, group = package_path(record), namespace_path(record)
    rows = session.execute(
        select(Follower.actor_path, Follower.inbox)
        .where(Follower.actor_path.in_([package, group]))
        .order_by(Follower.id)
    ).all()
    sent: set[str] = set()
    for path, inbox in sorted(rows, key=lambda row: row[0] != package):  # package's first
        if inbox in sent:
            continue
        sent.add(inbox)
        if path == package:
            queue_delivery(session, inbox, activity["actor"], activity, now)
        else:
            queue_delivery(session, inbox, base + group, announce_activity(base, group, activity),
                           now)  # fmt: skip
    return len(sent)
