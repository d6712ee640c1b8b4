"""Yank and unyank: the soft delete of `docs/registry-rules.md`.

A yanked version is never offered as latest or for new resolutions, but stays
downloadable by its exact version, so builds and lock files that pinned it keep working.
Moderation reuses `set_yanked` with a moderator as the actor.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from fpmreg.core.wire.index import MAX_YANK_REASON_LENGTH
from fpmreg.server.accounts.models import Scope
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.changes import ChangeCounter
from fpmreg.server.clock import Clock
from fpmreg.server.errors import Forbidden, InvalidInput
from fpmreg.server.events import record_event
from fpmreg.server.packages.models import Version
from fpmreg.server.packages.service import PackagesService
from fpmreg.server.transaction import after_commit

# The wire's bound (`fpmreg.core.wire.index`), so the API documents what is enforced.
MAX_REASON_LENGTH = MAX_YANK_REASON_LENGTH


class YankService:
    """Yank and unyank versions, in the caller's transaction (it commits)."""

    def __init__(
        self,
        session: Session,
        clock: Clock,
        packages: PackagesService,
        changes: ChangeCounter | None = None,
    ) -> None:
        self.session = session
        self.clock = clock
        self.packages = packages
        self.changes = changes

    def yank_with_token(
        self,
        accounts: AccountsService,
        token: str,
        namespace: str,
        name: str,
        version: str,
        *,
        yanked: bool,
        reason: str,
    ) -> Version:
        """Yank (or unyank) as the owner of a token with the `yank` scope."""
        grant = accounts.authorize_token(token, Scope.YANK, package=name)
        package = self.packages.get_package(namespace, name)
        if package.namespace_id != grant.namespace.id:
            raise Forbidden(
                "token-namespace",
                f"the token is for namespace `{grant.namespace.name}`, not "
                f"`{package.namespace.name}`",
                "authorization",
            )
        return self.set_yanked(
            grant.user.id, namespace, name, version, yanked=yanked, reason=reason
        )

    def set_yanked(
        self, actor_id: int, namespace: str, name: str, version: str, *, yanked: bool, reason: str
    ) -> Version:
        """Set a version's yanked flag, record why, and refresh what "latest" means."""
        reason = reason.strip()
        if yanked and not reason:
            raise InvalidInput(
                "yank-reason-missing",
                "say why the version is yanked (users see it), e.g. `--reason "
                '"miscompiles with gfortran 13"`',
                "reason",
            )
        if len(reason) > MAX_REASON_LENGTH:
            raise InvalidInput(
                "yank-reason-too-long",
                f"the reason is over {MAX_REASON_LENGTH} characters",
                "reason",
            )
        package = self.packages.get_package(namespace, name)
        row = self.packages.get_version(package, version)
        if row.yanked == yanked:
            return row  # idempotent: yanking twice is not an error
        row.yanked = yanked
        row.yank_reason = reason if yanked else ""
        self.session.flush()
        self.packages.refresh_package(package)
        record_event(
            self.session,
            at=self.clock.now(),
            actor_id=actor_id,
            action="version.yank" if yanked else "version.unyank",
            subject=f"package:{package.namespace.name}/{package.name}@{row.version}",
            reason=reason,
        )
        self.session.flush()
        if self.changes is not None:
            after_commit(self.session, self.changes.bump)
        return row
