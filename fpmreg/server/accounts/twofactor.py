"""Two-factor sign-in: TOTP enrolment (RFC 6238), codes, recovery codes, namespace rule.

A user enrols by scanning a QR code of an `otpauth://` URI and confirming one code;
then every sign-in asks for a current code or one of ten single-use recovery codes.
A time step is accepted once: `users.totp_last_step` only grows, so a code seen over a
shoulder or replayed from a log is refused even inside its 30 seconds. Recovery codes
are stored only as hashes. Design and reasons: docs/accounts-2fa.md.

The service flushes; the caller owns the transaction (`docs/architecture.md`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from fpmreg.server.accounts.models import Namespace, RecoveryCode, User
from fpmreg.server.clock import Clock
from fpmreg.server.errors import Conflict, Forbidden, InvalidInput, Unauthenticated
from fpmreg.server.events import record_event

ISSUER = "fpmreg"  # what authenticator apps show above the account name
# RFC 6238's defaults, which every authenticator app uses.
TOTP_PERIOD_SECONDS = 30
TOTP_DIGITS = 6
# Steps either side of now that are accepted: a phone clock 30 s off still works.
TOTP_DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
# 10 base32 characters are 50 bits: far past guessing within the rate limit, short
# enough to type from paper. Shown as `xxxxx-xxxxx`.
RECOVERY_CODE_LENGTH = 10
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
SETUP_URL = "/account/2fa/setup"
_HASHER = PasswordHasher()


class SecondFactorRefused(Unauthenticated):
    """A TOTP or recovery code was not accepted (401); the message says why."""


def format_recovery_code(raw: str) -> str:
    """`abcdefghij` as it is shown and printed: `abcde-fghij`."""
    half = RECOVERY_CODE_LENGTH // 2
    return f"{raw[:half]}-{raw[half:]}"


def _normalize(code: str) -> str:
    """What the user typed, without spaces and dashes, lower case."""
    return "".join(code.split()).replace("-", "").lower()


def _recovery_hash(user_id: int, normalized: str) -> str:
    # The user id salts the hash: the same code of two users never shares a row.
    message = f"fpmreg recovery code v1\x00{user_id}\x00{normalized}".encode()
    return hashlib.sha256(message).hexdigest()


def has_second_factor(user: User) -> bool:
    """Whether the user confirmed a TOTP enrolment (sign-in then asks for a code)."""
    return user.totp_enabled_at is not None and bool(user.totp_secret)


def require_second_factor_for(user: User, namespace: Namespace) -> None:
    """Refuse (403 `2fa-required`) a member without two-factor sign-in of a namespace that
    requires it: called before a token is created or a version published from the web."""
    if namespace.require_2fa and not has_second_factor(user):
        raise Forbidden(
            "2fa-required",
            f"namespace `{namespace.name}` requires two-factor sign-in of its members: "
            f"set it up at {SETUP_URL}, then try again",
            "namespace",
        )


def qr_svg(uri: str) -> str:
    """The QR code of `uri` as an inline `<svg>` element (no script, no external file)."""
    qr = segno.make(uri, error="m")
    svg: str = qr.svg_inline(scale=5, dark="#000", light="#fff", title="QR code to scan")
    return svg


class TwoFactorService:
    """Enrolment, code checks and recovery codes of one user, in one session's transaction."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    # enrolment -----------------------------------------------------------

    def begin_enrolment(self, user: User) -> str:
        """The secret to enrol (kept, not yet enabled); the same one until confirmed."""
        if has_second_factor(user):
            raise Conflict("2fa-enabled", "two-factor sign-in is already on for your account")
        if not user.totp_secret:
            user.totp_secret = pyotp.random_base32()  # 160 bits, as RFC 4226 recommends
            self.session.flush()
        return user.totp_secret

    def provisioning_uri(self, user: User, issuer: str = ISSUER) -> str:
        """The `otpauth://totp/…` URI the QR code holds: issuer, username and secret."""
        totp = pyotp.TOTP(user.totp_secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD_SECONDS)
        return totp.provisioning_uri(name=user.username, issuer_name=issuer)

    def confirm_enrolment(self, user: User, code: str) -> list[str]:
        """Turn two-factor sign-in on once `code` matches; returns the ten recovery codes
        (shown once)."""
        if has_second_factor(user):
            raise Conflict("2fa-enabled", "two-factor sign-in is already on for your account")
        if not user.totp_secret:
            raise InvalidInput("2fa-not-started", f"start the setup at {SETUP_URL} first", "code")
        self._accept_totp(user, code)
        user.totp_enabled_at = self.clock.now()
        codes = self._new_recovery_codes(user)
        self._event(user, "user.2fa-enable")
        return codes

    def disable(self, user: User, password: str, code: str) -> None:
        """Turn two-factor sign-in off: needs the password and a current (or recovery) code."""
        self._require_enabled(user)
        try:
            _HASHER.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError) as exc:
            raise Unauthenticated(
                "password-wrong",
                "the password is not right: enter your current password",
                "password",
            ) from exc
        self.verify(user, code)
        user.totp_secret = ""
        user.totp_enabled_at = None
        user.totp_last_step = 0
        self.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        self._event(user, "user.2fa-disable")
        self.session.flush()

    def regenerate_recovery_codes(self, user: User, code: str) -> list[str]:
        """Replace every recovery code (the old ones stop working); needs a current code."""
        self._require_enabled(user)
        self.verify(user, code)
        codes = self._new_recovery_codes(user)
        self._event(user, "user.recovery-codes-regenerate")
        return codes

    def recovery_codes_left(self, user: User) -> int:
        """How many unused recovery codes the user has."""
        count = self.session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        return int(count or 0)

    # checking codes ------------------------------------------------------

    def verify(self, user: User, code: str) -> str:
        """Accept a current TOTP code or an unused recovery code, or `SecondFactorRefused`.

        Returns which kind was used: `"totp"` or `"recovery"`."""
        self._require_enabled(user)
        normalized = _normalize(code)
        if not normalized:
            raise SecondFactorRefused(
                "2fa-code-missing",
                "enter the 6-digit code from your authenticator app, or a recovery code",
                "code",
            )
        if normalized.isdigit() and len(normalized) == TOTP_DIGITS:
            self._accept_totp(user, normalized)
            return "totp"
        self._accept_recovery_code(user, normalized)
        return "recovery"

    def _accept_totp(self, user: User, code: str) -> None:
        normalized = _normalize(code)
        totp = pyotp.TOTP(user.totp_secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD_SECONDS)
        now_step = int(self.clock.now().timestamp()) // TOTP_PERIOD_SECONDS
        matched = [
            step
            for step in range(now_step - TOTP_DRIFT_STEPS, now_step + TOTP_DRIFT_STEPS + 1)
            if hmac.compare_digest(totp.at(step * TOTP_PERIOD_SECONDS), normalized)
        ]
        if not matched:
            raise SecondFactorRefused(
                "2fa-code-wrong",
                "the code is not right: enter the 6-digit code your authenticator app "
                "shows now (check that the phone's clock is set automatically)",
                "code",
            )
        step = max(matched)
        # Only a step after the last accepted one counts; the conditional update makes
        # two requests racing with one code accept it once.
        taken = self.session.execute(
            update(User)
            .where(User.id == user.id, User.totp_last_step < step)
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        if getattr(taken, "rowcount", 0) != 1:
            raise SecondFactorRefused(
                "2fa-code-reused",
                "this code was already used: wait for the next code from your "
                f"authenticator app (a new one every {TOTP_PERIOD_SECONDS} seconds)",
                "code",
            )
        user.totp_last_step = step
        self.session.flush()

    def _accept_recovery_code(self, user: User, normalized: str) -> None:
        row = self.session.scalar(
            select(RecoveryCode).where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == _recovery_hash(user.id, normalized),
            )
        )
        if row is None:
            raise SecondFactorRefused(
                "2fa-code-wrong",
                "the code is not right: enter the 6-digit code from your authenticator "
                "app, or one of your recovery codes as printed (`xxxxx-xxxxx`)",
                "code",
            )
        now = self.clock.now()
        taken = self.session.execute(
            update(RecoveryCode)
            .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(taken, "rowcount", 0) != 1:
            raise SecondFactorRefused(
                "2fa-recovery-code-used",
                "this recovery code was already used: each one works once; "
                "enter another one, or the code from your authenticator app",
                "code",
            )
        self._event(user, "user.recovery-code-use", data={"left": self.recovery_codes_left(user)})

    # helpers -------------------------------------------------------------

    def _require_enabled(self, user: User) -> None:
        if not has_second_factor(user):
            raise Conflict(
                "2fa-not-enabled",
                f"two-factor sign-in is off for your account: set it up at {SETUP_URL}",
            )

    def _new_recovery_codes(self, user: User) -> list[str]:
        self.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        now = self.clock.now()
        raw = [
            "".join(secrets.choice(_BASE32) for _ in range(RECOVERY_CODE_LENGTH))
            for _ in range(RECOVERY_CODE_COUNT)
        ]
        self.session.add_all(
            RecoveryCode(user_id=user.id, code_hash=_recovery_hash(user.id, r), created_at=now)
            for r in raw
        )
        self.session.flush()
        return [format_recovery_code(r) for r in raw]

    def _event(self, user: User, action: str, data: dict[str, object] | None = None) -> None:
        record_event(
            self.session,
            at=self.clock.now(),
            actor_id=user.id,
            action=action,
            subject=f"user:{user.username}",
            data=dict(data or {}),
        )

    # the namespace rule --------------------------------------------------

    def set_namespace_requirement(
        self, actor: User, namespace: Namespace, *, required: bool, is_admin_of: bool
    ) -> None:
        """Require (or stop requiring) two-factor sign-in of every member of a namespace;
        `is_admin_of`: the actor is an admin of it (or a site admin)."""
        if not is_admin_of:
            raise Forbidden(
                "not-namespace-admin",
                f"only admins of `{namespace.name}` can change its two-factor rule",
            )
        if namespace.require_2fa == required:
            return
        namespace.require_2fa = required
        record_event(
            self.session,
            at=self.clock.now(),
            actor_id=actor.id,
            action="namespace.require-2fa",
            subject=f"namespace:{namespace.name}",
            data={"required": required},
        )
        self.session.flush()


def step_at(moment: datetime) -> int:
    """The TOTP time step of `moment` (tests and docs)."""
    return int(moment.timestamp()) // TOTP_PERIOD_SECONDS
