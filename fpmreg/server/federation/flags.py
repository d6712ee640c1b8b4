"""Federated reports: ActivityPub `Flag`s in and out (docs/activitypub.md, "Federated
reports").

In: a signed `Flag` whose `object` names one of our packages (`/ap/packages/NS/NAME`) or
releases (`.../versions/V`) is filed as a remote report through a `RemoteReportSink`
(moderation implements it; the two domains never import each other, `create_app` plugs
them). One report per Flag id; at most `MAX_FLAGS_PER_HOUR` from one host. When a
moderator decides it, `SendFlagDecisions` answers the flagger with an `Accept` (action
taken) or a `Reject` (dismissed) of the Flag, the outcome in `fpmregDecision`.

Out: `send_flag` queues a Flag from the instance actor and stores it; the `Accept` or
`Reject` that comes back from the flagged registry is recorded on it and told to the
sink (`remote_decision`).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fpmreg.core.wire.reports import MAX_REPORT_MESSAGE_LENGTH
from fpmreg.server.federation.actors import AP_PREFIX
from fpmreg.server.federation.announce import AS_CONTEXT
from fpmreg.server.federation.delivery import queue_delivery, signed_get_headers
from fpmreg.server.federation.keys import RegistryKeys
from fpmreg.server.federation.models import IncomingFlag, OutgoingFlag
from fpmreg.server.federation.refusal import InboxError
from fpmreg.server.federation.remote import RemoteError, fetch_json

MAX_FLAGS_PER_HOUR = 10  # from one remote host: enough for a moderator, not for a flood
MAX_SUMMARY_LENGTH = 2000
NO_COMMENT = "(the remote reporter left no comment)"
_HOUR = timedelta(hours=1)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_PART = re.compile(r"[A-Za-z0-9._+-]{1,64}")  # a namespace, name or version in a URL


class RemoteReportSink(Protocol):
    """What the moderation domain does with federated reports (it implements this)."""

    def file_remote_report(
        self, session: Session, *, remote_actor: str, flag_id: str, namespace: str,
        name: str, version: str, category: str, content: str, now: datetime,
    ) -> int:  # fmt: skip
        """File a report on `namespace/name[@version]` from `remote_actor`; its id.
        A package or version that does not exist raises the domain's `NotFound`."""
        ...

    def remote_decision(
        self, session: Session, *, report_id: int | None, accepted: bool, decision: str,
        summary: str, remote_host: str, now: datetime,
    ) -> None:  # fmt: skip
        """The registry at `remote_host` decided the Flag we sent for local report
        `report_id` (None: no local report): tell whoever should know."""
        ...


def plain_text(text: str, limit: int) -> str:
    """`text` without control characters, stripped and cut to `limit` characters."""
    cleaned = _CONTROL.sub("", text).strip()
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def remote_inbox(
    keys: RegistryKeys, actor: str, now: datetime, *, allow_private: bool, who: str
) -> str:
    """The inbox of the remote `actor` (fetched, SSRF-safe, with a signed GET)."""
    try:
        document = fetch_json(actor, allow_private=allow_private,
                              headers=signed_get_headers(keys, actor, now))  # fmt: skip
    except RemoteError as exc:
        raise InboxError(400, f"the {who}'s actor cannot be fetched: {exc}") from None
    inbox = document.get("inbox") if isinstance(document, dict) else None
    if not isinstance(inbox, str):
        raise InboxError(400, f"the {who}'s actor has no inbox")
    return inbox


