"""Two app hosts that share nothing on disk, as docs/operating.md "Several hosts" sets up.

Each host is a real `fpmreg-server run` on its own loopback port with its own data
folder; they share one PostgreSQL database, one S3 bucket (SeaweedFS) and one Redis
key prefix. What one host commits, the other answers at once (no sleep), from its warm
per-process caches. The job tests run two real `fpmreg-server worker` processes on a
PostgreSQL database of their own, one of them killed mid-job.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from fpmreg.server.accounts.models import Scope
from fpmreg.server.db import Database
from fpmreg.server.jobs import Job, JobStatus, enqueue
from fpmreg.server.mail import SEND_MAIL
from fpmreg.server.metrics.models import DownloadCount
from fpmreg.server.packages.models import Package, Version
from tests.server.test_worker_processes import Worker
from tests.support.databases import fresh_postgres_database
from tests.support.live import LiveServer
from tests.support.redis_db import REDIS_URL, fresh_redis_prefix
from tests.support.seaweed import S3Server, seaweed  # noqa: F401
from tests.support.smtp import SmtpSink
from tests.support.tarballs import package_tarball

POSTGRES_URL = os.environ.get("FPMREG_TEST_DATABASE_URL", "") or (
    "postgresql://postgres@127.0.0.1:5432/test"
)
NAMESPACE = "multihost"
CURL = {"User-Agent": "curl/8.5.0"}  # fpm fetches tarballs with curl


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, migrated PostgreSQL database; skips, saying why, when there is none."""
    if not POSTGRES_URL.startswith("postgres"):
        pytest.skip(f"several hosts need PostgreSQL; FPMREG_TEST_DATABASE_URL is {POSTGRES_URL}")
    probe = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with probe.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}: {type(exc).__name__}")
    finally:
        probe.dispose()
    with fresh_postgres_database(POSTGRES_URL, prefix="fpmreg_multihost") as url:
        yield url


@pytest.fixture(scope="module")
def shared_redis_prefix() -> Iterator[str]:
    """The hosts' Redis key prefix, its keys removed afterwards; skips without Redis."""
    with fresh_redis_prefix() as prefix:
        yield prefix


@dataclass
class Hosts:
    a: LiveServer
    b: LiveServer
    database_url: str
    token: str
    s3: S3Server
    s3_prefix: str


@pytest.fixture(scope="module")
def hosts(
    request: pytest.FixtureRequest,
    shared_redis_prefix: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Hosts]:
    """Hosts A and B, started once for this module's tests (each uses its own package)."""
    s3: S3Server = request.getfixturevalue("seaweed")
    with postgres_database() as postgres_url:
        yield from _hosts(postgres_url, s3, shared_redis_prefix, tmp_path_factory)


def _hosts(
    postgres_url: str, s3: S3Server, redis_prefix: str, factory: pytest.TempPathFactory
) -> Iterator[Hosts]:
    s3_prefix = f"multihost-{uuid.uuid4().hex[:8]}"
    env = {
        **s3.environment(prefix=s3_prefix),
        "FPMREG_REDIS_URL": REDIS_URL,
        "FPMREG_REDIS_KEY_PREFIX": redis_prefix,
        "FPMREG_RUN_JOBS_IN_PROCESS": "false",  # the workers run them
        "FPMREG_METRICS_FLUSH_SECONDS": "0.2",
    }
    servers = []
    for name in ("a", "b"):
        folder = factory.mktemp(f"host-{name}")
        servers.append(LiveServer(postgres_url, folder, env=env))
    try:
        for server in servers:
            server.start()
        scopes = {Scope.PUBLISH, Scope.YANK, Scope.MANAGE}
        token = servers[0].publisher_token(NAMESPACE, scopes=scopes)
        yield Hosts(servers[0], servers[1], postgres_url, token, s3, s3_prefix)
    finally:
        for server in servers:
            server.stop()


def publish(host: LiveServer, token: str, name: str, version: str) -> bytes:
    """Publish through `host` as `fpm publish` does; returns the tarball."""
    tarball = package_tarball(name, version)
    response = httpx.post(
        host.url + "/packages",
        data={"upload_token": token},
        files={"tarball": ("package.tar.gz", tarball, "application/gzip")},
        timeout=30,
    )
    assert response.json()["code"] == 200, response.text
    return tarball


def latest(host: LiveServer, name: str) -> str:
    response = httpx.get(f"{host.url}/packages/{NAMESPACE}/{name}", timeout=10)
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["latest_version_data"]["version"])


def tarball_url(host: LiveServer, name: str, version: str) -> str:
    return f"{host.url}/tarballs/{NAMESPACE}/{name}/{version}.tar.gz"


def stored_downloads(database_url: str, name: str) -> int:
    """The downloads of package `name` in the database, over all its versions."""
    database = Database.from_url(database_url)
    try:
        with database.session() as session:
            total = session.scalar(
                select(func.sum(DownloadCount.count))
                .join(Version, Version.id == DownloadCount.version_id)
                .join(Package, Package.id == Version.package_id)
                .where(Package.name == name)
            )
            return int(total or 0)
    finally:
        database.engine.dispose()


