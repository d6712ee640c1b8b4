"""Verdicts on `/api/v1`, and each verdict's document at its URI (docs/communities.md,
"Verdicts"). Everything here is public and read-only: verdicts are issued by the
registry in the transaction of the event that changes them (`verdicts_hook.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from sqlalchemy import select

from fpmreg.core.wire import MAX_ROW_ID
from fpmreg.core.wire.communities import (
    ImportedCommunityList,
    ImportedCommunityRecord,
    VerdictInput,
    VerdictList,
    VerdictRecord,
)
from fpmreg.server.communities.api import CommunityPath, log_indexes, service
from fpmreg.server.communities.imports import imported_counts, remote_accepted
from fpmreg.server.communities.models import Community, CommunityDocument, CommunityVerdict
from fpmreg.server.communities.service import CommunitiesService
from fpmreg.server.communities.verdicts import VerdictsService, verdict_uri
from fpmreg.server.errors import NotFound
from fpmreg.server.http import SessionDep, StateDep
from fpmreg.server.openapi import api_errors
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.schemas import NamePath, NamespacePath, VersionPath

router = APIRouter(prefix="/api/v1", tags=["communities"])
documents_router = APIRouter(include_in_schema=False)

VerdictId = Annotated[int, Path(description="a verdict's number", ge=1, le=MAX_ROW_ID)]
# Verdicts listed in one history answer, newest first.
MAX_HISTORY = 200


def verdicts(session: SessionDep, state: StateDep) -> VerdictsService:
    """The request's verdicts service."""
    return VerdictsService(session, service(session, state))


def verdicts_wire(svc: CommunitiesService, rows: list[CommunityVerdict]) -> list[VerdictRecord]:
    """The API shape of verdicts, with their communities, policy versions and log
    indexes read in one query each."""
    if not rows:
        return []
    session = svc.session
    communities = {
        c.id: c
        for c in session.scalars(
            select(Community).where(Community.id.in_({r.community_id for r in rows}))
        )
    }
    policies = {
        d.id: d
        for d in session.scalars(
            select(CommunityDocument).where(CommunityDocument.id.in_({r.policy_id for r in rows}))
        )
    }
    uris = [verdict_uri(svc, communities[r.community_id], r.id) for r in rows]
    indexes = log_indexes(session, uris)
    out = []
    for row, uri in zip(rows, uris, strict=True):
        community, policy = communities[row.community_id], policies[row.policy_id]
        out.append(
            VerdictRecord(
                id=row.id, uri=uri, community=community.name,
                policy=svc.uri(community, "policies", policy.slug), policy_version=policy.version,
                policy_uri=svc.version_url(community, policy), package=row.package,
                version=row.version, sha256=row.sha256, result=row.result,
                inputs=[VerdictInput(uri=u, sha256=d) for u, d in row.inputs],
                verified_at=row.verified_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                document_sha256=row.body_sha256, log_index=indexes.get(uri),
            )
        )  # fmt: skip
    return out


@router.get(
    "/packages/{namespace}/{name}/{version}/verdicts",
    summary="A release's verdicts",
    response_model=VerdictList,
    responses=api_errors(400, 404, 410),
)
def release_verdicts(
    namespace: NamespacePath,
    name: NamePath,
    version: VersionPath,
    session: SessionDep,
    state: StateDep,
    packages: PackagesDep,
) -> VerdictList:
    """The current verdict of every policy hosted here on this release."""
    package = packages.get_package(namespace, name)
    row = packages.get_version(package, version)
    svc = verdicts(session, state)
    key = f"{package.namespace.name}/{package.name}"
    found = svc.current(package=key, version=row.version)
    return VerdictList(verdicts=verdicts_wire(svc.communities, found))


@router.get(
    "/communities/{community}/verdicts",
    summary="A community's verdicts",
    response_model=VerdictList,
    responses=api_errors(404, 422),
)
def community_verdicts(
    community: CommunityPath,
    session: SessionDep,
    state: StateDep,
    package: Annotated[str, Query(max_length=128, description="`namespace/name`")] = "",
    history: Annotated[
        bool, Query(description="every verdict, newest first (at most 200), not only the current")
    ] = False,
) -> VerdictList:
    """The current verdict per policy and release (of `package` if given)."""
    svc = verdicts(session, state)
    row = svc.communities.get(community)
    if history:
        found = svc.history(row, package, MAX_HISTORY)
    else:
        found = svc.current(package=package, community=row)
    return VerdictList(verdicts=verdicts_wire(svc.communities, found))


@router.get(
    "/communities/{community}/imports",
    summary="Evidence imported from other registries",
    response_model=ImportedCommunityList,
    responses=api_errors(404, 422),
)
def community_imports(
    community: CommunityPath, session: SessionDep, state: StateDep
) -> ImportedCommunityList:
    """The communities on other registries this community's policies accept, and how
    their last evidence import went (docs/communities.md, "Remote acceptFrom")."""
    svc = verdicts(session, state)
    row = svc.communities.get(community)
    mine = [p for p in svc.policies() if p.community.id == row.id]
    uris = sorted(remote_accepted(mine, svc.communities.base))
    found = imported_counts(session, uris)

    def when(at: datetime | None) -> str:
        return at.strftime("%Y-%m-%dT%H:%M:%SZ") if at is not None else ""

    out = []
    for uri in uris:
        source, criteria, audits = found.get(uri, (None, 0, 0))
        out.append(
            ImportedCommunityRecord(
                community=uri, status=source.status if source else "pending",
                error=source.error if source else "",
                checked_at=when(source.checked_at if source else None),
                imported_at=when(source.imported_at if source else None),
                criteria=criteria, audits=audits,
            )
        )  # fmt: skip
    return ImportedCommunityList(imports=out)


def _verdict(svc: VerdictsService, community: str, verdict_id: int) -> CommunityVerdict:
    row = svc.get(svc.communities.get(community), verdict_id)
    if row is None:
        raise NotFound("verdict-not-found", f"community `{community}` has no verdict {verdict_id}")
    return row


@router.get(
    "/communities/{community}/verdicts/{verdict_id}",
    summary="One verdict",
    response_model=VerdictRecord,
    responses=api_errors(404, 422),
)
def get_verdict(
    community: CommunityPath, verdict_id: VerdictId, session: SessionDep, state: StateDep
) -> VerdictRecord:
    """The verdict, with its log index once its transaction has committed."""
    svc = verdicts(session, state)
    return verdicts_wire(svc.communities, [_verdict(svc, community, verdict_id)])[0]


@documents_router.get("/c/{community}/verdicts/{verdict_id}")
def verdict_document(
    community: CommunityPath, verdict_id: VerdictId, session: SessionDep, state: StateDep
) -> Response:
    """The verdict document: exactly the bytes whose sha256 its log entry signs."""
    row = _verdict(verdicts(session, state), community, verdict_id)
    return Response(row.body.encode("utf-8"), media_type="application/json",
                    headers={"Cache-Control": "public, max-age=60"})  # fmt: skip
