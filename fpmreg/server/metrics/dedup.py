"""The download repeat filter shared by every process through Redis (`FPMREG_REDIS_URL`).

Without Redis each process remembers its own fingerprints (`recorder.DownloadRecorder`),
so N app processes may count one source up to N times per window. With Redis:

- the day's fingerprint key is random bytes that the first process to need it writes
  with `SET NX` under `{prefix}:dedup:key:{UTC date}`, expiring after two days; every
  other process reads that one. It is never written to the database or a log;
- a fingerprint is remembered with `SET {prefix}:dedup:seen:{hex} 1 NX PX window`: the
  process whose `SET` succeeds counts the download, every other one sees a repeat.

If Redis fails, the caller falls back to its own memory for `RETRY_SECONDS` (a repeat
may then count twice, never zero times). docs/operating.md, "Several hosts".
"""

from __future__ import annotations

import hmac
import logging
import math
import secrets
import threading
import time
from datetime import date

import redis

log = logging.getLogger(__name__)

# Redis calls give up after this long (the count is made in the request's thread).
TIMEOUT_SECONDS = 0.5
# After a Redis failure, this many seconds pass before Redis is tried again.
RETRY_SECONDS = 10.0
# The day's key outlives its day (a clock a little behind still finds it), then goes.
KEY_TTL_SECONDS = 2 * 86_400
KEY_BYTES = 32


class RedisUnavailable(Exception):
    """Redis did not answer (or is in its back-off): count in this process instead."""


class SharedRepeats:
    """Remembers which (source, version) fingerprints were counted, for every process."""

    def __init__(self, url: str, prefix: str) -> None:
        self.client = redis.Redis.from_url(
            url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
        )
        self.prefix = f"{prefix}:dedup"
        self._lock = threading.Lock()
        self._day: date | None = None
        self._key = b""
        self._down_until = 0.0

    def first_sighting(self, day: date, message: bytes, window_seconds: float) -> bool:
        """Whether `message` (address, User-Agent, version) was not counted within the
        window; remembers it if so. Raises `RedisUnavailable` when Redis cannot say."""
        if time.monotonic() < self._down_until:
            raise RedisUnavailable
        try:
            fingerprint = hmac.digest(self._day_key(day), message, "sha256")[:16]
            window_ms = max(1, math.ceil(window_seconds * 1000))
            stored = self.client.set(
                f"{self.prefix}:seen:{fingerprint.hex()}", b"1", nx=True, px=window_ms
            )
        except redis.RedisError as exc:
            self._down_until = time.monotonic() + RETRY_SECONDS
            log.warning(  # never the URL: it may hold a password
                "download repeats: Redis failed (%s); remembering in this process for %d s",
                type(exc).__name__,
                RETRY_SECONDS,
            )
            raise RedisUnavailable from exc
        return bool(stored)

    def _day_key(self, day: date) -> bytes:
        with self._lock:
            if self._day == day:
                return self._key
        name = f"{self.prefix}:key:{day.isoformat()}"
        self.client.set(name, secrets.token_bytes(KEY_BYTES), nx=True, ex=KEY_TTL_SECONDS)
        key = self.client.get(name)
        if not isinstance(key, bytes) or len(key) != KEY_BYTES:
            raise redis.RedisError("the day's dedup key is missing")  # evicted: try again
        with self._lock:
            self._day, self._key = day, key
        return key
