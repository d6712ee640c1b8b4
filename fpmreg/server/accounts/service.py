"""Accounts: sign-up, sign-in, sessions, namespaces, members and API tokens.

The service flushes; the caller owns the transaction and commits it (`docs/architecture.md`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fpmreg.core.names import canonical_name, confusable_name, name_problems
from fpmreg.server.accounts.models import (
    ApiToken,
    Membership,
    Namespace,
    Role,
    Scope,
    User,
    WebSession,
)
from fpmreg.server.accounts.tokens import (
    NoPackages,
    PackagesView,
    check_token_holder,
    may_use,
    verify_secret,
)
from fpmreg.server.accounts.twofactor import require_second_factor_for
from fpmreg.server.clock import Clock
from fpmreg.server.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from fpmreg.server.events import record_event

# NIST SP 800-63B asks for at least 8; 10 keeps out the most common short ones.
MIN_PASSWORD_LENGTH = 10
# argon2 cost grows with length; nobody types more than this.
MAX_PASSWORD_LENGTH = 1024
MAX_DESCRIPTION_LENGTH = 2000
MAX_TOKEN_NAME_LENGTH = 64
# Token secrets use only `[A-Za-z0-9_-]` (`token_urlsafe`), which survive fpm's
# unquoted `curl -F` command line (docs/api-design.md, "tokens").
TOKEN_PREFIX = "fpmreg_"  # noqa: S105 - a public marker, not a secret
TOKEN_BYTES = 32
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_HASHER = PasswordHasher()
# Verified against when a username is unknown, so both paths cost the same.
_DUMMY_HASH = _HASHER.hash("not a real password")


def hash_secret(secret: str) -> str:
    """The stored form of a high-entropy secret (token or session cookie)."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What a verified token allows: its owner, in one namespace, maybe one package."""

    token_id: int
    user: User
    namespace: Namespace
    package_name: str
    scopes: frozenset[Scope]
    token_name: str = ""

    def check_package(self, package: str) -> None:
        """Refuse `package` if the token is limited to another package."""
        if self.package_name and canonical_name(self.package_name) != canonical_name(package):
            raise Forbidden(
                "token-package",
                f"the token `{self.token_name}` is limited to package "
                f"`{self.namespace.name}/{self.package_name}`, not `{package}`",
                "upload_token",
            )


def email_key(email: str) -> str:
    """The form of an address that is unique per account."""
    return email.strip().lower()


