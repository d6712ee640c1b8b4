"""Importing the evidence of communities hosted on other registries that a policy here
accepts (docs/communities.md, "Remote acceptFrom communities").

A `communities.import-evidence` job, one per remote community, reads the community's
API answer (its criteria, with their log indexes) and its accepted audits from its
registry with the federation's bounded, SSRF-safe fetch, and keeps each object only once
its bytes hash to the sha256 the remote registry's signed log record names and that
record verifies under the registry's published keys (`fpmreg.core.vet.signed`, the checks
of `fpmreg vet`). What verified replaces the community's previous import; the policies
accepting it are then evaluated again in the job's transaction. A failed import keeps
the previous evidence, is logged and listed with its reason, and is tried again at the
next refresh. The job is queued when a policy naming a remote community is published and
queues its own next run `evidence_refresh_seconds` later while some policy still names
the community. Nothing is fetched during a user's request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from fpmreg.core.integrity import canonical
from fpmreg.core.problem import ProblemsError
from fpmreg.core.vet.audits import parse_audit
from fpmreg.core.vet.criteria import parse_criterion
from fpmreg.core.vet.signed import Logged, SignedError, check_digest, check_record, published_keys
from fpmreg.server.clock import Clock
from fpmreg.server.communities.imported_models import ImportedCommunity, ImportedEvidence
from fpmreg.server.communities.service import CommunitiesService
from fpmreg.server.communities.verdicts import PolicyVersion, VerdictsService, in_reach
from fpmreg.server.federation.remote import TIMEOUT, RemoteError, fetch_bytes
from fpmreg.server.jobs import Job, JobContext, JobStatus, enqueue

log = logging.getLogger(__name__)

IMPORT_EVIDENCE = "communities.import-evidence"
# Bounds of one import (docs/communities.md, "Remote acceptFrom communities"): the
# community's answer, its list of accepted audits, one log entry or the keys.
MAX_COMMUNITY_BYTES = 1 << 20
MAX_AUDITS_BYTES = 16 * 1024 * 1024
MAX_ENTRY_BYTES = 64 * 1024
MAX_CRITERIA = 200
MAX_AUDITS = 5000
# `imported_communities.error` keeps the start of a reason.
MAX_ERROR_CHARS = 500
JSON_ACCEPT = {"Accept": "application/json"}


class ImportFailed(Exception):
    """An import that did not verify or could not be read; the message says why."""


def remote_accepted(policies: Iterable[PolicyVersion], base: str) -> set[str]:
    """The communities on other registries that `policies` accept."""
    here = f"{base}/c/"
    return {
        uri
        for p in policies
        for uri in in_reach(p.policy)[1:]
        if not uri.startswith(here) and "/c/" in uri
    }


def queue_import(session: Session, uri: str, at: datetime) -> None:
    """Queue an import of `uri` at `at` unless one is already waiting."""
    waiting = session.scalars(
        select(Job.payload).where(Job.kind == IMPORT_EVIDENCE, Job.status == JobStatus.QUEUED)
    )
    if any(p.get("community") == uri for p in waiting):
        return
    enqueue(session, IMPORT_EVIDENCE, {"community": uri}, at=at)


def queue_imports(session: Session, verdicts: VerdictsService, now: datetime) -> None:
    """Queue an import of every remote community a policy here accepts (a policy was
    published: docs/communities.md, "Remote acceptFrom communities")."""
    for uri in sorted(remote_accepted(verdicts.policies(), verdicts.communities.base)):
        queue_import(session, uri, now)


def imported_counts(
    session: Session, uris: list[str]
) -> dict[str, tuple[ImportedCommunity, int, int]]:
    """Each of `uris` imported or tried: its row, and how many criteria and audits it
    holds now."""
    sources = {s.id: s for s in session.scalars(
        select(ImportedCommunity).where(ImportedCommunity.uri.in_(uris)))}  # fmt: skip
    counts: dict[tuple[int, str], int] = {}
    if sources:
        rows = session.execute(
            select(ImportedEvidence.source_id, ImportedEvidence.kind, func.count())
            .where(ImportedEvidence.source_id.in_(list(sources)))
            .group_by(ImportedEvidence.source_id, ImportedEvidence.kind)
        )
        counts = {(s, k): int(n) for s, k, n in rows}
    return {
        s.uri: (s, counts.get((i, "criteria"), 0), counts.get((i, "audit"), 0))
        for i, s in sources.items()
    }


@dataclass
class ImportEvidence:
    """The `communities.import-evidence` job's handler."""

    clock: Clock
    base_url: str
    allow_private: bool = False
    refresh_seconds: float = 3600.0

    def __call__(self, context: JobContext) -> None:
        uri = str(context.payload.get("community", ""))
        session, now = context.session, context.now
        verdicts = VerdictsService(session, CommunitiesService(session, self.clock, self.base_url))
        if uri not in remote_accepted(verdicts.policies(), verdicts.communities.base):
            return  # no policy names it any more: the refreshes stop
        source = _source(session, uri)
        source.checked_at = now
        try:
            with (
                session.begin_nested(),  # a failure leaves the previous import as it was
                httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client,
            ):
                _Reader(client, self.allow_private).import_into(session, source)
        except ImportFailed as exc:
            source.status, source.error = "failed", str(exc)[:MAX_ERROR_CHARS]
            log.warning("evidence import of %s failed: %s", uri[:200], source.error)
        except Exception:  # a bug must not stop the refreshes: logged, listed, retried
            log.exception("evidence import of %s failed", uri[:200])
            source.status, source.error = "failed", "the import failed on this registry"
        else:
            source.status, source.error, source.imported_at = "imported", "", now
            session.flush()
            verdicts.community_changed(uri)
        when = now + timedelta(seconds=self.refresh_seconds)
        queue_import(session, uri, when)
        session.flush()