def _ids(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    found = [i.get("id") if isinstance(i, dict) else i for i in items[:20]]
    return [i for i in found if isinstance(i, str)]


def flagged_target(base: str, value: Any) -> tuple[str, str, str] | None:
    """`(namespace, name, version)` of the first package or release of ours `value`
    (a Flag's `object`: a URL, an object, or a list of them) names; None if none."""
    prefix = f"{base}{AP_PREFIX}/packages/"
    for url in _ids(value):
        if not url.startswith(prefix):
            continue
        parts = [unquote(p) for p in url.removeprefix(prefix).split("#")[0].split("/")]
        if not all(_PART.fullmatch(p) for p in parts):
            continue
        if len(parts) == 2:
            return parts[0], parts[1], ""
        if len(parts) == 4 and parts[2] == "versions":
            return parts[0], parts[1], parts[3]
    return None


def receive_flag(
    session: Session, keys: RegistryKeys, activity: dict[str, Any], signer: str, now: datetime,
    *, reports: RemoteReportSink, allow_private: bool,
) -> str:  # fmt: skip
    """File a checked `Flag` as a remote report (once per Flag id)."""
    flag_id = activity.get("id")
    if not isinstance(flag_id, str) or not flag_id.startswith(("https://", "http://")):
        raise InboxError(400, "a Flag needs an `id` (its URL)")
    if len(flag_id) > 512:
        raise InboxError(400, "the Flag's `id` is longer than 512 characters")
    target = flagged_target(keys.registry, activity.get("object"))
    if target is None:
        where = f"{keys.registry}{AP_PREFIX}/packages/NS/NAME"
        raise InboxError(400, f"the Flag's object is not a package ({where}) or release "
                         "(.../versions/V) of this registry")  # fmt: skip
    if session.get(IncomingFlag, flag_id) is not None:
        return "already reported"
    host = urlsplit(signer).netloc.lower()
    recent = session.scalar(
        select(func.count()).select_from(IncomingFlag)
        .where(IncomingFlag.remote_host == host, IncomingFlag.received_at > now - _HOUR)
    ) or 0  # fmt: skip
    if recent >= MAX_FLAGS_PER_HOUR:
        raise InboxError(429, f"{host} sent {recent} Flags in the last hour, the most "
                         f"allowed ({MAX_FLAGS_PER_HOUR}): send it again later")  # fmt: skip
    inbox = remote_inbox(keys, signer, now, allow_private=allow_private, who="flagger")
    content = activity.get("content")
    text = plain_text(content, MAX_REPORT_MESSAGE_LENGTH) if isinstance(content, str) else ""
    category = activity.get("fpmregCategory")
    report_id = reports.file_remote_report(
        session, remote_actor=signer, flag_id=flag_id, namespace=target[0], name=target[1],
        version=target[2], category=category if isinstance(category, str) else "",
        content=text or NO_COMMENT, now=now,
    )  # fmt: skip
    session.add(IncomingFlag(flag_id=flag_id, remote_actor=signer, remote_host=host,
                             inbox=inbox, report_id=report_id, received_at=now))  # fmt: skip
    session.flush()
    return "reported"


class SendFlagDecisions:
    """Tells a flagger what became of its Flag: moderation's `RemoteDecisionListener`."""

    def __init__(self, keys: RegistryKeys) -> None:
        self.keys = keys

    def remote_report_decided(
        self, session: Session, *, flag_id: str, accepted: bool, decision: str, summary: str,
        now: datetime,
    ) -> None:  # fmt: skip
        """Queue the `Accept` (action taken) or `Reject` (dismissed) of the Flag to the
        flagger's inbox: the decision and a public summary, never who decided or why."""
        flag = session.get(IncomingFlag, flag_id)
        if flag is None:
            return
        instance = f"{self.keys.registry}{AP_PREFIX}/actor"
        answer = {
            "@context": AS_CONTEXT,
            "id": f"{instance}#flag-decisions/{secrets.token_hex(8)}",
            "type": "Accept" if accepted else "Reject",
            "actor": instance,
            "to": [flag.remote_actor],
            "object": flag_id,
            "fpmregDecision": {"decision": decision, "summary": summary},
        }
        queue_delivery(session, flag.inbox, instance, answer, now)


def send_flag(
    session: Session, keys: RegistryKeys, *, package_actor_url: str, inbox: str,
    category: str, content: str, now: datetime, report_id: int | None = None,
) -> str:  # fmt: skip
    """Report the remote package (or release) `package_actor_url` to the registry whose
    `inbox` it is: a `Flag` from our instance actor, queued for delivery when the
    transaction commits and stored, so its decision can be recorded. The Flag's id."""
    instance = f"{keys.registry}{AP_PREFIX}/actor"
    flag_id = f"{keys.registry}{AP_PREFIX}/flags/{secrets.token_hex(12)}"
    flag = {
        "@context": AS_CONTEXT,
        "id": flag_id,
        "type": "Flag",
        "actor": instance,
        "to": [package_actor_url],
        "object": [package_actor_url],
        "content": plain_text(content, MAX_REPORT_MESSAGE_LENGTH),
        "fpmregCategory": category,
    }
    session.add(OutgoingFlag(flag_id=flag_id, remote_object=package_actor_url, inbox=inbox,
                             report_id=report_id, status="sent", decision="", summary="",
                             created_at=now))  # fmt: skip
    queue_delivery(session, inbox, instance, flag, now)
    session.flush()
    return flag_id


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def receive_flag_decision(
    session: Session, activity: dict[str, Any], signer: str, now: datetime,
    *, reports: RemoteReportSink | None,
) -> str:  # fmt: skip
    """Record the `Accept` or `Reject` of a Flag we sent, when it comes from the registry
    the Flag was sent to; anything else accepted is acknowledged."""
    ids = _ids(activity.get("object"))
    flag = (
        session.scalar(select(OutgoingFlag).where(OutgoingFlag.flag_id == ids[0])) if ids else None
    )
    if flag is None:
        return "accepted"
    if _origin(signer) != _origin(flag.remote_object):
        raise InboxError(400, "only the registry the Flag was sent to may decide it")
    if flag.status != "sent":
        return "already decided"
    decided = activity.get("fpmregDecision")
    decided = decided if isinstance(decided, dict) else {}
    decision, summary = decided.get("decision"), decided.get("summary")
    flag.status = "accepted" if activity["type"] == "Accept" else "rejected"
    flag.decision = plain_text(decision, 32) if isinstance(decision, str) else ""
    flag.summary = plain_text(summary, MAX_SUMMARY_LENGTH) if isinstance(summary, str) else ""
    flag.decided_at = now
    if reports is not None:
        reports.remote_decision(
            session, report_id=flag.report_id, accepted=flag.status == "accepted",
            decision=flag.decision, summary=flag.summary, remote_host=urlsplit(signer).netloc,
            now=now,
        )  # fmt: skip
    session.flush()
    return "decision recorded"
