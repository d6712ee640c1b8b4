"""The pages of communities: the list, and each community with its members, criteria,
guidance and policies (docs/communities.md, "Pages")."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from fpmreg.server.accounts.deps import CurrentUser
from fpmreg.server.communities.activitypub_api import actor_response, wants_activity
from fpmreg.server.communities.api import CommunityPath, service
from fpmreg.server.communities.audits_api import audits, audits_wire
from fpmreg.server.communities.service import document_body
from fpmreg.server.federation.deps import FederationDep
from fpmreg.server.http import SessionDep, StateDep, render
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.readme import render_readme

router = APIRouter(include_in_schema=False)


@router.get("/c/")
def communities_page(
    request: Request, session: SessionDep, state: StateDep, user: CurrentUser
) -> HTMLResponse:
    """Every community hosted here."""
    svc = service(session, state)
    rows = [(c, len(svc.members(c))) for c in svc.all()]
    return render(request, "communities.html", {"user": user, "communities": rows})


@router.get("/c/{community}")
def community_page(
    community: CommunityPath,
    request: Request,
    session: SessionDep,
    state: StateDep,
    user: CurrentUser,
    packages: PackagesDep,
    federation: FederationDep,
) -> Response:
    """A community: who is in it, what it published (each with its digest), the audit
    queue and the audits that count. Asked for as ActivityStreams, its `Group` actor
    (docs/activitypub.md, "Communities")."""
    svc = service(session, state)
    row = svc.get(community)
    vetting = audits(session, state, packages)
    if wants_activity(request):
        return actor_response(federation.keys, vetting, row)
    audit_rows = audits_wire(vetting, row, vetting.listed(row))
    criteria = [(d, document_body(d)) for d in svc.latest(row, "criteria")]
    guidance = []
    for d in svc.latest(row, "guidance"):
        body = document_body(d)
        guidance.append((d, body, render_readme("guidance.md", str(body["text"]))))
    policies = [
        (d, json.dumps(document_body(d), indent=2, sort_keys=True, ensure_ascii=False))
        for d in svc.latest(row, "policies")
    ]
    context = {
        "user": user, "community": row, "uri": svc.uri(row), "members": svc.members(row),
        "criteria": criteria, "guidance": guidance, "policies": policies,
        "role": svc.role_of(row, user), "version_url": lambda d: svc.version_url(row, d),
        "queue": [a for a in audit_rows if a.status == "submitted"],
        "audits": [a for a in audit_rows if a.status != "submitted"],
    }  # fmt: skip
    return render(request, "community.html", context)
