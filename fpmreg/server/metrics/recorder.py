"""Counting downloads in memory: once per version per source per window, flushed in batches.

`get_tarball` calls `DownloadRecorder.record(version)`; `DownloadMiddleware` counts it
only once the response is a 200 to a GET whose last body byte has been handed to the
server (a HEAD, a range request or a broken transfer is not a download). Counts wait in
a per-process buffer that `flush()` adds to the database as additive upserts.

Repeats are recognised by `HMAC-SHA256(key, address, User-Agent, version)`. The key is
random, made per process per UTC day, and lives only in this object: it is never
written anywhere, so yesterday's fingerprints cannot be linked to anything. With
`FPMREG_REDIS_URL` the key and the fingerprints live in Redis instead, shared by every
process (`dedup.SharedRepeats`); this memory is then the fallback while Redis is down.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
from collections import Counter
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fpmreg.server.clock import Clock
from fpmreg.server.db import Database
from fpmreg.server.metrics.dedup import RedisUnavailable, SharedRepeats
from fpmreg.server.metrics.service import CountKey, DownloadsService, client_kind
from fpmreg.server.ratelimit import client_address

if TYPE_CHECKING:
    from fpmreg.server.metrics.instruments import Instruments
    from fpmreg.server.packages.models import Version

log = logging.getLogger(__name__)

CI_HEADER = b"x-fpmreg-ci"  # sent by `fpmreg` when the CI variable is set
# Fingerprints remembered at once; past this the oldest half is forgotten (a repeat may
# then count twice, never zero times). ~100 bytes each.
MAX_FINGERPRINTS = 500_000


@dataclass
class _Pending:
    """The download the current request serves, if any (set by `record`)."""

    version_id: int | None = None


_current: ContextVar[_Pending | None] = ContextVar("fpmreg_download", default=None)


class DownloadRecorder:
    """Per-process buffer of download counts, with the repeat filter in front of it."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        dedup_seconds: float,
        instruments: Instruments | None = None,
        shared: SharedRepeats | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.dedup_seconds = dedup_seconds
        self.instruments = instruments
        self.shared = shared
        self._lock = threading.Lock()
        self._pending: Counter[CountKey] = Counter()
        self._key_day: date | None = None
        self._key = b""
        self._seen: dict[bytes, datetime] = {}

    # counting ------------------------------------------------------------

    def record(self, version: Version) -> None:
        """Mark the current request as the download of `version` (counted once sent)."""
        self.record_id(version.id)

    def record_id(self, version_id: int) -> None:
        """Mark the current request as the download of the version with this id."""
        pending = _current.get()
        if pending is not None:
            pending.version_id = version_id

    def count(self, version_id: int, *, address: str, user_agent: str, ci: bool) -> bool:
        """Count one download unless the same source fetched it within the window.

        `address` is used only inside the keyed hash and then dropped."""
        now = self.clock.now()
        kind = client_kind(user_agent)
        shared_says = self._shared_first_sighting(now, address, user_agent, version_id)
        with self._lock:
            if shared_says is False or (
                shared_says is None and self._local_repeat(now, address, user_agent, version_id)
            ):
                if self.instruments is not None:
                    self.instruments.repeats.inc()
                return False
            self._pending[CountKey(version_id, now.date(), kind.value, ci)] += 1
        if self.instruments is not None:
            self.instruments.downloads.labels(kind.value).inc()
        return True

    def _shared_first_sighting(
        self, now: datetime, address: str, user_agent: str, version_id: int
    ) -> bool | None:
        """Redis's answer (True: count it), or None when this process must decide."""
        if self.dedup_seconds <= 0:
            return True
        if self.shared is None:
            return None
        try:
            return self.shared.first_sighting(
                now.date(), _message(address, user_agent, version_id), self.dedup_seconds
            )
        except RedisUnavailable:
            return None

    def _local_repeat(self, now: datetime, address: str, user_agent: str, version_id: int) -> bool:
        """Whether this process counted the source within the window (call under the lock);
        remembers it if not."""
        fingerprint = self._fingerprint(now, address, user_agent, version_id)
        last = self._seen.get(fingerprint)
        if last is not None and 0 <= (now - last).total_seconds() < self.dedup_seconds:
            return True
        self._seen[fingerprint] = now
        return False

    def _fingerprint(self, now: datetime, address: str, user_agent: str, version_id: int) -> bytes:
        """The keyed hash of a source and version; rotates the key on a new UTC day."""
        if self._key_day != now.date():
            self._key_day = now.date()
            self._key = secrets.token_bytes(32)
            self._seen.clear()  # yesterday's fingerprints can never match again
        elif len(self._seen) >= MAX_FINGERPRINTS:
            self._forget_expired(now)
            if len(self._seen) >= MAX_FINGERPRINTS:
                newest = sorted(self._seen.items(), key=lambda item: item[1])
                self._seen = dict(newest[len(newest) // 2 :])
        return hmac.digest(self._key, _message(address, user_agent, version_id), "sha256")[:16]

    def _forget_expired(self, now: datetime) -> None:
        self._seen = {
            f: t for f, t in self._seen.items() if (now - t).total_seconds() < self.dedup_seconds
        }

    # flushing ------------------------------------------------------------

    def pending(self) -> int:
        """Downloads counted but not yet in the database."""
        with self._lock:
            return sum(self._pending.values())

    def flush(self) -> int:
        """Add the buffered counts to the database; on failure keep them for the next try.

        The buffer is swapped for an empty one under the lock, so downloads counted
        during the write go to the next flush; if the write fails, the taken counts are
        merged back. Returns how many downloads were stored."""
        with self._lock:
            taken, self._pending = self._pending, Counter()
            if self.dedup_seconds > 0:
                self._forget_expired(self.clock.now())
        if not taken:
            return 0
        try:
            with self.database.session() as session:
                stored = DownloadsService(session, self.clock).add_counts(taken)
                session.commit()  # a background flush owns its transaction
        except BaseException:
            with self._lock:
                self._pending.update(taken)
            if self.instruments is not None:
                self.instruments.flush_failures.inc()
            raise
        return stored


def _message(address: str, user_agent: str, version_id: int) -> bytes:
    """What a fingerprint hashes: the source and the version."""
    return b"\x00".join(
        (address.encode(), user_agent.encode(errors="replace"), str(version_id).encode())
    )


class DownloadMiddleware:
    """Counts a download when a GET that `record`ed one got its whole 200 body sent."""

    def __init__(self, app: ASGIApp, recorder: DownloadRecorder) -> None:
        self.app = app
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":  # HEAD is not a download
            await self.app(scope, receive, send)
            return
        pending = _Pending()
        token = _current.set(pending)
        status = 0

        async def counting_send(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
            await send(message)
            if pending.version_id is None or status != 200:
                return
            if (kind == "http.response.body" and not message.get("more_body", False)) or (
                kind == "http.response.pathsend"
            ):
                version_id, pending.version_id = pending.version_id, None
                self._count(scope, version_id)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            _current.reset(token)

    def _count(self, scope: Scope, version_id: int) -> None:
        user_agent = ci = b""
        for name, value in scope.get("headers", ()):
            if name == b"user-agent":
                user_agent = value
            elif name == CI_HEADER:
                ci = value
        self.recorder.count(
            version_id,
            address=client_address(scope),  # a forwarded one only from a trusted proxy
            user_agent=user_agent.decode("latin-1"),
            ci=ci.strip().lower() in (b"1", b"true", b"yes"),
        )
