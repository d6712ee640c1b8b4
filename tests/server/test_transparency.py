"""The public transparency report: moderation actions by category and month, no details."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fpmreg.server.clock import SystemClock
from fpmreg.server.events import record_event
from fpmreg.server.moderation.transparency import transparency_report

SECRET_REASON = "reported by alice@example.org: see the attached proof"


def moderate(
    session: Session,
    at: datetime,
    action: str,
    category: str,
    data: dict[str, object] | None = None,
) -> None:
    record_event(
        session,
        at=at,
        actor_id=None,
        action=action,
        subject="package:secretns/secretpkg@1.0.0",
        reason=SECRET_REASON,
        category=category,
        data=data,
    )


def test_actions_are_counted_by_utc_month_category_and_kind(
    client: TestClient, session: Session
) -> None:
    before = transparency_report(session, SystemClock())
    moderate(session, datetime(2026, 10, 3, tzinfo=UTC), "package.quarantine", "malware")
    moderate(session, datetime(2026, 10, 20, tzinfo=UTC), "version.delete", "malware")
    # 23:30 on 31 October at UTC-2 is already November in UTC.
    late = datetime(2026, 10, 31, 23, 30, tzinfo=timezone(timedelta(hours=-2)))
    moderate(session, late, "report.decide", "spam", {"decision": "dismiss"})
    moderate(session, datetime(2026, 11, 2, tzinfo=UTC), "version.yank", "broken")
    record_event(  # not a moderation action: no category
        session, at=datetime(2026, 11, 2, tzinfo=UTC), actor_id=None, action="x.y", subject="s"
    )
    session.commit()

    body = client.get("/api/v1/transparency").json()
    assert body["total"] == before.total + 4
    months = {(r["month"], r["category"]): r["count"] for r in body["by_month"]}
    old = {(m, c): n for m, c, n in before.by_month}
    assert months[("2026-10", "malware")] - old.get(("2026-10", "malware"), 0) == 2
    assert months[("2026-11", "spam")] - old.get(("2026-11", "spam"), 0) == 1
    assert months[("2026-11", "broken")] - old.get(("2026-11", "broken"), 0) == 1
    assert [r["month"] for r in body["by_month"]] == sorted(
        (r["month"] for r in body["by_month"]), reverse=True
    )
    kinds = {r["action"]: r["count"] for r in body["by_action"]}
    old_kinds = dict(before.by_action)
    for kind in ("quarantine", "delete", "dismiss", "yank"):
        assert kinds[kind] - old_kinds.get(kind, 0) == 1
    assert "y" not in kinds or kinds["y"] == old_kinds.get("y", 0)

    page = client.get("/transparency")
    assert page.status_code == 200
    assert "2026-10" in page.text and "malware" in page.text and "quarantine" in page.text
    for text in (client.get("/api/v1/transparency").text, page.text):
        assert SECRET_REASON not in text and "alice" not in text
        assert "secretns" not in text and "secretpkg" not in text


def test_the_report_is_public_and_linked_from_every_page(client: TestClient) -> None:
    assert client.get("/api/v1/transparency").status_code == 200
    assert '<a href="/transparency">Transparency</a>' in client.get("/").text
    assert "moderation action" in client.get("/transparency").text
