"""Leaving a namespace, and deleting one's account (kept as a tombstone).

A deleted account keeps its row: its canonical name stays in `users`, so the name can
never be registered again (impersonation); everything personal goes (email, password,
second factor), and every session and token stops working. Its packages stay in their
namespaces (docs/accounts-tokens.md, "Deleting an account").
"""

from __future__ import annotations

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update

from fpmreg.server.accounts.models import (
    ApiToken,
    Membership,
    Namespace,
    RecoveryCode,
    Role,
    User,
    UserRole,
    WebSession,
)
from fpmreg.server.accounts.service import _HASHER, AccountsService
from fpmreg.server.errors import Conflict, Forbidden, NotFound
from fpmreg.server.events import record_event

# Not an argon2 hash: every password check against it fails.
UNUSABLE_PASSWORD = "!deleted"  # noqa: S105 - a marker, not a secret


class Leaving:
    """Leave a namespace or delete an account, in the caller's transaction."""

    def __init__(self, accounts: AccountsService) -> None:
        self.accounts = accounts
        self.session = accounts.session
        self.clock = accounts.clock

    def leave_namespace(self, user: User, namespace: Namespace) -> None:
        """Leave `namespace`; refused for its last admin. The user's tokens for it stop
        working (they need a member)."""
        row = self.session.get(Membership, (namespace.id, user.id))
        if row is None:
            raise NotFound(
                "member-not-found", f"you are not a member of `{namespace.name}`", "namespace"
            )
        if row.role == Role.ADMIN and self._admin_ids(namespace) == [user.id]:
            raise Conflict(
                "last-admin",
                f"you are the last admin of `{namespace.name}`: make another member admin "
                "first, then leave",
                "namespace",
            )
        self.session.delete(row)
        record_event(
            self.session,
            at=self.clock.now(),
            actor_id=user.id,
            action="member.leave",
            subject=f"namespace:{namespace.name}",
            data={"user": user.username},
        )
        self.session.flush()

    def _admin_ids(self, namespace: Namespace) -> list[int]:
        return list(
            self.session.scalars(
                select(Membership.user_id).where(
                    Membership.namespace_id == namespace.id, Membership.role == Role.ADMIN
                )
            )
        )

    def blocking_namespaces(self, user: User) -> list[str]:
        """Namespaces with packages whose last admin is `user`: deletion waits for them."""
        blocking = []
        for membership in self.accounts.namespaces_of(user):
            namespace = membership.namespace
            if (
                membership.role == Role.ADMIN
                and self._admin_ids(namespace) == [user.id]
                and self.accounts.packages_view.has_packages(self.session, namespace.id)
            ):
                blocking.append(namespace.name)
        return blocking

    def delete_account(self, user: User, password: str) -> None:
        """Tombstone the account (the password confirms it is its owner)."""
        try:
            _HASHER.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            raise Forbidden(
                "password-wrong", "the password is wrong: the account was not deleted", "password"
            ) from None
        blocking = self.blocking_namespaces(user)
        if blocking:
            names = ", ".join(f"`{n}`" for n in blocking)
            raise Conflict(
                "last-admin",
                f"you are the last admin of {names}, which hold packages: make another member "
                "admin, or transfer the packages to another namespace, then delete the account",
            )
        self._wipe(user)

    def _wipe(self, user: User) -> None:
        now = self.clock.now()
        session = self.session
        user_id = user.id
        session.execute(delete(WebSession).where(WebSession.user_id == user_id))
        session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
        session.execute(delete(Membership).where(Membership.user_id == user_id))
        session.execute(delete(UserRole).where(UserRole.user_id == user_id))
        session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        self.accounts.packages_view.forget_user(session, user_id)
        user.deleted_at = now
        user.email = ""
        user.email_canonical = f"deleted-{user_id}"
        user.email_verified_at = None
        user.password_hash = UNUSABLE_PASSWORD
        user.totp_secret = ""
        user.totp_enabled_at = None
        user.totp_last_step = 0
        user.is_admin = False
        record_event(
            session,
            at=now,
            actor_id=user_id,
            action="user.delete",
            subject=f"user:{user.username}",
        )
        session.flush()
