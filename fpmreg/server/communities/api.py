"""Communities on `/api/v1`, and their documents at the URIs that name them
(docs/communities.md).

Reading is public. Changing takes an API token with the `manage` scope (of any of the
user's namespaces: it names the user); the service checks that the user is a founder.
A document's URI, `/c/{community}/{kind}/{slug}`, answers its latest version as JSON, and
`…/versions/{n}` each version, with the bytes whose sha256 the log entry signs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Body, Path
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fpmreg.core.wire import MAX_ROW_ID
from fpmreg.core.wire.communities import (
    KINDS,
    SLUG_PATTERN,
    Community,
    CommunityList,
    CommunityRequest,
    CriterionRequest,
    Document,
    DocumentVersions,
    GuidanceRequest,
    Member,
    MemberRequest,
    PolicyRequest,
    RulesRequest,
)
from fpmreg.server.accounts.deps import AccountsDep
from fpmreg.server.accounts.models import Scope, User
from fpmreg.server.communities.models import Community as CommunityRow
from fpmreg.server.communities.models import CommunityDocument
from fpmreg.server.communities.service import CommunitiesService, document_body, stamp
from fpmreg.server.errors import NotFound
from fpmreg.server.federation.models import LogEntry
from fpmreg.server.http import SessionDep, StateDep
from fpmreg.server.moderation.api import Credentials, bearer_secret
from fpmreg.server.openapi import api_errors

router = APIRouter(prefix="/api/v1", tags=["communities"])
# The documents' URIs: identifiers that dereference, like the ActivityPub actors; the
# API above describes them (`/api/v1/communities/{c}/{kind}/{slug}`).
documents_router = APIRouter(include_in_schema=False)

CommunityPath = Annotated[
    str, Path(description="a community", examples=["fortran"], pattern=SLUG_PATTERN)
]
SlugPath = Annotated[
    str, Path(description="a document's slug", examples=["safe-to-run"], pattern=SLUG_PATTERN)
]
KindPath = Annotated[
    str,
    Path(
        description="`criteria`, `guidance` or `policies`",
        pattern=r"^(criteria|guidance|policies)$",
    ),
]
VersionNumber = Annotated[int, Path(description="a version, from 1", ge=1, le=MAX_ROW_ID)]


def service(session: SessionDep, state: StateDep) -> CommunitiesService:
    """The request's communities service."""
    return CommunitiesService(session, state.clock, state.settings.base_url)


def require_user(accounts: AccountsDep, credentials: Credentials) -> User:
    """The user a `manage` token names (401 without one)."""
    secret = bearer_secret(credentials, Scope.MANAGE)
    return accounts.authorize_token(secret, Scope.MANAGE, package=None).user


def log_indexes(session: Session, subjects: Iterable[str]) -> dict[str, int]:
    """The newest log index of each of `subjects` that is logged, in one query."""
    wanted = sorted(set(subjects))
    if not wanted:
        return {}
    rows = session.execute(
        select(LogEntry.subject, func.max(LogEntry.index))
        .where(LogEntry.subject.in_(wanted))
        .group_by(LogEntry.subject)
    )
    return {subject: index for subject, index in rows}


def documents_wire(
    svc: CommunitiesService, row: CommunityRow, docs: list[CommunityDocument]
) -> list[Document]:
    """The API shape of versions, each with its log index once it is logged."""
    urls = [svc.version_url(row, doc) for doc in docs]
    indexes = log_indexes(svc.session, urls)
    return [
        Document(
            kind=doc.kind,
            slug=doc.slug,
            uri=svc.uri(row, doc.kind, doc.slug),
            version=doc.version,
            sha256=doc.sha256,
            log_index=indexes.get(url),
            published_at=stamp(doc),
            body=document_body(doc),
        )
        for doc, url in zip(docs, urls, strict=True)
    ]


