"""The credentials over HTTP (docs/credentials.md, "URLs"): a release's build credential,
the status lists and the issuer's Profile with its keys."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response

from fpmreg.core.wire.communities import SLUG_PATTERN
from fpmreg.server.federation.deps import FederationDep
from fpmreg.server.http import SessionDep, StateDep
from fpmreg.server.linked.credentials import CredentialsService
from fpmreg.server.linked.credentials_documents import STATUS_LIST_LENGTH
from fpmreg.server.linked.policy_credentials import find_policy_credential
from fpmreg.server.openapi import ResponsesDoc, api_errors
from fpmreg.server.packages.schemas import NamePath, NamespacePath, VersionPath

router = APIRouter(tags=["credentials"])

VC_MEDIA_TYPE = "application/vc+ld+json"
LD_MEDIA_TYPE = "application/ld+json"
# A status list changes when a credential is revoked; verifiers may hold it a minute.
STATUS_MAX_AGE = "public, max-age=60"
# Enough lists for 2**31 credentials at the minimum list length.
MAX_LIST_ID = 2**31 // STATUS_LIST_LENGTH

# Documented, not validated: a name that cannot exist is simply not found (404), as a
# version is (docs/badges.md, docs/credentials.md).
SlugPath = Annotated[
    str,
    Path(
        description="a community's name, or a policy's slug",
        json_schema_extra={"pattern": SLUG_PATTERN, "maxLength": 63},
    ),
]
ListIdPath = Annotated[int, Path(description="the status list's number", ge=1, le=MAX_LIST_ID)]


def _json_ld(media_type: str, description: str) -> ResponsesDoc:
    return {
        200: {"description": description, "content": {media_type: {"schema": {"type": "object"}}}}
    }


def _answer(document: dict[str, Any], media_type: str, cache: str = "no-cache") -> Response:
    body = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return Response(body, media_type=media_type, headers={"Cache-Control": cache})


def _service(session: SessionDep, state: StateDep, federation: FederationDep) -> CredentialsService:
    return CredentialsService(session, state.clock, federation.keys)


@router.get(
    "/credentials/issuer",
    summary="The credentials' issuer and its keys",
    response_class=Response,
    responses=_json_ld(LD_MEDIA_TYPE, "The issuer's Open Badges Profile and controller document"),
)
def issuer(session: SessionDep, state: StateDep, federation: FederationDep) -> Response:
    """Every key the registry signs credentials with, current first, as Multikeys."""
    return _answer(_service(session, state, federation).controller_document(), LD_MEDIA_TYPE)


@router.get(
    "/credentials/status/{list_id}",
    summary="A revocation status list",
    response_class=Response,
    responses={
        **_json_ld(VC_MEDIA_TYPE, "The signed Bitstring Status List credential"),
        **api_errors(404),
    },
)
def status_list(
    list_id: ListIdPath, session: SessionDep, state: StateDep, federation: FederationDep
) -> Response:
    """The bits of the list's revoked credentials are set."""
    document = _service(session, state, federation).sign_status_list(list_id)
    return _answer(document, VC_MEDIA_TYPE, STATUS_MAX_AGE)


@router.get(
    "/credentials/{namespace}/{package}/{version}/build",
    summary="A release's build verification credential",
    response_class=Response,
    responses={
        **_json_ld(VC_MEDIA_TYPE, "The signed Open Badges 3.0 credential"),
        **api_errors(400, 404),
    },
)
def build_credential(
    namespace: NamespacePath,
    package: NamePath,
    version: VersionPath,
    session: SessionDep,
    state: StateDep,
    federation: FederationDep,
) -> Response:
    """Issued when the release's build verification passed; a revoked one is still
    served (its status list says it is revoked)."""
    row = _service(session, state, federation).find_build_credential(namespace, package, version)
    return _answer(json.loads(row.document), VC_MEDIA_TYPE)


@router.get(
    "/credentials/{namespace}/{package}/{version}/policies/{community}/{policy}",
    summary="A release's credential for a community policy",
    response_class=Response,
    responses={
        **_json_ld(VC_MEDIA_TYPE, "The signed Open Badges 3.0 credential"),
        **api_errors(400, 404),
    },
)
def policy_credential(
    namespace: NamespacePath,
    package: NamePath,
    version: VersionPath,
    community: SlugPath,
    policy: SlugPath,
    session: SessionDep,
    state: StateDep,
    federation: FederationDep,
) -> Response:
    """Issued when a verdict of the community's policy passes the release; revoked (in
    its status list) when a later verdict fails it (docs/credentials.md)."""
    service = _service(session, state, federation)
    row = find_policy_credential(service, namespace, package, version, community, policy)
    return _answer(json.loads(row.document), VC_MEDIA_TYPE)
