"""State shared through a real Redis: rate limits and the download repeat filter.

Each `RateLimiter` or `DownloadRecorder` here stands for one app process; two of them
with the same `FPMREG_REDIS_URL` behave as one (docs/operating.md, "Several hosts").
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine

from fpmreg.server.clock import Clock
from fpmreg.server.db import Database
from fpmreg.server.errors import RateLimited
from fpmreg.server.metrics.dedup import KEY_BYTES, SharedRepeats
from fpmreg.server.metrics.recorder import DownloadRecorder
from fpmreg.server.ratelimit import Limit, RateLimiter
from fpmreg.server.settings import Environment, Settings
from tests.support.live import free_port
from tests.support.redis_db import REDIS_URL, fresh_redis_prefix, redis_client

LIMIT = Limit("test-limit", 3, 60, "test events")
SOURCE = {"address": "192.0.2.7", "user_agent": "curl/8.5.0", "ci": False}


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """This test's own Redis key prefix (removed afterwards); skips without Redis."""
    with fresh_redis_prefix() as prefix:
        yield prefix


class MovableClock:
    """A clock the test moves (the UTC day of the repeat filter's key)."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.at


def process_settings(redis_url: str, prefix: str) -> Settings:
    return Settings(
        env=Environment.TEST,
        base_url="http://testserver",
        redis_url=redis_url,
        redis_key_prefix=prefix or "fpmreg",
    )


def limiter(prefix: str, redis_url: str = REDIS_URL) -> RateLimiter:
    return RateLimiter(process_settings(redis_url, prefix))


def recorder(prefix: str, clock: Clock, *, url: str = REDIS_URL) -> DownloadRecorder:
    shared = SharedRepeats(url, prefix) if prefix else None
    # Counting never touches the database; only `flush` does.
    return DownloadRecorder(
        Database(create_engine("sqlite://")), clock, dedup_seconds=60, shared=shared
    )


# Rate limits ------------------------------------------------------------------------


def test_two_processes_count_one_limit_together(redis_prefix: str) -> None:
    first, second = limiter(redis_prefix), limiter(redis_prefix)
    first.hit(LIMIT, "user:1")
    second.hit(LIMIT, "user:1")
    first.hit(LIMIT, "user:1")
    with pytest.raises(RateLimited) as refused:
        second.hit(LIMIT, "user:1")
    assert 1 <= refused.value.retry_after <= 60
    assert "too many test events" in refused.value.detail
    second.hit(LIMIT, "user:2")  # another principal has its own count


def test_a_limit_key_expires_with_its_window(redis_prefix: str) -> None:
    limiter(redis_prefix).hit(LIMIT, "user:1")
    client = redis_client()
    [key] = list(client.scan_iter(f"{redis_prefix}:*"))
    assert b"test-limit" in key
    assert 0 < client.ttl(key) <= LIMIT.seconds  # Redis forgets it: no clean-up needed


def test_without_redis_each_process_counts_its_own() -> None:
    first, second = limiter("", redis_url=""), limiter("", redis_url="")
    for _ in range(LIMIT.amount):
        first.hit(LIMIT, "user:1")
        second.hit(LIMIT, "user:1")
    with pytest.raises(RateLimited):
        first.hit(LIMIT, "user:1")


# The download repeat filter ---------------------------------------------------------


def test_one_source_counts_once_over_two_processes(redis_prefix: str) -> None:
    clock = MovableClock()
    first, second = recorder(redis_prefix, clock), recorder(redis_prefix, clock)
    assert first.count(1, **SOURCE) is True
    assert second.count(1, **SOURCE) is False
    assert first.count(1, **SOURCE) is False
    assert first.pending() + second.pending() == 1


def test_another_version_or_client_is_another_download(redis_prefix: str) -> None:
    clock = MovableClock()
    first, second = recorder(redis_prefix, clock), recorder(redis_prefix, clock)
    assert first.count(1, **SOURCE) is True
    assert second.count(2, **SOURCE) is True
    assert second.count(1, **{**SOURCE, "user_agent": "Wget/1.21.3"}) is True
    assert second.count(1, **{**SOURCE, "address": "192.0.2.8"}) is True
    assert first.pending() + second.pending() == 4


def test_the_seen_mark_expires_with_the_window(redis_prefix: str) -> None:
    recorder(redis_prefix, MovableClock()).count(1, **SOURCE)
    client = redis_client()
    [seen] = list(client.scan_iter(f"{redis_prefix}:dedup:seen:*"))
    assert 0 < client.pttl(seen) <= 60_000


def test_the_key_is_random_per_day_and_no_address_reaches_redis(redis_prefix: str) -> None:
    clock = MovableClock()
    first, second = recorder(redis_prefix, clock), recorder(redis_prefix, clock)
    assert first.count(1, **SOURCE) is True
    clock.at += timedelta(days=1)  # a new UTC day: a new key, every fingerprint differs
    assert second.count(1, **SOURCE) is True
    client = redis_client()
    keys = sorted(client.scan_iter(f"{redis_prefix}:dedup:key:*"))
    assert len(keys) == 2
    day_keys = [client.get(key) for key in keys]
    assert all(isinstance(k, bytes) and len(k) == KEY_BYTES for k in day_keys)
    assert day_keys[0] != day_keys[1]
    assert all(0 < client.ttl(key) <= 2 * 86_400 for key in keys)
    everything = b"".join(
        [*client.scan_iter(f"{redis_prefix}:*"), *(client.get(k) or b"" for k in keys)]
    )
    assert b"192.0.2.7" not in everything and b"curl" not in everything


def test_repeats_are_still_filtered_in_memory_while_redis_is_down() -> None:
    down = f"redis://127.0.0.1:{free_port()}/0"
    counts = recorder("fpmreg-down", MovableClock(), url=down)
    assert counts.count(1, **SOURCE) is True  # no error reaches the download
    assert counts.count(1, **SOURCE) is False
    assert counts.pending() == 1


def test_without_redis_each_process_filters_its_own_repeats() -> None:
    clock = MovableClock()
    first, second = recorder("", clock), recorder("", clock)
    assert first.count(1, **SOURCE) is True
    assert second.count(1, **SOURCE) is True  # the per-process behaviour
    assert first.count(1, **SOURCE) is False