class AccountsService:
    """Operations on users, sessions, namespaces and tokens, in one session's transaction."""

    def __init__(
        self,
        session: Session,
        clock: Clock,
        *,
        session_days: int = 14,
        max_token_days: int = 366,
        packages: PackagesView | None = None,
    ) -> None:
        self.session = session
        self.clock = clock
        self.session_days = session_days
        self.max_token_days = max_token_days
        self.packages_view: PackagesView = packages or NoPackages()

    # users ---------------------------------------------------------------

    def create_user(
        self, username: str, email: str, password: str, *, is_admin: bool = False
    ) -> User:
        """Register a user; every problem with the input is reported at once."""
        problems = name_problems(username, field="username", what="user")
        if not _EMAIL.match(email) or len(email) > 254:
            problems += InvalidInput(
                "email-invalid", f"`{email}` is not an email address", "email"
            ).problems
        if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
            problems += InvalidInput(
                "password-too-short",
                f"the password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters",
                "password",
            ).problems
        if problems:
            raise InvalidInput.of(problems)
        if self.user_by_name(username) is not None:
            raise Conflict("username-taken", f"the username `{username}` is taken", "username")
        self._refuse_confusable_user(username)
        if self.session.scalar(select(User.id).where(User.email_canonical == email_key(email))):
            raise Conflict("email-taken", "another account uses this email address", "email")
        user = User(
            username=username,
            canonical=canonical_name(username),
            confusable=confusable_name(username),
            email=email,
            email_canonical=email_key(email),
            password_hash=_HASHER.hash(password),
            is_admin=is_admin,
            created_at=self.clock.now(),
        )
        try:
            with self.session.begin_nested():  # a lost race leaves the session usable
                self.session.add(user)
                self.session.flush()
        except IntegrityError as exc:
            raise Conflict(
                "username-taken", f"the username `{username}` is taken", "username"
            ) from exc
        record_event(
            self.session,
            at=self.clock.now(),
            actor_id=user.id,
            action="user.create",
            subject=f"user:{username}",
            data={"admin": is_admin},
        )
        return user

    def _refuse_confusable_user(self, username: str) -> None:
        twin = self.session.scalar(
            select(User.username).where(User.confusable == confusable_name(username)).limit(1)
        )
        if twin is not None:
            raise Conflict(
                "username-confusable",
                f"the username `{username}` is too easily confused with the existing user "
                f"`{twin}`: choose a more distinct name",
                "username",
            )

    def user_by_name(self, username: str) -> User | None:
        """The user with this name (case, `-` and `_` ignored), if any."""
        return self.session.scalar(select(User).where(User.canonical == canonical_name(username)))

    def authenticate(self, username: str, password: str) -> User:
        """The user whose credentials these are, or `Unauthenticated`."""
        user = self.user_by_name(username)
        try:
            _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            user = None
        if user is None:
            raise Unauthenticated("login-failed", "wrong username or password")
        user.last_login_at = self.clock.now()
        return user

    # web sessions --------------------------------------------------------

    def start_session(self, user: User) -> str:
        """Open a browser session; returns the cookie value (stored only hashed)."""
        secret = secrets.token_urlsafe(32)
        now = self.clock.now()
        self.session.add(
            WebSession(
                token_hash=hash_secret(secret),
                user_id=user.id,
                created_at=now,
                expires_at=now + timedelta(days=self.session_days),
            )
        )
        return secret

    def user_for_session(self, secret: str) -> User | None:
        """The signed-in user of a session cookie, if it is valid and unexpired."""
        row = self.session.scalar(
            select(WebSession).where(WebSession.token_hash == hash_secret(secret))
        )
        if row is None or row.expires_at <= self.clock.now():
            return None
        return row.user

    def end_session(self, secret: str) -> None:
        """Sign out: the cookie stops working at once."""
        row = self.session.scalar(
            select(WebSession).where(WebSession.token_hash == hash_secret(secret))
        )
        if row is not None:
            self.session.delete(row)

    # namespaces ----------------------------------------------------------

    def namespace_by_name(self, name: str) -> Namespace | None:
        """The namespace with this name (case, `-` and `_` ignored), if any."""
        return self.session.scalar(
            select(Namespace).where(Namespace.canonical == canonical_name(name))
        )

    def get_namespace(self, name: str) -> Namespace:
        """The namespace, or `NotFound`."""
        namespace = self.namespace_by_name(name)
        if namespace is None:
            raise NotFound("namespace-not-found", f"namespace `{name}` does not exist", "namespace")
        return namespace

    def create_namespace(self, user: User, name: str, description: str = "") -> Namespace:
        """Create a namespace; its creator becomes its admin."""
        problems = name_problems(name, field="name", what="namespace")
        if len(description) > MAX_DESCRIPTION_LENGTH:
            problems += InvalidInput(
                "description-too-long",
                f"the description is over {MAX_DESCRIPTION_LENGTH} characters",
                "description",
            ).problems
        if problems:
            raise InvalidInput.of(problems)
        if self.namespace_by_name(name) is not None:
            raise Conflict("namespace-taken", f"the namespace `{name}` is taken", "name")
        self._refuse_confusable_namespace(name)
        now = self.clock.now()
        namespace = Namespace(
            name=name,
            canonical=canonical_name(name),
            confusable=confusable_name(name),
            description=description,
            created_at=now,
            created_by_id=user.id,
        )
        try:
            with self.session.begin_nested():  # a lost race leaves the session usable
                self.session.add(namespace)
                self.session.flush()
        except IntegrityError as exc:
            raise Conflict("namespace-taken", f"the namespace `{name}` is taken", "name") from exc
        self.session.add(
            Membership(namespace_id=namespace.id, user_id=user.id, role=Role.ADMIN, created_at=now)
        )
        record_event(
            self.session,
            at=now,
            actor_id=user.id,
            action="namespace.create",
            subject=f"namespace:{name}",
        )
        return namespace

    def _refuse_confusable_namespace(self, name: str) -> None:
        twin = self.session.scalar(
            select(Namespace.name).where(Namespace.confusable == confusable_name(name)).limit(1)
        )
        if twin is not None:
            raise Conflict(
                "namespace-confusable",
                f"the namespace `{name}` is too easily confused with the existing namespace "
                f"`{twin}`: choose a more distinct name",
                "name",
            )

    def role_of(self, user: User, namespace: Namespace) -> Role | None:
        """The user's role in the namespace, if a member."""
        row = self.session.get(Membership, (namespace.id, user.id))
        return Role(row.role) if row else None

    def members(self, namespace: Namespace) -> list[Membership]:
        """Members of a namespace, admins first."""
        rows = self.session.scalars(
            select(Membership).where(Membership.namespace_id == namespace.id)
        ).all()
        return sorted(rows, key=lambda m: (m.role != Role.ADMIN, m.user.username.lower()))

    def namespaces_of(self, user: User) -> list[Membership]:
        """The namespaces a user belongs to."""
        rows = self.session.scalars(select(Membership).where(Membership.user_id == user.id)).all()
        return sorted(rows, key=lambda m: m.namespace.name.lower())

    def _require_admin(self, actor: User, namespace: Namespace) -> None:
        if not actor.is_admin and self.role_of(actor, namespace) is not Role.ADMIN:
            raise Forbidden(
                "not-namespace-admin", f"only admins of `{namespace.name}` can manage its members"
            )

    def add_member(
        self, actor: User, namespace: Namespace, username: str, role: Role
    ) -> Membership:
        """Add a user to a namespace (or change their role); namespace admins only."""
        self._require_admin(actor, namespace)
        user = self.user_by_name(username)
        if user is None:
            raise NotFound("user-not-found", f"there is no user `{username}`", "username")
        row = self.session.get(Membership, (namespace.id, user.id))
        if row is None:
            row = Membership(
                namespace_id=namespace.id, user_id=user.id, role=role, created_at=self.clock.now()
            )
            self.session.add(row)
        else:
            self._keep_an_admin(namespace, user, role)
            row.role = role
        record_event(
            self.session,
            at=self.clock.now(),
            actor_id=actor.id,
            action="member.set",
            subject=f"namespace:{namespace.name}",
            data={"user": user.username, "role": str(role)},
        )
        self.session.flush()
        return row

    def _keep_an_admin(self, namespace: Namespace, user: User, new_role: Role | None) -> None:
        admins = [m for m in self.members(namespace) if m.role == Role.ADMIN]
        if new_role is not Role.ADMIN and [m.user_id for m in admins] == [user.id]:
            raise Conflict(
                "last-admin",
                f"`{user.username}` is the last admin of `{namespace.name}`: "
                "make someone else admin first",
            )

    def remove_member(self, actor: User, namespace: Namespace, username: str) -> None:
        """Remove a user from a namespace; their tokens for it stop working."""
        self._require_admin(actor, namespace)
        user = self.user_by_name(username)
        row = self.session.get(Membership, (namespace.id, user.id)) if user else None
        if user is None or row is None:
            raise NotFound(
                "member-not-found", f"`{username}` is not a member of `{namespace.name}`"
            )
        self._keep_an_admin(namespace, user, None)
        self.session.delete(row)
        record_event(
            self.session,
            at=self.clock.now(),
            actor_id=actor.id,
            action="member.remove",
            subject=f"namespace:{namespace.name}",
            data={"user": user.username},
        )

    # API tokens ----------------------------------------------------------

    def create_token(
        self,
        user: User,
        *,
        name: str,
        scopes: set[Scope],
        namespace: str,
        package: str = "",
        days: int = 90,
    ) -> tuple[str, ApiToken]:
        """Create a token; returns the secret (shown once) and its stored row."""
        problems = []
        if not name.strip() or len(name) > MAX_TOKEN_NAME_LENGTH:
            problems += InvalidInput(
                "token-name-invalid",
                f"give the token a name of 1 to {MAX_TOKEN_NAME_LENGTH} characters",
                "name",
            ).problems
        if not scopes:
            problems += InvalidInput(
                "token-scope-missing", "choose at least one scope", "scopes"
            ).problems
        if not 1 <= days <= self.max_token_days:
            problems += InvalidInput(
                "token-expiry-invalid",
                f"the expiry must be 1 to {self.max_token_days} days",
                "days",
            ).problems
        if package:
            problems += name_problems(package, field="package", what="package")
        if problems:
            raise InvalidInput.of(problems)
        ns = self.get_namespace(namespace)
        check_token_holder(self, user, ns, package, scopes)
        require_second_factor_for(user, ns)  # the namespace may require 2FA (twofactor.py)
        if self.session.scalar(
            select(ApiToken.id).where(ApiToken.user_id == user.id, ApiToken.name == name)
        ):
            raise Conflict("token-name-taken", f"you already have a token named `{name}`", "name")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
        now = self.clock.now()
        token = ApiToken(
            user_id=user.id,
            name=name,
            prefix=secret[: len(TOKEN_PREFIX) + 4],
            token_hash=hash_secret(secret),
            scopes=",".join(sorted(scopes)),
            namespace_id=ns.id,
            package_name=package,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        self.session.add(token)
        self.session.flush()
        record_event(
            self.session,
            at=now,
            actor_id=user.id,
            action="token.create",
            subject=f"namespace:{ns.name}",
            data={"token": name, "scopes": token.scopes, "package": package},
        )
        return secret, token

    def tokens_of(self, user: User) -> list[ApiToken]:
        """A user's tokens, newest first (revoked ones included, marked)."""
        return list(
            self.session.scalars(
                select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
            ).all()
        )

    def revoke_token(self, user: User, token_id: int) -> ApiToken:
        """Revoke one of the user's tokens; it stops working at once."""
        token = self.session.get(ApiToken, token_id)
        if token is None or token.user_id != user.id:
            raise NotFound("token-not-found", "no such token among yours")
        if token.revoked_at is None:
            token.revoked_at = self.clock.now()
            record_event(
                self.session,
                at=token.revoked_at,
                actor_id=user.id,
                action="token.revoke",
                subject=f"namespace:{token.namespace.name}",
                data={"token": token.name},
            )
        return token

    def authorize_token(self, secret: str, scope: Scope, *, package: str | None) -> TokenGrant:
        """Check a token for `scope` on `package` (in the token's namespace), or raise.

        `package=None` skips the package check: a publish authenticates before it reads
        the archive, then calls `TokenGrant.check_package` with the manifest's name."""
        token = verify_secret(self.session, self.clock, secret, "upload_token")
        now = self.clock.now()
        if scope not in token.scope_set:
            raise Forbidden(
                "token-scope",
                f"the token `{token.name}` does not have the `{scope}` scope",
                "upload_token",
            )
        grant = TokenGrant(
            token.id,
            token.user,
            token.namespace,
            token.package_name,
            frozenset(token.scope_set),
            token.name,
        )
        if package is not None:
            grant.check_package(package)
        if not may_use(self, token):
            raise Forbidden(
                "token-not-member",
                f"the owner of token `{token.name}` is no longer "
                f"a member of `{token.namespace.name}`",
                "upload_token",
            )
        token.last_used_at = now
        return grant
