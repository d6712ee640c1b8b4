"""The job queue and the `mail.send` job against a real database and a real SMTP server."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from fpmreg.server.app import build_job_handlers
from fpmreg.server.db import Database
from fpmreg.server.jobs import Job, JobRunner, JobStatus, claim, enqueue, retry_delay
from fpmreg.server.mail import SEND_MAIL
from fpmreg.server.settings import Environment, Settings
from tests.support.databases import fresh_database
from tests.support.smtp import SmtpSink

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PASSWORD = "s3cret-smtp-password"


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


def mail(to: str = "reporter@example.org", subject: str = "Your report") -> dict[str, str]:
    return {"to": to, "subject": subject, "body": "It was decided.\n"}


def jobs(database: Database) -> list[Job]:
    with database.session() as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


def test_a_mail_enqueued_in_a_committed_transaction_is_delivered_once(
    database: Database,
) -> None:
    clock = MovableClock()
    with SmtpSink() as sink, database.session() as session:
        enqueue(session, SEND_MAIL, mail(), at=clock.now())
        session.commit()
        runner = runner_for(database, clock, sink.url)
        assert runner.run_until_idle() == 1
        clock.advance(timedelta(hours=3))
        assert runner.run_until_idle() == 0  # done jobs are never taken again
        received = sink.wait_for(1)
    assert len(received) == 1
    assert received[0]["To"] == "reporter@example.org"
    assert received[0]["From"] == "registry@example.org"
    assert received[0]["Subject"] == "Your report"
    assert str(received[0].get_payload()).replace("\r\n", "\n") == "It was decided.\n"
    [job] = jobs(database)
    assert (job.status, job.attempts, job.finished_at) == (JobStatus.DONE, 1, START)


def test_a_mail_enqueued_in_a_rolled_back_transaction_never_runs(database: Database) -> None:
    clock = MovableClock()
    with SmtpSink() as sink:
        with database.session() as session:
            enqueue(session, SEND_MAIL, mail(), at=clock.now())
            session.flush()
            session.rollback()
        runner = runner_for(database, clock, sink.url)
        assert runner.run_until_idle() == 0
        assert sink.messages == []
    assert jobs(database) == []


def test_a_send_the_server_refuses_with_451_is_retried_and_arrives_once(
    database: Database,
) -> None:
    clock = MovableClock()
    with SmtpSink(fail_first=1) as sink:
        with database.session() as session:
            enqueue(session, SEND_MAIL, mail(), at=clock.now())
            session.commit()
        runner = runner_for(database, clock, sink.url)
        assert runner.run_until_idle() == 1
        assert sink.refused == 1 and sink.messages == []
        [job] = jobs(database)
        assert job.status == JobStatus.QUEUED
        assert "451" in job.last_error and "reporter@example.org" not in job.last_error
        assert runner.run_until_idle() == 0  # backing off: not due yet
        clock.advance(retry_delay(1))
        assert runner.run_until_idle() == 1
        received = sink.wait_for(1)
    assert [m["Subject"] for m in received] == ["Your report"]
    [job] = jobs(database)
    assert (job.status, job.attempts) == (JobStatus.DONE, 2)


def test_a_job_that_keeps_failing_is_given_up_after_its_attempts(database: Database) -> None:
    clock = MovableClock()
    with SmtpSink(fail_first=100) as sink:
        with database.session() as session:
            enqueue(session, SEND_MAIL, mail(), at=clock.now(), max_attempts=3)
            session.commit()
        runner = runner_for(database, clock, sink.url)
        for _ in range(5):
            runner.run_until_idle()
            clock.advance(timedelta(hours=2))
        assert sink.refused == 3
    [job] = jobs(database)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 3)
    assert job.finished_at is not None


def test_a_mail_to_a_malformed_address_fails_at_once_without_a_send(database: Database) -> None:
    clock = MovableClock()
    with SmtpSink() as sink:
        with database.session() as session:
            enqueue(session, SEND_MAIL, mail(to="a@b.org\r\nBcc: x@y.org"), at=clock.now())
            session.commit()
        assert runner_for(database, clock, sink.url).run_until_idle() == 1
        assert sink.messages == []
    [job] = jobs(database)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 1)
    assert "`to` is not a single mail address" in job.last_error


def test_without_smtp_configured_mail_is_dropped_and_the_job_done(database: Database) -> None:
    clock = MovableClock()
    with database.session() as session:
        enqueue(session, SEND_MAIL, mail(), at=clock.now())
        session.commit()
    assert runner_for(database, clock, "").run_until_idle() == 1
    [job] = jobs(database)
    assert job.status == JobStatus.DONE


def test_a_job_of_a_kind_no_handler_knows_stays_queued(database: Database) -> None:
    clock = MovableClock()
    with database.session() as session:
        enqueue(session, "build.docs", {}, at=clock.now())
        session.commit()
    assert runner_for(database, clock, "").run_until_idle() == 0
    [job] = jobs(database)
    assert (job.status, job.attempts) == (JobStatus.QUEUED, 0)


def test_an_expired_lease_is_taken_over_and_the_old_worker_cannot_finish(
    database: Database,
) -> None:
    clock = MovableClock()
    with SmtpSink() as sink:
        with database.session() as session:
            enqueue(session, SEND_MAIL, mail(), at=clock.now())
            session.commit()
        first = runner_for(database, clock, sink.url)
        with database.session() as session:
            held = claim(session, clock.now(), first.handlers, worker_id="dead", lease=first.lease)
        assert held is not None
        assert first.run_until_idle() == 0  # leased to `dead`
        clock.advance(first.lease + timedelta(seconds=1))
        assert first.run_until_idle() == 1
        assert len(sink.wait_for(1)) == 1
    [job] = jobs(database)
    assert (job.status, job.attempts, job.locked_by) == (JobStatus.DONE, 2, "test-worker")


def test_smtp_credentials_are_used_and_a_wrong_password_is_never_stored_or_logged(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="fpmreg")
    clock = MovableClock()
    with SmtpSink(credentials=("registry", PASSWORD)) as sink:
        with database.session() as session:
            enqueue(session, SEND_MAIL, mail(), at=clock.now())
            session.commit()
        wrong = f"smtp://registry:wrong-{PASSWORD}@127.0.0.1:{sink.port}"
        assert runner_for(database, clock, wrong).run_until_idle() == 1
        assert sink.messages == []
        [job] = jobs(database)
        assert job.status == JobStatus.QUEUED and "check FPMREG_SMTP_URL" in job.last_error
        clock.advance(retry_delay(1))
        right = f"smtp://registry:{PASSWORD}@127.0.0.1:{sink.port}"
        assert runner_for(database, clock, right).run_until_idle() == 1
        assert len(sink.wait_for(1)) == 1
    [job] = jobs(database)
    assert job.status == JobStatus.DONE
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("fpmreg"))
    assert "mail of job 1 handed over" in ours  # the log was captured
    assert PASSWORD not in ours and "reporter@example.org" not in ours


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://u:" + PASSWORD + "@mail.example.org", "must start with `smtp://`"),
        ("smtp://u:" + PASSWORD + "@", "names no host"),
        ("smtp://u:" + PASSWORD + "@mail.example.org:port", "port that is not a number"),
    ],
)
def test_a_bad_smtp_url_is_refused_without_repeating_the_password(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as refused:
        Settings(env=Environment.TEST, smtp_url=url)
    assert PASSWORD not in str(refused.value)
