"""Signed records of every release and package-state change, appended to the log in the
transaction that makes the change (docs/transparency-log.md, "Signed records").

The audit log already has one event per change; the hook here watches the events each
flush adds, and just before the outermost commit turns the public ones into records,
signs them and appends them. A record says only what the registry's pages already show:
the package URL, the tarball digest of a release, a yank reason, a deprecation and its
replacement, a moderation category, the expectations its owners declared. Never who
reported or decided, never a moderator's reason.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from fpmreg.core.integrity import add_proof, canonical
from fpmreg.server.events import Event
from fpmreg.server.federation.announce import announce_record
from fpmreg.server.federation.keys import RegistryKeys
from fpmreg.server.federation.log import TransparencyLog
from fpmreg.server.federation.witness import queue_cosign
from fpmreg.server.transaction import after_rollback, before_commit

RECORD_TYPE = "fpmreg-record/v1"
# The audited actions that become records, and whether their reason is public.
LOGGED: dict[str, bool] = {
    "version.publish": False,
    "version.yank": True,
    "version.yank-reason": True,
    "version.unyank": False,
    "version.delete": False,
    "package.deprecate": True,
    "package.undeprecate": False,
    "package.quarantine": False,
    "package.release": False,
    "package.delete": False,
    "package.expectations": False,  # docs/expectations.md
    "advisory.publish": False,
    "advisory.withdraw": False,
    "community.publish": False,  # docs/communities.md, "In the log"
    "community.audit-accept": False,
    "community.audit-revoke": True,  # the tombstone says why
    "community.verdict": False,  # docs/communities.md, "Verdicts"
    "community.trust": False,  # docs/organisations.md, "Trust statements"
    "org.endorse": False,  # docs/organisations.md, "Endorsements"
    "org.endorse-revoke": True,  # the tombstone says why
}
_PENDING = "fpmreg.federation.pending"
_INSTALLED = "_fpmreg_records_hook"


def package_url(subject: str) -> tuple[str, str]:
    """`(package URL, "ns/name")` of an event subject `package:ns/name[@version]`:
    `pkg:fpm/ns/name@version`, the package-URL form we propose for fpm."""
    path = subject.removeprefix("package:")
    name, _, version = path.partition("@")
    purl = f"pkg:fpm/{name}" + (f"@{version}" if version else "")
    return purl, name


def event_package_url(row: Event) -> tuple[str, str]:
    """`(package URL, "ns/name")` an audited event is about (an advisory's package); a
    community document's or an organisation's endorsement's event: `(its URL, "")`."""
    if row.subject.startswith(("community:", "org:")):
        return str((row.data or {}).get("document", "")), ""
    if row.subject.startswith("advisory:"):
        return package_url(str((row.data or {}).get("package", "")))
    return package_url(row.subject)


def record_body(row: Event, registry: str, index: int) -> dict[str, Any]:
    """The unsigned record of the audited event `row`, at log index `index`."""
    body: dict[str, Any] = {
        "type": RECORD_TYPE,
        "registry": registry,
        "action": row.action,
        "time": row.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "logIndex": index,
    }
    data = row.data or {}
    if row.subject.startswith("community:"):  # a criterion, guidance or policy version
        body["subject"], body["sha256"] = data.get("document", ""), data.get("sha256", "")
        body["community"], body["kind"] = data.get("community", ""), data.get("kind", "")
        if LOGGED.get(row.action) and row.reason:
            body["reason"] = row.reason
        return body
    if row.subject.startswith("org:"):  # an endorsement, or its tombstone
        body["subject"], body["sha256"] = data.get("document", ""), data.get("sha256", "")
        body["organisation"], body["kind"] = data.get("organisation", ""), data.get("kind", "")
        if LOGGED.get(row.action) and row.reason:
            body["reason"] = row.reason
        return body
    if row.subject.startswith("advisory:"):
        body["advisory"] = row.subject.removeprefix("advisory:")
    body["subject"], body["package"] = event_package_url(row)
    if row.action == "version.publish" and data.get("sha256"):
        body["sha256"] = data["sha256"]
    if row.action == "version.publish" and isinstance(data.get("origin"), dict):
        body["origin"] = data["origin"]  # a mirrored release (docs/mirrors.md)
    if LOGGED.get(row.action) and row.reason:
        body["reason"] = row.reason
    if data.get("replacement"):
        body["replacement"] = data["replacement"]
    if row.category:
        body["category"] = row.category
    if isinstance(data.get("expectations"), dict):  # the public part, never who
        body["expectations"] = data["expectations"]
    return body


def sign_record(keys: RegistryKeys, body: dict[str, Any], created: datetime) -> dict[str, Any]:
    """`body` with the registry's proof."""
    method = f"{keys.registry}/log/keys#{keys.multikeys()[0]}"
    stamp = created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return add_proof(body, keys.current, method, stamp)


def signed_record(keys: RegistryKeys, body: dict[str, Any], created: datetime) -> bytes:
    """The JCS bytes of `body` with the registry's proof."""
    return canonical(sign_record(keys, body, created))


def append_records(session: Session, keys: RegistryKeys, rows: list[Event]) -> None:
    """Sign and append the records of `rows`, in their order, and queue them to the
    followers of their package."""
    log = TransparencyLog(session)
    for row in rows:
        signed: dict[str, Any] = {}

        def make_entry(index: int, row: Event = row, signed: dict[str, Any] = signed) -> bytes:
            signed.update(
                sign_record(keys, record_body(row, keys.registry, index), row.occurred_at)
            )
            return canonical(signed)

        subject = event_package_url(row)[0]
        index = log.append(make_entry, action=row.action, subject=subject, at=row.occurred_at)
        announce_record(session, keys, index, signed, row.occurred_at)  # to followers


def install_records_hook(
    sessions: sessionmaker[Session], keys: RegistryKeys, *, cosign: bool = False
) -> None:
    """Log every public state change committed through `sessions` (once, however often
    an app is built on the same sessions)."""
    if getattr(sessions, _INSTALLED, False):
        return
    setattr(sessions, _INSTALLED, True)

    def collect(session: Session, _context: Any) -> None:
        rows = [o for o in session.new if isinstance(o, Event) and o.action in LOGGED]
        if not rows:
            return
        pending: list[Event] | None = session.info.get(_PENDING)
        if pending is None:
            pending = session.info[_PENDING] = []

            def flush_records() -> None:
                rows = session.info.pop(_PENDING, [])
                append_records(session, keys, rows)
                if cosign and rows:  # the witnesses of FPMREG_LOG_WITNESSES
                    queue_cosign(session, rows[-1].occurred_at)

            before_commit(session, flush_records)
            after_rollback(session, lambda: session.info.pop(_PENDING, None))
        pending.extend(sorted(rows, key=lambda r: r.id))

    event.listen(sessions, "after_flush", collect)