def _source(session: Session, uri: str) -> ImportedCommunity:
    found = session.scalar(select(ImportedCommunity).where(ImportedCommunity.uri == uri))
    if found is None:
        found = ImportedCommunity(uri=uri, status="pending", error="")
        session.add(found)
        session.flush()
    return found


class _Reader:
    """Reads one remote community's evidence and verifies every object."""

    def __init__(self, client: httpx.Client, allow_private: bool) -> None:
        self.client = client
        self.allow_private = allow_private
        self.keys: dict[str, Any] | None = None

    def get(self, url: str, limit: int) -> Any:
        try:
            body = fetch_bytes(url, allow_private=self.allow_private, limit=limit,
                               headers=JSON_ACCEPT, client=self.client)  # fmt: skip
            return json.loads(body)
        except RemoteError as exc:
            raise ImportFailed(str(exc)) from None
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ImportFailed(f"`{url[:200]}` is not JSON") from None

    def import_into(self, session: Session, source: ImportedCommunity) -> None:
        """Replace `source`'s evidence with what verifies now, or raise `ImportFailed`
        and leave it as it was."""
        origin, api = _endpoints(source.uri)
        answer = self.get(api, MAX_COMMUNITY_BYTES)
        if not isinstance(answer, dict) or answer.get("uri") != source.uri:
            raise ImportFailed(f"`{api[:200]}` is not the community `{source.uri[:200]}`")
        listed = self.get(api + "/audits?status=accepted", MAX_AUDITS_BYTES)
        criteria = _items(answer.get("criteria"), MAX_CRITERIA, "criteria")
        audits = _items(listed.get("audits") if isinstance(listed, dict) else None,
                        MAX_AUDITS, "accepted audits")  # fmt: skip
        known = {(r.uri, r.sha256, r.log_index): r for r in session.scalars(
            select(ImportedEvidence).where(ImportedEvidence.source_id == source.id))}  # fmt: skip
        rows = []
        for kind, items in (("criteria", criteria), ("audit", audits)):
            for item in items:
                rows.append(self._row(origin, source, kind, item, known))
        session.execute(delete(ImportedEvidence).where(ImportedEvidence.source_id == source.id))
        session.add_all(rows)
        session.flush()

    def _row(
        self, origin: str, source: ImportedCommunity, kind: str, item: dict[str, Any],
        known: dict[tuple[str, str, int], ImportedEvidence],
    ) -> ImportedEvidence:  # fmt: skip
        uri = str(item.get("uri", ""))
        name = uri[:200] or kind
        if not uri.startswith(source.uri + "/"):
            raise ImportFailed(f"`{source.uri[:200]}` lists `{name}`, which is not its own")
        try:
            logged = check_digest(item, name)
            if (uri, logged.sha256, logged.log_index) not in known:  # verified before
                self._check(origin, logged, name)
            package = _package(kind, logged, source.uri)
        except SignedError as exc:
            raise ImportFailed(str(exc)) from None
        return ImportedEvidence(source_id=source.id, kind=kind, uri=uri, package=package,
                                sha256=logged.sha256, log_index=logged.log_index,
                                body=canonical(logged.body).decode("utf-8"))  # fmt: skip

    def _check(self, origin: str, logged: Logged, name: str) -> None:
        if self.keys is None:
            self.keys = published_keys(self.get(f"{origin}/log/keys", MAX_ENTRY_BYTES))
        entry = self.get(f"{origin}/api/v1/log/entries/{logged.log_index}", MAX_ENTRY_BYTES)
        record = entry.get("record") if isinstance(entry, dict) else None
        check_record(logged, record, origin, self.keys, name)


def _endpoints(uri: str) -> tuple[str, str]:
    """The registry origin and the community API URL of the community `uri`."""
    parts = urlsplit(uri)
    head, marker, name = uri.rstrip("/").rpartition("/c/")
    if parts.scheme not in ("https", "http") or not marker or not name or "/" in name:
        raise ImportFailed(f"`{uri[:200]}` is not a community URI (`https://HOST/c/NAME`)")
    return f"{parts.scheme}://{parts.netloc}", f"{head}/api/v1/communities/{name}"


def _items(value: Any, bound: int, what: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ImportFailed(f"the community's {what} are not a list of objects")
    if len(value) > bound:
        raise ImportFailed(f"the community lists more than {bound} {what}")
    return value


def _package(kind: str, logged: Logged, community: str) -> str:
    """The audit's `ns/name` (lower case); "" for a criterion. Both must read."""
    try:
        if kind == "criteria":
            parse_criterion(logged.body)
            return ""
        audit = parse_audit(logged.body)
    except ProblemsError as exc:
        raise SignedError(f"a document of `{community[:200]}` does not read: {exc}") from None
    if audit.community != community:
        raise SignedError(f"`{audit.id[:200]}` is an audit of another community")
    return str(audit.package).lower()
