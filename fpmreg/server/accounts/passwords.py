"""Passwords: check the current one, change it, and reset a forgotten one by email.

A reset link (`links.py`) is signed over a fingerprint of the current password hash:
once a new password is set with it, the hash changes and the link is dead, so it works
once. A reset ends every session of the user; a change ends every other one.
"""

from __future__ import annotations

from datetime import timedelta

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fpmreg.core.names import canonical_name
from fpmreg.core.problem import Problem
from fpmreg.server.accounts import links
from fpmreg.server.accounts.links import LinkState, Purpose
from fpmreg.server.accounts.models import User
from fpmreg.server.accounts.service import _DUMMY_HASH, _HASHER, email_key
from fpmreg.server.accounts.sessions import WebSessions
from fpmreg.server.accounts.strength import password_problems
from fpmreg.server.clock import Clock
from fpmreg.server.errors import InvalidInput
from fpmreg.server.events import Event, record_event
from fpmreg.server.jobs import enqueue
from fpmreg.server.mail import SEND_MAIL

# A reset link is good this long after it was mailed: long enough to find the mail.
RESET_LINK_TTL = timedelta(hours=1)
# Reset mails one account receives an hour, whoever asks and from wherever: past this the
# request is answered as always but sends nothing, so many clients cannot flood one
# mailbox (docs/accounts.md, "Forgotten passwords").
RESET_MAILS_PER_ACCOUNT_PER_HOUR = 3
_RESET_MAILED = "user.password-reset-mail"
# What a refused link says, by why it was refused; each says what to do.
RESET_REFUSALS = {
    LinkState.TAMPERED: (
        "link-invalid",
        "this reset link is not valid (it may have been cut short when copied): ask for a new one",
    ),
    LinkState.SUPERSEDED: (
        "link-used",
        "this reset link was already used, or the password changed since it was sent: "
        "ask for a new one if you still need it",
    ),
    LinkState.EXPIRED: (
        "link-expired",
        f"this reset link expired (links last {RESET_LINK_TTL.seconds // 3600} hour): "
        "ask for a new one",
    ),
}


def password_matches(user: User | None, password: str) -> bool:
    """Whether `password` is the user's; costs one argon2 check even without a user."""
    try:
        return bool(_HASHER.verify(user.password_hash if user else _DUMMY_HASH, password))
    except (VerificationError, InvalidHashError):
        return False


def current_password_problems(user: User, password: str) -> list[Problem]:
    """The problem when `password` is not the user's current one."""
    if password_matches(user, password):
        return []
    return [Problem("password-wrong", "current_password", "your current password is wrong")]


class Passwords:
    """Changing and resetting passwords, in one database session's transaction."""

    def __init__(
        self,
        session: Session,
        clock: Clock,
        *,
        secret_key: str,
        base_url: str,
        sessions: WebSessions,
    ) -> None:
        self.session = session
        self.clock = clock
        self.key = links.link_key(secret_key)
        self.base_url = base_url
        self.sessions = sessions

    def new_password_problems(self, user: User, password: str, again: str) -> list[Problem]:
        """Every problem with a new password and its repetition."""
        problems = password_problems(password, username=user.username, email=user.email)
        if password != again:
            problems.append(Problem("password-mismatch", "password2", "the two passwords differ"))
        return problems

    def _set(self, user: User, password: str, action: str) -> None:
        now = self.clock.now()
        user.password_hash = _HASHER.hash(password)
        user.password_changed_at = now
        record_event(
            self.session, at=now, actor_id=user.id, action=action, subject=f"user:{user.username}"
        )

    def change(self, user: User, current: str, password: str, again: str, keep: str) -> int:
        """Set a new password (the current one given); every other session ends.
        Returns how many sessions ended."""
        problems = current_password_problems(user, current)
        problems += self.new_password_problems(user, password, again)
        if problems:
            raise InvalidInput.of(problems)
        self._set(user, password, "user.password-change")
        return self.sessions.end_others(user, keep, record=False)

    # forgotten passwords ----------------------------------------------------

    def user_for_login(self, login: str) -> User | None:
        """The account a username or an email address names, if any."""
        login = login.strip()
        if "@" in login:
            query = select(User).where(User.email_canonical == email_key(login))
        else:
            query = select(User).where(User.canonical == canonical_name(login))
        user = self.session.scalar(query)
        return user if user is not None and user.deleted_at is None else None

    def forgot(self, login: str) -> None:
        """Mail a reset link to the account `login` names, if there is one. The caller
        answers the same either way; both ways sign a link (the same work)."""
        user = self.user_for_login(login)
        expires = self.clock.now() + RESET_LINK_TTL
        token = links.sign(
            self.key,
            Purpose.RESET_PASSWORD,
            user.id if user else 0,
            user.password_hash if user else _DUMMY_HASH,
            expires,
        )
        if user is None or self._reset_mails_last_hour(user) >= RESET_MAILS_PER_ACCOUNT_PER_HOUR:
            return
        record_event(
            self.session,
            at=self.clock.now(),
            actor_id=None,
            action=_RESET_MAILED,
            subject=f"user:{user.username}",
            data={"user_id": user.id},
        )
        url = f"{self.base_url}/password/reset?token={token}"
        body = (
            f"Hello {user.username},\n\n"
            "someone (we hope you) asked to reset the password of your account.\n"
            f"Choose a new password here, within {RESET_LINK_TTL.seconds // 3600} hour:\n\n"
            f"{url}\n\n"
            "The link works once. If you did not ask, ignore this mail: "
            "your password stays as it is.\n"
        )
        enqueue(
            self.session,
            SEND_MAIL,
            {"to": user.email, "subject": "Reset your password", "body": body},
            at=self.clock.now(),
        )

    def _reset_mails_last_hour(self, user: User) -> int:
        since = self.clock.now() - timedelta(hours=1)
        query = select(func.count(Event.id)).where(
            Event.action == _RESET_MAILED,
            Event.subject == f"user:{user.username}",
            Event.occurred_at >= since,
        )
        return int(self.session.scalar(query) or 0)

    def user_for_reset(self, token: str) -> User:
        """The user a reset link is for, or `InvalidInput` saying why it is refused."""
        link = links.parse(self.key, Purpose.RESET_PASSWORD, token)
        user = self.session.get(User, link.user_id) if link else None
        if link is None or user is None or user.deleted_at is not None:
            raise InvalidInput(*RESET_REFUSALS[LinkState.TAMPERED], "token")
        state = links.check(
            self.key, Purpose.RESET_PASSWORD, link, user.password_hash, self.clock.now()
        )
        if state is not LinkState.VALID:
            raise InvalidInput(*RESET_REFUSALS[state], "token")
        return user

    def reset(self, token: str, password: str, again: str) -> User:
        """Set a new password through a reset link; every session of the user ends."""
        user = self.user_for_reset(token)
        problems = self.new_password_problems(user, password, again)
        if problems:
            raise InvalidInput.of(problems)
        self._set(user, password, "user.password-reset")
        self.sessions.end_others(user, record=False)
        return user
