"""Named rate limits on the `limits` library: in memory, or shared by every process in Redis.

Each limit counts events per key in a fixed window that starts at the key's first
event; past `amount`, `RateLimited` carries the seconds until that window ends (the
`Retry-After` of the 429). Keys are principals (a user id, a canonical username) or
`client_key(address)`: a keyed hash, so no client address reaches Redis or a log.
Values and reasons: docs/operating.md, "Limits and proxies".
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import FixedWindowRateLimiter
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fpmreg.server.errors import RateLimited
from fpmreg.server.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

# Failed publish authentications (no token, unknown, expired or revoked) per client a
# minute: a mistyped token is fixed long before ten tries; a token-guessing or
# upload-flooding client is stopped before its bodies are read.
PUBLISH_AUTH_FAILURES_PER_MINUTE = 10
# Failed sign-ins per client a minute, over all accounts: one address spraying one
# password over many accounts.
LOGIN_FAILURES_PER_CLIENT_PER_MINUTE = 30
# Sign-ups per client an hour: a family or classroom behind one NAT fits, a script
# creating junk accounts does not (and no one else is blocked by it).
SIGNUPS_PER_CLIENT_PER_HOUR = 10
# Redis calls give up after this long; the limiter then counts in memory for a while.
REDIS_TIMEOUT_SECONDS = 0.5
# After a Redis failure, this many seconds pass before Redis is tried again.
REDIS_RETRY_SECONDS = 10
# Publish routes whose failed authentications are counted per client.
PUBLISH_PATHS = frozenset({"/packages", "/api/v1/packages"})


@dataclass(frozen=True)
class Limit:
    """A named limit: at most `amount` events per key in `seconds`."""

    name: str
    amount: int
    seconds: int
    what: str  # the events, plural, for the 429 message: "sign-in attempts"

    @property
    def item(self) -> RateLimitItem:
        """The `limits` item for this limit (its name is the key's namespace)."""
        return RateLimitItemPerSecond(self.amount, self.seconds, namespace=self.name)


@dataclass(frozen=True)
class Limits:
    """Every limit of one registry, from its settings."""

    publishes: Limit
    publish_auth_failures: Limit
    login_failures_per_account: Limit
    login_failures_per_client: Limit
    signups_per_client: Limit

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The limits with the values an operator set (or the defaults)."""
        return cls(
            publishes=Limit("publish", settings.publishes_per_minute, 60, "publishes"),
            publish_auth_failures=Limit(
                "publish-auth-fail",
                PUBLISH_AUTH_FAILURES_PER_MINUTE,
                60,
                "publish attempts with a missing or invalid token",
            ),
            login_failures_per_account=Limit(
                "login-fail-account", settings.login_attempts_per_minute, 60, "sign-in attempts"
            ),
            login_failures_per_client=Limit(
                "login-fail-client", LOGIN_FAILURES_PER_CLIENT_PER_MINUTE, 60, "sign-in attempts"
            ),
            signups_per_client=Limit("signup", SIGNUPS_PER_CLIENT_PER_HOUR, 3600, "sign-ups"),
        )


class RateLimiter:
    """Counts events against `Limit`s in one storage: this process's memory or Redis.

    When Redis fails, counting goes on in this process's memory (never unlimited, never
    refusing everyone) and Redis is tried again after `REDIS_RETRY_SECONDS`."""

    def __init__(self, settings: Settings) -> None:
        self.limits = Limits.from_settings(settings)
        self._memory = FixedWindowRateLimiter(MemoryStorage())
        self._shared: FixedWindowRateLimiter | None = None
        self._shared_down_until = 0.0
        if settings.redis_url:
            storage = RedisStorage(
                settings.redis_url,
                key_prefix=f"{settings.redis_key_prefix}:ratelimit",
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            self._shared = FixedWindowRateLimiter(storage)
        self._secret = hashlib.sha256(
            b"fpmreg rate-limit client key\x00" + settings.secret_key.encode()
        ).digest()

    def client_key(self, address: str) -> str:
        """A keyed hash of a client address, changing every UTC day; the address is
        dropped. The key is derived from the secret key, so every process agrees."""
        day = datetime.now(UTC).date().isoformat().encode()
        daily = hmac.digest(self._secret, day, "sha256")
        return hmac.digest(daily, address.encode(), "sha256")[:16].hex()

    def hit(self, limit: Limit, key: str) -> None:
        """Count one event for `key`; raise `RateLimited` once past the limit."""
        allowed = self._call(lambda s: s.hit(limit.item, key))
        if not allowed:
            raise self.refusal(limit, key)

    def check(self, limit: Limit, key: str) -> None:
        """Raise `RateLimited` if `key` has no event left, without counting one."""
        if not self._call(lambda s: s.test(limit.item, key)):
            raise self.refusal(limit, key)

    def refusal(self, limit: Limit, key: str) -> RateLimited:
        """The 429 for `key`, with the whole seconds until its window ends."""
        stats = self._call(lambda s: s.get_window_stats(limit.item, key))
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        return RateLimited(
            "rate-limited",
            f"too many {limit.what}: wait {wait} second(s) and try again",
            retry_after=wait,
        )

    def _call(self, action: Callable[[FixedWindowRateLimiter], T]) -> T:
        if self._shared is not None and time.monotonic() >= self._shared_down_until:
            try:
                return action(self._shared)
            except Exception as exc:  # any Redis failure: count locally instead
                self._shared_down_until = time.monotonic() + REDIS_RETRY_SECONDS
                log.warning(  # never the URL: it may hold a password
                    "rate limits: Redis failed (%s); counting in this process for %d s",
                    type(exc).__name__,
                    REDIS_RETRY_SECONDS,
                )
        return action(self._memory)


class BoundLimit:
    """One limit of a `RateLimiter`, called as `hit(key, what)` by the handlers."""

    def __init__(self, limiter: RateLimiter, limit: Limit) -> None:
        self.limiter = limiter
        self.limit = limit

    def hit(self, key: str, what: str = "") -> None:
        """Count one event for `key`; raise `RateLimited` once past the limit.

        `what` (the events, plural) overrides the limit's own word in the message."""
        limit = self.limit
        if what and what != limit.what:
            limit = Limit(limit.name, limit.amount, limit.seconds, what)
        self.limiter.hit(limit, key)


def client_address(scope: Scope) -> str:
    """The client's address as the app server gives it: the TCP peer, or the address a
    trusted proxy forwarded (`FPMREG_TRUSTED_PROXIES`, applied by `fpmreg-server run`)."""
    client = scope.get("client")
    return str(client[0]) if client else ""


class PublishAuthGuard:
    """Counts failed publish authentications (401s) per client and refuses that client's
    next publishes, before their bodies are read, once past the limit."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"].rstrip("/") not in PUBLISH_PATHS
        ):
            await self.app(scope, receive, send)
            return
        limit = self.limiter.limits.publish_auth_failures
        key = self.limiter.client_key(client_address(scope))
        try:
            self.limiter.check(limit, key)
        except RateLimited as refusal:
            from fpmreg.server.http import error_response

            response = error_response(Request(scope), refusal)
            response.headers["Connection"] = "close"  # the unread body is not wanted
            await response(scope, receive, send)
            return
        status = 0

        async def watching_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watching_send)
        if status == 401:
            # This attempt already has its 401; the next one gets the 429.
            with contextlib.suppress(RateLimited):
                self.limiter.hit(limit, key)