def document_wire(svc: CommunitiesService, row: CommunityRow, doc: CommunityDocument) -> Document:
    """The API shape of one version."""
    return documents_wire(svc, row, [doc])[0]


def community_wire(svc: CommunitiesService, row: CommunityRow) -> Community:
    """The API shape of a community with the latest version of each document."""
    members = [
        Member(username=user.username, role=m.role, since=m.since.strftime("%Y-%m-%dT%H:%M:%SZ"))
        for user, m in svc.members(row)
    ]
    docs = {k: documents_wire(svc, row, svc.latest(row, k)) for k in KINDS}
    return Community(
        name=row.name, uri=svc.uri(row), title=row.title, summary=row.summary,
        created_at=row.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        reviews_needed=row.reviews_needed, members=members,
        criteria=docs["criteria"], guidance=docs["guidance"], policies=docs["policies"],
    )  # fmt: skip


@router.get("/communities", summary="The communities", response_model=CommunityList)
def list_communities(session: SessionDep, state: StateDep) -> CommunityList:
    """Every community hosted here, by name, with its members and latest documents."""
    svc = service(session, state)
    return CommunityList(communities=[community_wire(svc, c) for c in svc.all()])


@router.post(
    "/communities",
    summary="Create a community",
    response_model=Community,
    status_code=201,
    responses=api_errors(400, 401, 403, 409, 422),
)
def create_community(
    request_body: Annotated[CommunityRequest, Body()],
    session: SessionDep,
    state: StateDep,
    accounts: AccountsDep,
    credentials: Credentials,
) -> Community:
    """A new community; the token's user is its first founder."""
    user = require_user(accounts, credentials)
    svc = service(session, state)
    return community_wire(svc, svc.create(user, request_body))


@router.get(
    "/communities/{community}",
    summary="A community",
    response_model=Community,
    responses=api_errors(404),
)
def get_community(community: CommunityPath, session: SessionDep, state: StateDep) -> Community:
    """Its members and the latest version of each criterion, guidance and policy."""
    svc = service(session, state)
    return community_wire(svc, svc.get(community))


@router.put(
    "/communities/{community}/members",
    summary="Add a member or change a role",
    response_model=Community,
    responses=api_errors(400, 401, 403, 404, 409, 422),
)
def put_member(
    community: CommunityPath,
    request_body: Annotated[MemberRequest, Body()],
    session: SessionDep,
    state: StateDep,
    accounts: AccountsDep,
    credentials: Credentials,
) -> Community:
    """Founders only. The last founder cannot step down."""
    user = require_user(accounts, credentials)
    svc = service(session, state)
    row = svc.get(community)
    svc.set_member(user, row, request_body)
    return community_wire(svc, row)


@router.put(
    "/communities/{community}/rules",
    summary="Set how audits are vetted",
    response_model=Community,
    responses=api_errors(400, 401, 403, 404, 422),
)
def put_rules(
    community: CommunityPath,
    request_body: Annotated[RulesRequest, Body()],
    session: SessionDep,
    state: StateDep,
    accounts: AccountsDep,
    credentials: Credentials,
) -> Community:
    """Founders only: how many distinct reviewers must accept an audit before it counts
    (docs/communities.md, "Vetting")."""
    user = require_user(accounts, credentials)
    svc = service(session, state)
    row = svc.get(community)
    svc.set_rules(user, row, request_body)
    return community_wire(svc, row)


_PUBLISH_ERRORS = api_errors(400, 401, 403, 404, 422)


@router.put(
    "/communities/{community}/criteria/{slug}",
    summary="Publish a criterion",
    response_model=Document,
    responses=_PUBLISH_ERRORS,
)
def put_criterion(
    community: CommunityPath,
    slug: SlugPath,
    request_body: Annotated[CriterionRequest, Body()],
    session: SessionDep,
    state: StateDep,
    accounts: AccountsDep,
    credentials: Credentials,
) -> Document:
    """A new version of the criterion (the same text again makes none). Founders only."""
    user = require_user(accounts, credentials)
    svc = service(session, state)
    row = svc.get(community)
    return document_wire(svc, row, svc.publish_criterion(user, row, slug, request_body))


