"""The test Redis (`FPMREG_TEST_REDIS_URL`, default `redis://127.0.0.1:6379/0`).

`fresh_redis_prefix()` gives each test (or module) a key prefix of its own and removes that
prefix's keys afterwards (nothing else in the database is touched); it skips, saying
why, when Redis is not reachable.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis

REDIS_URL = os.environ.get("FPMREG_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_client() -> redis.Redis:
    """A client of the test Redis."""
    return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)


@contextmanager
def fresh_redis_prefix() -> Iterator[str]:
    """A key prefix no other run uses, its keys removed afterwards; skips without Redis."""
    client = redis_client()
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL} (FPMREG_TEST_REDIS_URL): {exc}")
    prefix = f"fpmreg-test-{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()
