"""The pages of communities: the list, and each community with its members, criteria,
guidance and policies (docs/communities.md, "Pages")."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.wire.communities import VerdictRecord
from fpmreg.server.accounts.deps import CurrentUser
from fpmreg.server.communities.activitypub_api import actor_response, wants_activity
from fpmreg.server.communities.api import CommunityPath, service
from fpmreg.server.communities.audits_api import audits, audits_wire
from fpmreg.server.communities.models import Community, CommunityAudit
from fpmreg.server.communities.proxy import proxy_url
from fpmreg.server.communities.service import CommunitiesService, document_body
from fpmreg.server.communities.verdicts import VerdictsService
from fpmreg.server.communities.verdicts_api import verdicts_wire
from fpmreg.server.federation.deps import FederationDep
from fpmreg.server.http import AppState, SessionDep, StateDep, render
from fpmreg.server.packages.deps import PackagesDep
from fpmreg.server.packages.models import Package, Version
from fpmreg.server.packages.readme import render_readme

router = APIRouter(include_in_schema=False)
# Accepted audits of one package listed on its page, newest first.
MAX_AUDITS_SHOWN = 50


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
        "proxy_url": proxy_url(svc, row),  # docs/communities.md, "Proxy registries"
        "criteria": criteria, "guidance": guidance, "policies": policies,
        "role": svc.role_of(row, user), "version_url": lambda d: svc.version_url(row, d),
        "queue": [a for a in audit_rows if a.status == "submitted"],
        "audits": [a for a in audit_rows if a.status != "submitted"],
    }  # fmt: skip
    return render(request, "community.html", context)


@dataclass
class CommunityVetting:
    """What one community says about a package on its page: its current verdicts on the
    shown version, and its accepted audits of the package."""

    name: str
    title: str
    verdicts: list[VerdictRecord] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)


def vetting_for_page(
    session: Session, state: AppState, package: Package, shown: Version
) -> list[CommunityVetting]:
    """The package page's "Audits and verdicts", by community (docs/communities.md,
    "Pages"): every community with a verdict on the shown version or an accepted audit."""
    svc = CommunitiesService(session, state.clock, state.settings.base_url)
    key = f"{package.namespace.name}/{package.name}"
    current = VerdictsService(session, svc).current(package=key, version=shown.version)
    rows = list(
        session.scalars(
            select(CommunityAudit)
            .where(CommunityAudit.package == key.lower(), CommunityAudit.status == "accepted")
            .order_by(CommunityAudit.id.desc())
            .limit(MAX_AUDITS_SHOWN)
        )
    )
    ids = {r.community_id for r in current} | {a.community_id for a in rows}
    if not ids:
        return []  # two queries for a package nobody vetted
    found = {c.id: c for c in session.scalars(select(Community).where(Community.id.in_(ids)))}
    sections = {c.name: CommunityVetting(c.name, c.title) for c in found.values()}
    for verdict in verdicts_wire(svc, current):
        sections[verdict.community].verdicts.append(verdict)
    for audit in rows:
        sections[found[audit.community_id].name].audits.append(
            _audit_line(found[audit.community_id], audit)
        )
    return sorted(sections.values(), key=lambda s: s.name)


def _audit_line(community: Community, audit: CommunityAudit) -> dict[str, Any]:
    body = json.loads(audit.body)
    span = body.get("subject") or body.get("deltaTo") or {}
    base = body.get("deltaFrom")
    return {
        "id": audit.id,
        "url": f"/c/{community.name}/audits/{audit.id}",
        "auditor": str(body.get("auditor", "")).rpartition("/")[2],
        "criteria": [str(c).rpartition("/")[2] for c in body.get("criteria", [])],
        "kind": "delta" if base else "full",
        "from": str(base["purl"]).rpartition("@")[2] if base else "",
        "to": str(span.get("purl", "")).rpartition("@")[2],
        "verdict": body.get("verdict", "certify"),
    }
