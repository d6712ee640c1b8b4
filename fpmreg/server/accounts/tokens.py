"""API tokens as credentials: verifying a secret, who a caller is, and managing tokens
with a token (the `manage` scope) without ever gaining power (docs/accounts-tokens.md).

The packages domain sits above this one, so what accounts must know of packages (who
maintains which package, whether a namespace has packages) is asked of a small
`PackagesView` that the packages domain implements and `create_app` plugs in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.names import canonical_name
from fpmreg.server.accounts.models import ApiToken, Namespace, Scope, User
from fpmreg.server.clock import Clock
from fpmreg.server.errors import Forbidden, InvalidInput, NotFound, Unauthenticated

if TYPE_CHECKING:
    from fpmreg.server.accounts.service import AccountsService

# What `AccountsService.create_token` makes: the prefix and 43 URL-safe characters.
_TOKEN_SHAPE = re.compile(r"^fpmreg_[A-Za-z0-9_-]{43}$")
# A package maintainer (not a namespace member) may publish and yank that package only.
MAINTAINER_SCOPES = frozenset({Scope.PUBLISH, Scope.YANK})


class PackagesView(Protocol):
    """What the accounts domain asks of the packages domain (implemented there)."""

    def maintains(self, session: Session, user_id: int, namespace_id: int, package: str) -> bool:
        """Whether the user is a maintainer of `package` in the namespace."""
        ...

    def maintained(self, session: Session, user_id: int) -> list[tuple[Namespace, str]]:
        """The packages the user maintains, as (namespace, package name)."""
        ...

    def has_packages(self, session: Session, namespace_id: int) -> bool:
        """Whether the namespace holds any package."""
        ...

    def forget_user(self, session: Session, user_id: int) -> None:
        """Remove the user from every package's maintainers (account deletion)."""
        ...


class NoPackages:
    """The view without a packages domain (services built outside an app): no packages."""

    def maintains(self, session: Session, user_id: int, namespace_id: int, package: str) -> bool:
        return False

    def maintained(self, session: Session, user_id: int) -> list[tuple[Namespace, str]]:
        return []

    def has_packages(self, session: Session, namespace_id: int) -> bool:
        return False

    def forget_user(self, session: Session, user_id: int) -> None:
        return None


def verify_secret(session: Session, clock: Clock, secret: str, field: str) -> ApiToken:
    """The live token with this secret, or `Unauthenticated` saying what is wrong with
    it: missing, malformed, unknown, revoked (and when) or expired (and when)."""
    if not secret:
        raise Unauthenticated(
            "token-missing",
            "No token provided: pass an API token (create one on your account's token page)",
            field,
        )
    if not _TOKEN_SHAPE.fullmatch(secret):
        # The same code as an unknown token (clients match on it); the message says which.
        raise Unauthenticated(
            "token-invalid",
            "the token is not valid: it is malformed (an fpmreg token is `fpmreg_` and 43 "
            "letters, digits, `-` or `_`): check that you copied it whole",
            field,
        )
    from fpmreg.server.accounts.service import hash_secret  # service imports this module

    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
    if token is None or token.user.deleted_at is not None:
        raise Unauthenticated(
            "token-invalid",
            "the token is not valid: check that you copied it whole, or create a new one",
            field,
        )
    if token.revoked_at is not None:
        raise Unauthenticated(
            "token-revoked",
            f"the token `{token.name}` was revoked on {token.revoked_at:%Y-%m-%d}; "
            "create a new one at /account",
            field,
        )
    if token.expires_at <= clock.now():
        raise Unauthenticated(
            "token-expired",
            f"the token `{token.name}` expired on {token.expires_at:%Y-%m-%d}: "
            "create a new one at /account",
            field,
        )
    return token


def check_token_holder(
    accounts: AccountsService,
    user: User,
    namespace: Namespace,
    package: str,
    scopes: set[Scope],
) -> None:
    """Refuse a new token its owner could not use: members get any scope; a package
    maintainer who is not a member gets `publish`/`yank` limited to that package."""
    if accounts.role_of(user, namespace) is not None:
        return
    if package and accounts.packages_view.maintains(
        accounts.session, user.id, namespace.id, package
    ):
        if scopes <= MAINTAINER_SCOPES:
            return
        raise Forbidden(
            "token-scope-maintainer",
            f"as a maintainer of `{namespace.name}/{package}` your tokens may have the "
            "`publish` and `yank` scopes only",
            "scopes",
        )
    raise Forbidden(
        "not-namespace-member",
        f"you are not a member of namespace `{namespace.name}`"
        + (f" nor a maintainer of `{namespace.name}/{package}`" if package else ""),
        "namespace",
    )


