"""Real `fpmreg-server worker` processes and a real server's in-process runner, with SMTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from fpmreg.server.db import Database
from fpmreg.server.jobs import Job, JobStatus, enqueue
from fpmreg.server.mail import SEND_MAIL
from tests.support.databases import fresh_database
from tests.support.live import LiveServer
from tests.support.smtp import SmtpSink

JOBS = 200


class Worker:
    """`fpmreg-server worker` in a subprocess, logging to a file."""

    def __init__(
        self, database_url: str, smtp_url: str, workdir: Path, *args: str, **settings: str
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith("FPMREG_")}
        env.update(
            FPMREG_ENV="test",
            FPMREG_DATABASE_URL=database_url,
            FPMREG_SMTP_URL=smtp_url,
            FPMREG_JOB_POLL_SECONDS="0.1",
            **{f"FPMREG_{k.upper()}": v for k, v in settings.items()},
        )
        self.log = workdir / f"worker-{time.monotonic_ns()}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "fpmreg.server", "worker", *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.worker_id = ""
        if args:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not self.worker_id:
            assert self.process.poll() is None, self.log.read_text()
            for line in self.log.read_text().splitlines():
                if line.startswith("worker ") and " running jobs" in line:
                    self.worker_id = line.split()[1]
            time.sleep(0.05)
        assert self.worker_id, self.log.read_text()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database(tmp_path) as url:
        yield url


def add_mails(database_url: str, subjects: list[str]) -> None:
    database = Database.from_url(database_url)
    try:
        with database.session() as session:
            for subject in subjects:
                payload = {"to": "owner@example.org", "subject": subject, "body": "hello"}
                enqueue(session, SEND_MAIL, payload, at=datetime.now(UTC))
            session.commit()
    finally:
        database.engine.dispose()


def all_jobs(database_url: str) -> list[Job]:
    database = Database.from_url(database_url)
    try:
        with database.session() as session:
            return list(session.scalars(select(Job).order_by(Job.id)))
    finally:
        database.engine.dispose()


def test_two_workers_run_each_of_200_jobs_exactly_once(database_url: str, tmp_path: Path) -> None:
    subjects = [f"mail {i}" for i in range(JOBS)]
    # A little latency per mail keeps both workers busy at once.
    with SmtpSink(delay_seconds=0.01) as sink:
        workers = [Worker(database_url, sink.url, tmp_path) for _ in range(2)]
        try:
            add_mails(database_url, subjects)
            received = sink.wait_for(JOBS, timeout=120)
            time.sleep(0.5)  # a duplicate would arrive now
        finally:
            codes = [w.stop() for w in workers]
        assert codes == [0, 0]
        assert sorted(sink.subjects()) == sorted(subjects), "each mail exactly once"
    assert len(received) == JOBS
    jobs = all_jobs(database_url)
    assert {(j.status, j.attempts) for j in jobs} == {(JobStatus.DONE, 1)}
    assert {j.locked_by for j in jobs} == {w.worker_id for w in workers}
    for worker in workers:
        log = worker.log.read_text()
        assert "worker stopped" in log
        assert "owner@example.org" not in log  # no recipient in the logs


def test_sigterm_lets_the_worker_finish_the_mail_in_hand(database_url: str, tmp_path: Path) -> None:
    with SmtpSink(delay_seconds=1.5) as sink:
        worker = Worker(database_url, sink.url, tmp_path)
        add_mails(database_url, ["in hand"])
        assert sink.receiving.wait(30), worker.log.read_text()
        assert worker.stop() == 0
        assert [m["Subject"] for m in sink.messages] == ["in hand"]
    [job] = all_jobs(database_url)
    assert (job.status, job.attempts) == (JobStatus.DONE, 1)


def test_worker_once_runs_the_due_jobs_and_exits(database_url: str, tmp_path: Path) -> None:
    add_mails(database_url, ["first", "second"])
    with SmtpSink() as sink:
        worker = Worker(database_url, sink.url, tmp_path, "--once")
        assert worker.process.wait(timeout=60) == 0, worker.log.read_text()
        assert sorted(sink.subjects()) == ["first", "second"]
    assert "ran 2 job(s)" in worker.log.read_text()


def test_a_worker_killed_mid_job_loses_it_to_another_after_the_lease(
    database_url: str, tmp_path: Path
) -> None:
    with SmtpSink(hang_first=1) as sink:
        first = Worker(database_url, sink.url, tmp_path, job_lease_seconds="2")
        add_mails(database_url, ["the only mail"])
        assert sink.hanging.wait(30), first.log.read_text()
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
        [job] = all_jobs(database_url)
        assert (job.status, job.locked_by) == (JobStatus.RUNNING, first.worker_id)
        second = Worker(database_url, sink.url, tmp_path, job_lease_seconds="2")
        try:
            received = sink.wait_for(1, timeout=60)
            time.sleep(0.5)
        finally:
            assert second.stop() == 0
        assert [m["Subject"] for m in sink.messages] == ["the only mail"]
    assert len(received) == 1
    [job] = all_jobs(database_url)
    assert (job.status, job.attempts, job.locked_by) == (JobStatus.DONE, 2, second.worker_id)


def test_the_servers_in_process_runner_delivers_mail_without_a_worker(
    database_url: str, tmp_path: Path
) -> None:
    with SmtpSink() as sink:
        env = {"FPMREG_SMTP_URL": sink.url, "FPMREG_JOB_POLL_SECONDS": "0.1"}
        with LiveServer(database_url, tmp_path, env=env):
            add_mails(database_url, ["from the server"])
            received = sink.wait_for(1)
    assert [m["Subject"] for m in received] == ["from the server"]
    [job] = all_jobs(database_url)
    assert job.status == JobStatus.DONE
