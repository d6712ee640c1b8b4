"""Notifications reach people by mail through a real SMTP server on loopback (aiosmtpd):
one mail per recipient, also when the mail server refuses the first attempt."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fpmreg.server.accounts.models import Role
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.app import build_job_handlers, create_app
from fpmreg.server.clock import SystemClock
from fpmreg.server.db import Database
from fpmreg.server.jobs import Job, JobRunner, JobStatus, retry_delay
from fpmreg.server.moderation.models import Notification
from fpmreg.server.moderation.notifications import NotificationsService
from fpmreg.server.settings import Environment, Settings
from fpmreg.server.storage import FilesystemBlobStore
from tests.factories import (
    make_publisher,
    make_reports_moderator,
    make_user,
    publish,
    reports_bearer,
)
from tests.support.databases import fresh_database
from tests.support.smtp import SmtpSink

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BASE_URL = "https://registry.example"


class MovableClock:
    def __init__(self) -> None:
        self.current = START

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    with fresh_database(tmp_path) as url:
        database = Database.from_url(url)
        yield database
        database.engine.dispose()


def runner_for(database: Database, clock: MovableClock, smtp_url: str) -> JobRunner:
    settings = Settings(env=Environment.TEST, smtp_url=smtp_url, mail_from="registry@example.org")
    return JobRunner(database, clock, build_job_handlers(settings), worker_id="test-worker")


def notify_three(database: Database, clock: MovableClock, *, mail: bool = True) -> list[str]:
    """A reporter and two owners are told a report was decided; returns their names."""
    with database.session() as session:
        reporter, owner1, owner2 = (make_user(session) for _ in range(3))
        names = [reporter.username, owner1.username, owner2.username]
        NotificationsService(session, clock, mail=mail, base_url=BASE_URL).notify(
            [reporter.id, owner1.id, owner2.id, owner1.id],  # owner1 named twice
            kind="report.decided",
            subject="The report on `demo/hello` was decided",
            message="A moderator quarantined `demo/hello` (malware).",
            url="/packages/demo/hello",
        )
        session.commit()
    return names


def recipients(messages: list[Message]) -> list[str]:
    return sorted(str(m["To"]) for m in messages)


def body(message: Message) -> str:
    return str(message.get_payload()).replace("\r\n", "\n")


def test_a_notification_mails_the_reporter_and_each_owner_once(database: Database) -> None:
    clock = MovableClock()
    with SmtpSink() as sink:
        names = notify_three(database, clock)
        runner = runner_for(database, clock, sink.url)
        assert runner.run_until_idle() == 3
        clock.advance(timedelta(hours=3))
        assert runner.run_until_idle() == 0
        received = sink.wait_for(3)
    assert recipients(received) == sorted(f"{n}@example.org" for n in names)
    for message in received:
        assert message["Subject"] == "[fpmreg] The report on `demo/hello` was decided"
        assert message.get_content_type() == "text/plain"
        text = body(message)
        assert "A moderator quarantined `demo/hello` (malware)." in text
        assert f"{BASE_URL}/packages/demo/hello" in text
        # Nothing about the other recipients: each mail names its own recipient only.
        others = [n for n in names if f"{n}@example.org" != message["To"]]
        assert not any(other in text for other in others)


def test_each_recipient_gets_one_mail_when_the_first_attempt_is_refused(
    database: Database,
) -> None:
    clock = MovableClock()
    with SmtpSink(fail_first=1) as sink:
        names = notify_three(database, clock)
        runner = runner_for(database, clock, sink.url)
        assert runner.run_until_idle() == 3  # one of the three was answered 451
        assert sink.refused == 1
        assert len(sink.wait_for(2)) == 2
        assert runner.run_until_idle() == 0  # the refused one waits for its back-off
        clock.advance(retry_delay(1))
        assert runner.run_until_idle() == 1
        clock.advance(timedelta(hours=3))
        assert runner.run_until_idle() == 0
        received = sink.wait_for(3)
    assert recipients(received) == sorted(f"{n}@example.org" for n in names)
    with database.session() as session:
        statuses = sorted((j.status, j.attempts) for j in session.scalars(select(Job)))
    assert statuses == [(JobStatus.DONE, 1), (JobStatus.DONE, 1), (JobStatus.DONE, 2)]


def test_every_recipient_sees_the_notification_in_the_app_once(database: Database) -> None:
    clock = MovableClock()
    names = notify_three(database, clock, mail=False)
    with database.session() as session:
        rows = session.scalars(select(Notification)).all()
        assert len(rows) == 3
        assert len({r.user_id for r in rows}) == 3  # owner1, named twice, once
        assert all(r.read_at is None and r.url == "/packages/demo/hello" for r in rows)
        # Mail is off (no FPMREG_SMTP_URL): no job is queued.
        assert session.scalars(select(Job)).all() == []
    assert len(names) == 3


def test_a_rolled_back_notification_sends_nothing(database: Database) -> None:
    clock = MovableClock()
    with SmtpSink() as sink:
        with database.session() as session:
            user = make_user(session)
            session.commit()
            NotificationsService(session, clock, mail=True, base_url=BASE_URL).notify(
                [user.id], kind="report.decided", subject="s", message="m"
            )
            session.rollback()
        assert runner_for(database, clock, sink.url).run_until_idle() == 0
    assert sink.messages == []


# End to end: a report decided by a moderator through the API ------------------------


def test_a_decided_report_mails_the_reporter_and_each_owner_once_despite_a_refusal(
    database: Database, tmp_path: Path
) -> None:
    clock = MovableClock()
    clock.current = datetime.now(UTC)  # the factories' tokens are made on the real clock
    with SmtpSink(fail_first=1) as sink:
        settings = Settings(
            env=Environment.TEST,
            database_url=str(database.engine.url.render_as_string(hide_password=False)),
            storage_path=tmp_path / "blobs",
            base_url=BASE_URL,
            smtp_url=sink.url,
            mail_from="registry@example.org",
            run_jobs_in_process=False,
        )
        store = FilesystemBlobStore(settings.storage_path)
        with database.session() as session:
            owner = make_publisher(session)
            co_owner = make_user(session)
            AccountsService(session, SystemClock()).add_member(
                owner.user, owner.namespace, co_owner.username, Role.MAINTAINER
            )
            publish(session, store, owner, "lib", "1.0.0")
            reporter = make_publisher(session)
            moderator = make_reports_moderator(session)
            session.commit()
            ns = owner.namespace.name
            emails = sorted([owner.user.email, co_owner.email, reporter.user.email])
        app = create_app(settings, database=database, clock=clock)
        with TestClient(app, base_url=BASE_URL) as client:
            filed = client.post(
                f"/api/v1/packages/{ns}/lib/reports",
                json={"category": "copyright", "message": "copied from another project"},
                headers=reports_bearer(reporter),
            )
            assert filed.status_code == 201, filed.text
            decided = client.post(
                f"/api/v1/moderation/reports/{filed.json()['id']}/decision",
                json={"decision": "quarantine", "reason": "the licence forbids this"},
                headers=reports_bearer(moderator),
            )
            assert decided.status_code == 200, decided.text
        runner = runner_for(database, clock, sink.url)
        runner.run_until_idle()
        assert sink.refused == 1  # one of the mails was answered 451
        clock.advance(retry_delay(1))
        runner.run_until_idle()
        clock.advance(timedelta(hours=3))
        assert runner.run_until_idle() == 0
        received = sink.wait_for(3)
    assert recipients(received) == emails  # one each: nobody twice, nobody missed
    for message in received:
        assert "quarantine" in body(message) and f"{BASE_URL}/project/{ns}/lib" in body(message)
        assert "copied from another project" not in body(message)  # the report's text
    to_owner = next(m for m in received if m["To"] == owner.user.email)
    assert reporter.user.username not in body(to_owner) + str(to_owner["Subject"])
