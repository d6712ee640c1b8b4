"""Browser sessions: start, look up, list and end them (one cookie each, stored hashed).

The sessions list on the account page shows when each began, when it was last seen
(updated at most once a minute, so a page view costs no write) and a coarse label of
the browser (`Firefox on Linux`), never the client's address.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fpmreg.server.accounts.models import User, WebSession
from fpmreg.server.accounts.service import hash_secret
from fpmreg.server.clock import Clock
from fpmreg.server.errors import NotFound
from fpmreg.server.events import record_event

# `last_seen_at` is written at most this often per session.
LAST_SEEN_EVERY = timedelta(minutes=1)
# The width of `web_sessions.user_agent`.
MAX_LABEL_CHARS = 120
# First match wins: Edge and Opera say "Chrome" too, Chrome says "Safari" too.
_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("python-httpx/", "a script"),
    ("testclient", "a test client"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
    ("BSD", "BSD"),
)


def browser_label(user_agent: str) -> str:
    """`Firefox on Linux` from a User-Agent header; no version, nothing identifying."""
    browser = next((name for key, name in _BROWSERS if key in user_agent), "a browser")
    system = next((name for key, name in _SYSTEMS if key in user_agent), "")
    label = f"{browser} on {system}" if system else browser
    return label[:MAX_LABEL_CHARS]


class WebSessions:
    """A user's browser sessions, in one database session's transaction."""

    def __init__(self, session: Session, clock: Clock, *, session_days: int = 14) -> None:
        self.session = session
        self.clock = clock
        self.session_days = session_days

    def start(self, user: User, user_agent: str = "") -> str:
        """Open a browser session; returns the cookie value (stored only hashed)."""
        secret = secrets.token_urlsafe(32)
        now = self.clock.now()
        self.session.add(
            WebSession(
                token_hash=hash_secret(secret),
                user_id=user.id,
                created_at=now,
                expires_at=now + timedelta(days=self.session_days),
                last_seen_at=now,
                user_agent=browser_label(user_agent),
            )
        )
        return secret

    def find(self, secret: str) -> WebSession | None:
        """The unexpired session of a cookie, if any."""
        if not secret:
            return None
        row = self.session.scalar(
            select(WebSession).where(WebSession.token_hash == hash_secret(secret))
        )
        return row if row is not None and row.expires_at > self.clock.now() else None

    def user_for(self, secret: str) -> User | None:
        """The signed-in user of a session cookie, if it is valid and unexpired."""
        row = self.find(secret)
        if row is None:
            return None
        now = self.clock.now()
        if row.last_seen_at is None or now - row.last_seen_at >= LAST_SEEN_EVERY:
            row.last_seen_at = now  # at most one write a minute per session
        return row.user

    def end(self, secret: str) -> None:
        """Sign out: the cookie stops working at once."""
        row = self.find(secret)
        if row is not None:
            self.session.delete(row)

    def of(self, user: User) -> list[WebSession]:
        """The user's unexpired sessions, most recently seen first."""
        rows = self.session.scalars(
            select(WebSession).where(
                WebSession.user_id == user.id, WebSession.expires_at > self.clock.now()
            )
        ).all()
        return sorted(rows, key=lambda r: r.last_seen_at or r.created_at, reverse=True)

    def end_one(self, user: User, session_id: int) -> None:
        """End one of the user's sessions (another browser, a lost laptop)."""
        row = self.session.get(WebSession, session_id)
        if row is None or row.user_id != user.id:
            raise NotFound("session-not-found", "no such session among yours: reload the page")
        self.session.delete(row)
        self._record(user, "user.session-end", {"sessions": 1})

    def end_others(self, user: User, keep_secret: str = "", *, record: bool = True) -> int:
        """End every session of the user but the one of `keep_secret` (every one when
        empty); how many ended. `record=False`: the caller's own event says why."""
        query = delete(WebSession).where(WebSession.user_id == user.id)
        if keep_secret:
            query = query.where(WebSession.token_hash != hash_secret(keep_secret))
        ended = int(self.session.execute(query).rowcount)  # type: ignore[attr-defined]
        if record:
            self._record(user, "user.session-end", {"sessions": ended})
        return ended

    def _record(self, user: User, action: str, data: dict[str, object]) -> None:
        record_event(
            self.session,
            at=self.clock.now(),
            actor_id=user.id,
            action=action,
            subject=f"user:{user.username}",
            data=data,
        )