def test_a_publish_on_one_host_is_served_by_the_other_at_once(hosts: Hosts) -> None:
    publish(hosts.a, hosts.token, "shared", "1.0.0")
    assert latest(hosts.b, "shared") == "1.0.0"  # now in B's cache
    assert latest(hosts.b, "shared") == "1.0.0"
    tarball = publish(hosts.a, hosts.token, "shared", "1.1.0")
    assert latest(hosts.b, "shared") == "1.1.0"  # at once: no sleep, no restart
    served = httpx.get(tarball_url(hosts.b, "shared", "1.1.0"), headers=CURL, timeout=10)
    assert served.status_code == 200
    assert hashlib.sha256(served.content).digest() == hashlib.sha256(tarball).digest()
    # The bytes come from the bucket: neither host holds a blob on its own disk.
    listed = hosts.s3.client().list_objects_v2(Bucket=hosts.s3.bucket, Prefix=hosts.s3_prefix)
    keys = [item["Key"] for item in listed.get("Contents", [])]
    assert any(hashlib.sha256(tarball).hexdigest() in key for key in keys), keys
    for host in (hosts.a, hosts.b):
        assert not [path for path in host.storage.rglob("*") if path.is_file()]
    # The same client fetching through both hosts is one download; another client is one more.
    again = httpx.get(tarball_url(hosts.a, "shared", "1.1.0"), headers=CURL, timeout=10)
    assert again.status_code == 200
    other = {"User-Agent": "Wget/1.21.3"}
    assert httpx.get(tarball_url(hosts.a, "shared", "1.1.0"), headers=other).status_code == 200
    deadline = time.monotonic() + 30  # each host adds its counts every 0.2 s
    while stored_downloads(hosts.database_url, "shared") < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)  # a download counted twice would be stored by now
    assert stored_downloads(hosts.database_url, "shared") == 2


def test_a_yank_and_a_delete_on_one_host_are_seen_by_the_other_at_once(hosts: Hosts) -> None:
    publish(hosts.a, hosts.token, "moving", "1.0.0")
    publish(hosts.a, hosts.token, "moving", "2.0.0")
    assert latest(hosts.a, "moving") == "2.0.0"  # in A's cache
    assert httpx.get(tarball_url(hosts.a, "moving", "2.0.0")).status_code == 200  # cached too
    auth = {"Authorization": f"Bearer {hosts.token}"}
    api = f"{hosts.b.url}/api/v1/packages/{NAMESPACE}/moving/versions/2.0.0"
    yanked = httpx.put(api + "/yank", json={"reason": "broken build"}, headers=auth)
    assert yanked.status_code == 200, yanked.text
    assert latest(hosts.a, "moving") == "1.0.0"
    deleted = httpx.request(
        "DELETE", api, json={"reason": "published by mistake", "category": "broken"}, headers=auth
    )
    assert deleted.status_code == 200, deleted.text
    gone = httpx.get(f"{hosts.a.url}/packages/{NAMESPACE}/moving/2.0.0")
    assert gone.status_code in (404, 410), gone.text
    assert httpx.get(tarball_url(hosts.a, "moving", "2.0.0")).status_code in (404, 410)
    assert latest(hosts.a, "moving") == "1.0.0"


def add_mail(database_url: str, subject: str) -> None:
    database = Database.from_url(database_url)
    try:
        with database.session() as session:
            payload = {"to": "owner@example.org", "subject": subject, "body": "hi"}
            enqueue(session, SEND_MAIL, payload, at=datetime.now(UTC))
            session.commit()
    finally:
        database.engine.dispose()


def the_job(database_url: str) -> Job:
    database = Database.from_url(database_url)
    try:
        with database.session() as session:
            [job] = session.scalars(select(Job))
            return job
    finally:
        database.engine.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


def test_a_worker_killed_mid_job_leaves_it_to_the_other_worker_once(
    postgres_url: str, tmp_path: Path
) -> None:
    with SmtpSink(hang_first=1) as sink:
        workers = [
            Worker(postgres_url, sink.url, tmp_path, job_lease_seconds="2") for _ in range(2)
        ]
        try:
            add_mail(postgres_url, "only once")
            assert sink.hanging.wait(30), "no worker started the job"
            holder = the_job(postgres_url).locked_by
            [killed] = [w for w in workers if w.worker_id == holder]
            [survivor] = [w for w in workers if w is not killed]
            assert killed.stop(signal.SIGKILL) == -signal.SIGKILL
            received = sink.wait_for(1, timeout=60)
            time.sleep(0.5)  # a second delivery would arrive now
        finally:
            for worker in workers:
                worker.stop()
        assert [m["Subject"] for m in received] == ["only once"]
        assert [m["Subject"] for m in sink.messages] == ["only once"]
    job = the_job(postgres_url)
    assert (job.status, job.attempts, job.locked_by) == (JobStatus.DONE, 2, survivor.worker_id)


def test_a_job_longer_than_the_lease_is_renewed_not_taken_over(
    postgres_url: str, tmp_path: Path
) -> None:
    with SmtpSink(delay_seconds=4) as sink:  # each mail takes 4 s: four leases
        workers = [
            Worker(postgres_url, sink.url, tmp_path, job_lease_seconds="1") for _ in range(2)
        ]
        try:
            add_mail(postgres_url, "slow but once")
            received = sink.wait_for(1, timeout=60)
            time.sleep(3)  # a taken-over second run would deliver by now
        finally:
            codes = [worker.stop() for worker in workers]
        assert codes == [0, 0]
        assert [m["Subject"] for m in received] == ["slow but once"]
        assert [m["Subject"] for m in sink.messages] == ["slow but once"]
    job = the_job(postgres_url)
    assert (job.status, job.attempts) == (JobStatus.DONE, 1)
