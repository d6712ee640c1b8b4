"""Advisory pages: one advisory, the write form, publish and withdraw, the Atom feed,
and what the package page shows (`advisories_for_page`, used by `web/pages.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from fpmreg.core.advisory import fixed_versions, is_affected, mitigation
from fpmreg.core.wire.advisories import AdvisoryWrite
from fpmreg.server.accounts.deps import CurrentUser
from fpmreg.server.accounts.models import User
from fpmreg.server.advisories.deps import AdvisoriesDep
from fpmreg.server.advisories.models import Advisory
from fpmreg.server.advisories.queries import for_package, recently_changed
from fpmreg.server.advisories.records import osv_time, scores
from fpmreg.server.advisories.service import state_of
from fpmreg.server.errors import DomainError, Unauthenticated
from fpmreg.server.http import FormFields, StateDep, render
from fpmreg.server.packages.models import Package

router = APIRouter(include_in_schema=False)

# Entries in the Atom feed: the newest changes; older ones are in the export.
FEED_ENTRIES = 50


def _signed_in(user: User | None) -> User:
    if user is None:
        raise Unauthenticated("sign-in-required", "sign in to write advisories")
    return user


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


def write_from_form(fields: dict[str, str]) -> AdvisoryWrite:
    """The form's fields as an `AdvisoryWrite` (pydantic checks the rest)."""
    events: list[dict[str, str]] = [{"introduced": fields.get("introduced", "").strip() or "0"}]
    if fields.get("fixed", "").strip():
        events.append({"fixed": fields["fixed"].strip()})
    if fields.get("last_affected", "").strip():
        events.append({"last_affected": fields["last_affected"].strip()})
    severity = [
        {"type": kind, "score": fields[key].strip()}
        for key, kind in (("cvss_v3", "CVSS_V3"), ("cvss_v4", "CVSS_V4"))
        if fields.get(key, "").strip()
    ]
    kind = fields.get("mitigation", "")
    value = fields.get("mitigation_value", "").strip()
    found: dict[str, str] | None = None
    if kind == "upgrade_to" or kind == "switch_to":
        found = {kind: value}
    return AdvisoryWrite.model_validate(
        {
            "package": fields.get("package", "").strip(),
            "summary": fields.get("summary", "").strip(),
            "details": fields.get("details", "").strip(),
            "events": events,
            "severity": severity,
            "references": [{"type": "WEB", "url": u} for u in fields.get("references", "").split()],
            "aliases": _lines(fields.get("aliases", "")),
            "credits": [{"name": n} for n in fields.get("credits", "").splitlines() if n.strip()],
            "mitigation": found,
        }
    )


def form_from_record(advisory: Advisory) -> dict[str, str]:
    """The form fields that write `advisory`'s record again."""
    record = advisory.record
    events = ((record.get("affected") or [{}])[0].get("ranges") or [{}])[0].get("events", [])
    by_kind = {k: v for e in events for k, v in e.items()}
    cvss = {s.get("type"): s.get("score", "") for s in record.get("severity") or ()}
    found = mitigation(record) or {}
    kind = next(iter(found), "")
    return {
        "package": advisory.package,
        "summary": advisory.summary,
        "details": str(record.get("details", "")),
        "introduced": by_kind.get("introduced", "0"),
        "fixed": by_kind.get("fixed", ""),
        "last_affected": by_kind.get("last_affected", ""),
        "cvss_v3": str(cvss.get("CVSS_V3", "")),
        "cvss_v4": str(cvss.get("CVSS_V4", "")),
        "references": "\n".join(r.get("url", "") for r in record.get("references") or ()),
        "aliases": "\n".join(record.get("aliases") or ()),
        "credits": "\n".join(c.get("name", "") for c in record.get("credits") or ()),
        "mitigation": kind,
        "mitigation_value": found.get(kind, ""),
    }


def _errors(exc: Exception) -> list[str]:
    if isinstance(exc, DomainError):
        return [p.message for p in exc.problems]
    assert isinstance(exc, ValidationError)
    return [f"`{'.'.join(str(p) for p in e['loc']) or 'form'}`: {e['msg']}" for e in exc.errors()]


def _form_page(
    request: Request,
    user: User,
    fields: dict[str, str],
    action: str,
    errors: list[str],
    status: int = 200,
) -> Response:
    context = {"user": user, "form": fields, "action": action, "errors": errors}
    return render(request, "advisory_form.html", context, status)


@router.get("/advisories/new")
def new_advisory_page(request: Request, user: CurrentUser, package: str = "") -> Response:
    return _form_page(
        request, _signed_in(user), {"package": package, "introduced": "0"}, "/advisories/new", []
    )


@router.post("/advisories/new")
def new_advisory(
    request: Request, fields: FormFields, user: CurrentUser, advisories: AdvisoriesDep
) -> Response:
    me = _signed_in(user)
    try:
        draft = advisories.create_draft(me, write_from_form(fields))
    except (DomainError, ValidationError) as exc:
        status = exc.status if isinstance(exc, DomainError) else 400
        return _form_page(request, me, fields, "/advisories/new", _errors(exc), status)
    return RedirectResponse(f"/advisories/{draft.osv_id}", status_code=303)


