"""Real server processes: `X-Forwarded-For` counts only from a configured proxy, and
rate limits hold across processes that share Redis."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from fpmreg.server.db import Database
from fpmreg.server.metrics.models import DownloadCount
from fpmreg.server.ratelimit import PUBLISH_AUTH_FAILURES_PER_MINUTE
from tests.support.databases import fresh_database
from tests.support.live import LiveServer
from tests.support.tarballs import package_tarball

REDIS_URL = os.environ.get("FPMREG_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
FORGED = [f"203.0.113.{i}" for i in range(1, 41)]  # one made-up client per download


def _publish(server: LiveServer, namespace: str) -> str:
    token = server.publisher_token(namespace)
    response = httpx.post(
        server.url + "/api/v1/packages",
        headers={"Authorization": f"Bearer {token}"},
        files={"tarball": ("t.tar.gz", package_tarball("counted", "1.0.0"), "application/gzip")},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return f"{server.url}/tarballs/{namespace}/counted/1.0.0.tar.gz"


def _download_as(url: str, forwarded: list[str]) -> None:
    with httpx.Client(timeout=30) as client:
        for address in forwarded:
            got = client.get(url, headers={"X-Forwarded-For": address, "User-Agent": "curl/8"})
            assert got.status_code == 200


def _bogus_publish(server: LiveServer, forwarded: str) -> httpx.Response:
    return httpx.post(
        server.url + "/api/v1/packages",
        headers={
            "Authorization": f"Bearer fpmreg_{secrets.token_urlsafe(24)}",
            "X-Forwarded-For": forwarded,
        },
        files={"tarball": ("t.tar.gz", b"not a tarball", "application/gzip")},
        timeout=30,
    )


def _stored_downloads(database_url: str) -> int:
    database = Database.from_url(database_url)
    try:
        with database.session() as session:
            return int(session.scalar(select(func.sum(DownloadCount.count))) or 0)
    finally:
        database.engine.dispose()


def test_forged_forwarded_for_changes_neither_counts_nor_limits(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        server = LiveServer(url, tmp_path).start()
        try:
            tarball = _publish(server, "forged")
            _download_as(tarball, FORGED)
            statuses = [_bogus_publish(server, FORGED[i]) for i in range(11)]
        finally:
            assert server.stop() == 0  # flushes the buffered counts
        assert _stored_downloads(url) == 1  # one client, one download within the window
        assert [r.status_code for r in statuses[:PUBLISH_AUTH_FAILURES_PER_MINUTE]] == [401] * 10
        assert statuses[-1].status_code == 429 and "Retry-After" in statuses[-1].headers


def test_forwarded_for_from_a_configured_proxy_is_honoured(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        server = LiveServer(url, tmp_path, env={"FPMREG_TRUSTED_PROXIES": "127.0.0.0/8"})
        server.start()
        try:
            tarball = _publish(server, "proxied")
            _download_as(tarball, FORGED[:5])
            distinct = [_bogus_publish(server, FORGED[i]).status_code for i in range(11)]
            same = [_bogus_publish(server, "198.51.100.1").status_code for _ in range(11)]
        finally:
            assert server.stop() == 0
        assert _stored_downloads(url) == 5  # five clients behind the proxy
        assert distinct == [401] * 11  # eleven clients, one failure each
        assert same == [401] * 10 + [429]  # one client behind the proxy, limited


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix no other run uses, its keys removed afterwards; skips without Redis."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL} (FPMREG_TEST_REDIS_URL): {exc}")
    prefix = f"fpmreg-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def test_two_processes_share_one_limit_through_redis(tmp_path: Path, redis_prefix: str) -> None:
    env = {"FPMREG_REDIS_URL": REDIS_URL, "FPMREG_REDIS_KEY_PREFIX": redis_prefix}
    with fresh_database(tmp_path) as url:
        first = LiveServer(url, tmp_path / "a", env=env)
        second = LiveServer(url, tmp_path / "b", env=env)
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        with first, second:
            servers = [first, second]
            statuses = [_bogus_publish(servers[i % 2], "").status_code for i in range(10)]
            on_first = _bogus_publish(first, "")
            on_second = _bogus_publish(second, "")
    assert statuses == [401] * PUBLISH_AUTH_FAILURES_PER_MINUTE  # five on each process
    assert on_first.status_code == 429 and on_second.status_code == 429
    assert 1 <= int(on_second.headers["Retry-After"]) <= 60