@router.put(
    "/communities/{community}/guidance/{slug}",
    summary="Publish guidance",
    response_model=Document,
    responses=_PUBLISH_ERRORS,
)
def put_guidance(
    community: CommunityPath,
    slug: SlugPath,
    request_body: Annotated[GuidanceRequest, Body()],
    session: SessionDep,
    state: StateDep,
    accounts: AccountsDep,
    credentials: Credentials,
) -> Document:
    """A new version of a guidance document for auditors. Founders only."""
    user = require_user(accounts, credentials)
    svc = service(session, state)
    row = svc.get(community)
    return document_wire(svc, row, svc.publish_guidance(user, row, slug, request_body))


@router.put(
    "/communities/{community}/policies/{slug}",
    summary="Publish a policy",
    response_model=Document,
    responses=_PUBLISH_ERRORS,
)
def put_policy(
    community: CommunityPath,
    slug: SlugPath,
    request_body: Annotated[PolicyRequest, Body()],
    session: SessionDep,
    state: StateDep,
    accounts: AccountsDep,
    credentials: Credentials,
) -> Document:
    """A new version of a policy; what it requires must be criteria of the community."""
    user = require_user(accounts, credentials)
    svc = service(session, state)
    row = svc.get(community)
    return document_wire(svc, row, svc.publish_policy(user, row, slug, request_body.policy))


def _versions_route(kind: str) -> None:
    """`GET /api/v1/communities/{community}/{kind}/{slug}`: one route per kind, so each
    path lists exactly the methods it answers."""

    def get_versions(
        community: CommunityPath, slug: SlugPath, session: SessionDep, state: StateDep
    ) -> DocumentVersions:
        svc = service(session, state)
        row = svc.get(community)
        return DocumentVersions(versions=documents_wire(svc, row, svc.versions(row, kind, slug)))

    get_versions.__doc__ = f"Every version of one of its {kind}, oldest first, with digests."
    router.add_api_route(
        f"/communities/{{community}}/{kind}/{{slug}}",
        get_versions,
        methods=["GET"],
        summary=f"Every version of one of a community's {kind}",
        response_model=DocumentVersions,
        responses=api_errors(404),
        operation_id=f"get_{kind}_versions",
    )


for _kind in KINDS:
    _versions_route(_kind)


def _json(document: CommunityDocument) -> Response:
    # The stored bytes exactly: their sha256 is what the log entry signs.
    return Response(document.body.encode("utf-8"), media_type="application/json",
                    headers={"Cache-Control": "public, max-age=60"})  # fmt: skip


@documents_router.get(
    "/c/{community}/{kind}/{slug}",
    summary="A document's latest version",
    responses=api_errors(404),
)
def latest_document(
    community: CommunityPath, kind: KindPath, slug: SlugPath, session: SessionDep, state: StateDep
) -> Response:
    """The document its URI names, as its latest version (JCS canonical JSON)."""
    svc = service(session, state)
    return _json(svc.versions(svc.get(community), kind, slug)[-1])


@documents_router.get(
    "/c/{community}/{kind}/{slug}/versions/{version}",
    summary="One version of a document",
    responses=api_errors(404),
)
def document_version(
    community: CommunityPath,
    kind: KindPath,
    slug: SlugPath,
    version: VersionNumber,
    session: SessionDep,
    state: StateDep,
) -> Response:
    """Exactly the bytes the transparency log's entry for this version signs by digest."""
    svc = service(session, state)
    versions = svc.versions(svc.get(community), kind, slug)
    found = [d for d in versions if d.version == version]
    if not found:
        raise NotFound("document-version-not-found",
                       f"`{slug}` has versions 1 to {versions[-1].version}", "version")  # fmt: skip
    return _json(found[0])
