"""Email addresses: verify one with a signed link, change it (the password asked).

A verification link (`links.py`) is bound to the address it was sent to: once the
address changes, older links are refused ("superseded"). Until the address is
verified, the account cannot publish (`AccountsService.authorize_token`).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.problem import Problem
from fpmreg.server.accounts import links
from fpmreg.server.accounts.links import LinkState, Purpose
from fpmreg.server.accounts.models import User
from fpmreg.server.accounts.passwords import current_password_problems
from fpmreg.server.accounts.service import _EMAIL, email_key
from fpmreg.server.clock import Clock
from fpmreg.server.errors import Conflict, InvalidInput
from fpmreg.server.events import record_event
from fpmreg.server.jobs import enqueue
from fpmreg.server.mail import SEND_MAIL

# A verification link is good this long: a weekend away from the mailbox.
VERIFY_LINK_TTL = timedelta(hours=48)
MAX_EMAIL_CHARS = 254
_RESEND = "send a new link from your account page (/account)"
VERIFY_REFUSALS = {
    LinkState.TAMPERED: (
        "link-invalid",
        f"this verification link is not valid (it may have been cut short when copied): {_RESEND}",
    ),
    LinkState.SUPERSEDED: (
        "link-superseded",
        "this verification link was for an address your account no longer uses "
        f"(the address changed since it was sent): {_RESEND}",
    ),
    LinkState.EXPIRED: (
        "link-expired",
        f"this verification link expired (links last {VERIFY_LINK_TTL.days} days): {_RESEND}",
    ),
}


class Emails:
    """Verifying and changing users' addresses, in one database session's transaction."""

    def __init__(self, session: Session, clock: Clock, *, secret_key: str, base_url: str) -> None:
        self.session = session
        self.clock = clock
        self.key = links.link_key(secret_key)
        self.base_url = base_url

    def verification_link(self, user: User) -> str:
        """The URL that verifies the user's current address."""
        expires = self.clock.now() + VERIFY_LINK_TTL
        token = links.sign(self.key, Purpose.VERIFY_EMAIL, user.id, user.email_canonical, expires)
        return f"{self.base_url}/email/verify?token={token}"

    def send_verification(self, user: User) -> None:
        """Mail the verification link to the user's address (a `mail.send` job in the
        caller's transaction)."""
        body = (
            f"Hello {user.username},\n\n"
            "please confirm that this is your address by opening this link "
            f"within {VERIFY_LINK_TTL.days} days:\n\n"
            f"{self.verification_link(user)}\n\n"
            "Until then your account cannot publish packages. "
            "If you did not sign up, ignore this mail.\n"
        )
        enqueue(
            self.session,
            SEND_MAIL,
            {"to": user.email, "subject": "Verify your email address", "body": body},
            at=self.clock.now(),
        )

    def verify(self, token: str) -> User:
        """Mark the address of a link verified; `InvalidInput` says why a link is refused."""
        link = links.parse(self.key, Purpose.VERIFY_EMAIL, token)
        user = self.session.get(User, link.user_id) if link else None
        if link is None or user is None or user.deleted_at is not None:
            raise InvalidInput(*VERIFY_REFUSALS[LinkState.TAMPERED], "token")
        now = self.clock.now()
        state = links.check(self.key, Purpose.VERIFY_EMAIL, link, user.email_canonical, now)
        if state is not LinkState.VALID:
            raise InvalidInput(*VERIFY_REFUSALS[state], "token")
        if user.email_verified_at is None:
            user.email_verified_at = now
            self._record(user, "user.email-verify")
        return user

    def change(self, user: User, new_email: str, password: str) -> None:
        """Change the user's address (their password asked); the new one is unverified
        until its link is followed, and the old one is told of the change."""
        new_email = new_email.strip()
        problems = current_password_problems(user, password)
        problems += self._address_problems(user, new_email)
        if problems:
            conflict = any(p.code == "email-taken" for p in problems) and len(problems) == 1
            raise (Conflict if conflict else InvalidInput).of(problems)
        old = user.email
        user.email, user.email_canonical = new_email, email_key(new_email)
        user.email_verified_at = None
        self.session.flush()
        self._record(user, "user.email-change")
        self.send_verification(user)
        enqueue(
            self.session,
            SEND_MAIL,
            {
                "to": old,
                "subject": "Your email address was changed",
                "body": f"Hello {user.username},\n\nthe email address of your account was "
                "changed to another one. If you did not do this, reset your password at "
                f"{self.base_url}/password/forgot and tell the registry's operators.\n",
            },
            at=self.clock.now(),
        )

    def _address_problems(self, user: User, email: str) -> list[Problem]:
        if not _EMAIL.match(email) or len(email) > MAX_EMAIL_CHARS:
            return [Problem("email-invalid", "email", f"`{email}` is not an email address")]
        if email_key(email) == user.email_canonical:
            return [Problem("email-unchanged", "email", "this is already your address")]
        taken = self.session.scalar(
            select(User.id).where(User.email_canonical == email_key(email), User.id != user.id)
        )
        if taken is not None:
            return [Problem("email-taken", "email", "another account uses this email address")]
        return []

    def _record(self, user: User, action: str) -> None:
        record_event(
            self.session,
            at=self.clock.now(),
            actor_id=user.id,
            action=action,
            subject=f"user:{user.username}",
        )