@router.get("/advisories/{osv_id}/edit")
def edit_advisory_page(
    request: Request, osv_id: str, user: CurrentUser, advisories: AdvisoriesDep
) -> Response:
    me = _signed_in(user)
    advisory = advisories.get(osv_id, me)
    return _form_page(request, me, form_from_record(advisory), f"/advisories/{osv_id}/edit", [])


@router.post("/advisories/{osv_id}/edit")
def edit_advisory(
    request: Request, fields: FormFields, osv_id: str, user: CurrentUser, advisories: AdvisoriesDep
) -> Response:
    me = _signed_in(user)
    try:
        advisories.update(me, osv_id, write_from_form(fields))
    except (DomainError, ValidationError) as exc:
        status = exc.status if isinstance(exc, DomainError) else 400
        return _form_page(request, me, fields, f"/advisories/{osv_id}/edit", _errors(exc), status)
    return RedirectResponse(f"/advisories/{osv_id}", status_code=303)


@router.post("/advisories/{osv_id}/publish")
def publish_advisory(
    request: Request, osv_id: str, user: CurrentUser, advisories: AdvisoriesDep
) -> Response:
    advisories.publish(_signed_in(user), osv_id)
    return RedirectResponse(f"/advisories/{osv_id}", status_code=303)


@router.post("/advisories/{osv_id}/withdraw")
def withdraw_advisory(
    request: Request, fields: FormFields, osv_id: str, user: CurrentUser, advisories: AdvisoriesDep
) -> Response:
    reason = fields.get("reason", "").strip() or "withdrawn by its authors"
    advisories.withdraw(_signed_in(user), osv_id, reason)
    return RedirectResponse(f"/advisories/{osv_id}", status_code=303)


@router.get("/advisories/{osv_id}")
def advisory_page(
    request: Request, osv_id: str, user: CurrentUser, advisories: AdvisoriesDep
) -> Response:
    advisory = advisories.get(osv_id, user)
    record = advisory.record
    return render(
        request,
        "advisory.html",
        {
            "user": user,
            "advisory": advisory,
            "record": record,
            "state": state_of(advisory),
            "scores": scores(record),
            "fixed": fixed_versions(record),
            "mitigation": mitigation(record),
            "can_edit": advisories.may_edit(user, advisory) and advisory.package_id is not None,
        },
    )


@dataclass(frozen=True)
class PageAdvisory:
    """An advisory as the package page lists it."""

    osv_id: str
    summary: str
    withdrawn: bool
    affects_shown: bool
    fixed: list[str]
    mitigation: dict[str, str] | None
    rating: str


def advisories_for_page(session: Session, package: Package, shown: str) -> list[PageAdvisory]:
    """The package's published advisories, each saying whether it affects `shown`."""
    out = []
    for advisory in for_package(session, package.id):
        rated = scores(advisory.record)
        out.append(
            PageAdvisory(
                osv_id=advisory.osv_id,
                summary=advisory.summary,
                withdrawn=advisory.withdrawn_at is not None,
                affects_shown=is_affected(advisory.record, shown, package=advisory.package),
                fixed=fixed_versions(advisory.record),
                mitigation=mitigation(advisory.record),
                rating=f"{rated[0].rating} {rated[0].score}" if rated else "",
            )
        )
    return out


def _entry(advisory: Advisory, base_url: str) -> str:
    url = f"{base_url}/advisories/{advisory.osv_id}"
    record: dict[str, Any] = advisory.record
    title = f"{advisory.osv_id}: {advisory.summary}"
    if advisory.withdrawn_at is not None:
        title += " (withdrawn)"
    published = osv_time(advisory.published_at or advisory.modified_at)
    return (
        "<entry>"
        f"<id>{escape(url)}</id>"
        f"<title>{escape(title)}</title>"
        f'<link rel="alternate" href="{escape(url)}"/>'
        f"<published>{published}</published>"
        f"<updated>{osv_time(advisory.modified_at)}</updated>"
        f'<category term="{escape(advisory.package)}"/>'
        f"<summary>{escape(str(record.get('details') or advisory.summary))}</summary>"
        "</entry>"
    )


@router.get("/advisories.atom")
def feed(state: StateDep, advisories: AdvisoriesDep) -> Response:
    """New and changed published advisories, newest change first (RFC 4287)."""
    base = state.settings.base_url
    rows = recently_changed(advisories.session, FEED_ENTRIES)
    updated = osv_time(rows[0].modified_at) if rows else "1970-01-01T00:00:00Z"
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{escape(base)}/advisories.atom</id>"
        "<title>Security advisories</title>"
        f'<link rel="self" href="{escape(base)}/advisories.atom"/>'
        f"<updated>{updated}</updated>" + "".join(_entry(a, base) for a in rows) + "</feed>"
    )
    return Response(body, media_type="application/atom+xml")