def may_use(accounts: AccountsService, token: ApiToken) -> bool:
    """Whether the token's owner still belongs where the token points: a member of its
    namespace, or a maintainer of the one package it is limited to."""
    if accounts.role_of(token.user, token.namespace) is not None:
        return True
    return bool(token.package_name) and accounts.packages_view.maintains(
        accounts.session, token.user_id, token.namespace_id, token.package_name
    )


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling the API: a user, through a token or (`token is None`) a session."""

    user: User
    token: ApiToken | None = None

    def require_manage(self, namespace: Namespace, package: str | None = None) -> None:
        """Refuse a token without `manage` for `namespace` (and, when it is limited to
        one package, for anything but `package`). Sessions pass: the services check
        the user's own rights."""
        token = self.token
        if token is None:
            return
        if Scope.MANAGE not in token.scope_set:
            raise Forbidden(
                "token-scope",
                f"the token `{token.name}` does not have the `manage` scope",
                "authorization",
            )
        if token.namespace_id != namespace.id:
            raise Forbidden(
                "token-namespace",
                f"the token `{token.name}` is for namespace `{token.namespace.name}`, "
                f"not `{namespace.name}`",
                "authorization",
            )
        if token.package_name and (
            package is None or canonical_name(package) != canonical_name(token.package_name)
        ):
            raise Forbidden(
                "token-package",
                f"the token `{token.name}` is limited to package "
                f"`{namespace.name}/{token.package_name}`",
                "authorization",
            )


class TokenManager:
    """Token management through the API, by a session or a `manage` token."""

    def __init__(self, accounts: AccountsService) -> None:
        self.accounts = accounts
        self.session = accounts.session
        self.clock = accounts.clock

    def caller_for_token(self, secret: str) -> Caller:
        """The caller a bearer token stands for (any scope: `whoami` needs none)."""
        token = verify_secret(self.session, self.clock, secret, "authorization")
        token.last_used_at = self.clock.now()
        return Caller(token.user, token)

    def list_tokens(self, caller: Caller) -> list[ApiToken]:
        """The caller's tokens; a token sees only those of its own namespace."""
        tokens = self.accounts.tokens_of(caller.user)
        if caller.token is None:
            return tokens
        caller.require_manage(caller.token.namespace, caller.token.package_name or None)
        return [t for t in tokens if t.namespace_id == caller.token.namespace_id]

    def create_token(
        self,
        caller: Caller,
        *,
        name: str,
        scopes: list[str],
        namespace: str,
        package: str = "",
        days: int = 90,
    ) -> tuple[str, ApiToken]:
        """A new token of the caller's; a token can create one with no more power."""
        unknown = sorted(set(scopes) - set(Scope))
        if unknown:
            raise InvalidInput(
                "token-scope-unknown",
                f"unknown scope `{unknown[0]}`: choose from " + ", ".join(f"`{s}`" for s in Scope),
                "scopes",
            )
        wanted = {Scope(s) for s in scopes}
        if caller.token is not None:
            package = self._within(caller.token, wanted, namespace, package, days)
        return self.accounts.create_token(
            caller.user, name=name, scopes=wanted, namespace=namespace, package=package, days=days
        )

    def _within(
        self, token: ApiToken, wanted: set[Scope], namespace: str, package: str, days: int
    ) -> str:
        """Refuse a new token with more power than `token`; the package it keeps."""
        target = self.accounts.get_namespace(namespace)
        Caller(token.user, token).require_manage(target, token.package_name or package or None)
        extra = wanted - token.scope_set
        if extra:
            raise Forbidden(
                "token-escalation",
                f"the token `{token.name}` cannot give a scope it does not have: "
                + ", ".join(f"`{s}`" for s in sorted(extra)),
                "scopes",
            )
        if (
            token.package_name
            and package
            and canonical_name(package) != canonical_name(token.package_name)
        ):
            raise Forbidden(
                "token-escalation",
                f"the token `{token.name}` is limited to `{target.name}/{token.package_name}`: "
                "so is every token it creates",
                "package",
            )
        if self.clock.now() + timedelta(days=days) > token.expires_at:
            left = max(0, (token.expires_at - self.clock.now()).days)
            raise Forbidden(
                "token-escalation",
                f"the token `{token.name}` expires on {token.expires_at:%Y-%m-%d}: a token "
                f"it creates may last at most {left} days",
                "days",
            )
        return token.package_name or package

    def revoke_token(self, caller: Caller, token_id: int) -> ApiToken:
        """Revoke one of the caller's tokens (a token: only in its own namespace)."""
        row = self.session.get(ApiToken, token_id)
        if row is None or row.user_id != caller.user.id:
            raise NotFound("token-not-found", f"you have no token with id {token_id}", "id")
        if caller.token is not None:
            caller.require_manage(row.namespace, caller.token.package_name or None)
        return self.accounts.revoke_token(caller.user, token_id)
