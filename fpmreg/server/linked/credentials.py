"""Issue, serve and revoke the registry's verifiable credentials (docs/credentials.md).

A release whose build verification passes gets an Open Badges 3.0 credential signed by
the registry (`eddsa-rdfc-2022`), with a revocation entry in a Bitstring Status List the
registry serves and signs. Only build verification is attested: community policies
(issue 16) are not built. No HTTP here; the service flushes and its caller commits.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from fpmreg.core.versions import InvalidVersion, normalize_version
from fpmreg.server.builds.models import Build, BuildOutcome
from fpmreg.server.clock import Clock
from fpmreg.server.errors import InvalidInput, NotFound
from fpmreg.server.events import record_event
from fpmreg.server.federation.keys import RegistryKeys
from fpmreg.server.federation.models import LogEntry
from fpmreg.server.jobs import JobContext
from fpmreg.server.linked import credentials_documents as docs
from fpmreg.server.linked.credentials_models import KIND_BUILD, IssuedCredential
from fpmreg.server.linked.credentials_proof import sign
from fpmreg.server.packages.models import Version

log = logging.getLogger(__name__)
# Writes an unsigned credential: (release, validFrom, status list, index) -> document.
Unsigned = Callable[[docs.Release, str, int, int], dict[str, Any]]

CREDENTIAL_NOT_FOUND = "credential-not-found"
STATUS_LIST_NOT_FOUND = "status-list-not-found"
MAX_REASON_CHARS = 1000
REBUILD_REVOKES = "a later build of the release did not pass"


class CredentialsService:
    """The registry's credentials, in the caller's transaction; issuing and revoking
    are audited (`credential.issue`, `credential.revoke`, by the registry itself)."""

    def __init__(self, session: Session, clock: Clock, keys: RegistryKeys) -> None:
        self.session = session
        self.clock = clock
        self.keys = keys

    @property
    def base(self) -> str:
        return self.keys.registry

    def _sign(self, document: dict[str, Any], when: datetime) -> dict[str, Any]:
        method = docs.method_id(self.base, self.keys.multikeys()[0])
        return sign(document, self.keys.current, method, docs.stamp(when))

    def controller_document(self) -> dict[str, Any]:
        """The issuer's Profile and controller document (every key, current first)."""
        return docs.controller_document(self.base, self.keys.multikeys())

    def active_build_credential(self, version_id: int) -> IssuedCredential | None:
        """The version's build credential that is not revoked, if any."""
        return self.session.scalar(
            select(IssuedCredential).where(
                IssuedCredential.version_id == version_id,
                IssuedCredential.kind == KIND_BUILD,
                IssuedCredential.revoked_at.is_(None),
            )
        )

    def _next_slot(self) -> tuple[int, int]:
        """The next free (status list, index): lists fill one after another."""
        last = self.session.execute(
            select(IssuedCredential.status_list, IssuedCredential.status_index)
            .order_by(IssuedCredential.status_list.desc(), IssuedCredential.status_index.desc())
            .limit(1)
        ).first()
        if last is None:
            return 1, 0
        if last[1] + 1 >= docs.STATUS_LIST_LENGTH:
            return last[0] + 1, 0
        return last[0], last[1] + 1

    def _log_index(self, purl: str) -> int | None:
        """The transparency log entry of the release's publication record."""
        return self.session.scalar(
            select(func.max(LogEntry.index)).where(
                LogEntry.action == "version.publish", LogEntry.subject == purl
            )
        )

    def release(self, version: Version) -> docs.Release:
        """What a credential says about `version` (its package loaded)."""
        namespace, package = version.package.namespace.name, version.package.name
        return docs.Release(
            namespace=namespace,
            package=package,
            version=version.version,
            sha256=version.sha256,
            build_page=f"{self.base}/project/{namespace}/{package}/{version.version}",
            log_index=self._log_index(f"pkg:fpm/{namespace}/{package}@{version.version}"),
        )

    def issue(
        self, version: Version, kind: str, build: Unsigned, *, community: str = "",
        policy: str = "",
    ) -> IssuedCredential:  # fmt: skip
        """Sign and store a new credential of `kind` about `version`, with the next free
        status list entry; `build` writes the unsigned document. Audited."""
        release = self.release(version)
        now = self.clock.now()
        list_id, index = self._next_slot()
        unsigned = build(release, docs.stamp(now), list_id, index)
        row = IssuedCredential(
            kind=kind, version_id=version.id, namespace=release.namespace,
            package=release.package, version=version.version, community=community,
            policy=policy, status_list=list_id, status_index=index,
            document=json.dumps(self._sign(unsigned, now), sort_keys=True), issued_at=now,
            revoked_at=None, revoke_reason="",
        )  # fmt: skip
        self.session.add(row)
        record_event(
            self.session, at=now, actor_id=None, action="credential.issue",
            subject=f"package:{release.namespace}/{release.package}@{version.version}",
            data={"kind": kind, "status_list": list_id, "status_index": index,
                  **({"community": community, "policy": policy} if policy else {})},
        )  # fmt: skip
        self.session.flush()
        return row

    def issue_build_credential(self, version: Version) -> IssuedCredential:
        """Issue (or keep) the credential that `version` passed its build verification."""
        existing = self.active_build_credential(version.id)
        if existing is not None:
            return existing
        return self.issue(version, KIND_BUILD, partial(docs.build_credential, self.base))

    def find_build_credential(self, namespace: str, package: str, version: str) -> IssuedCredential:
        """The newest build credential of the release, revoked or not (`1.0` finds
        `1.0.0`, as the API does); `InvalidInput` for a malformed version, `NotFound`."""
        try:
            version = normalize_version(version)
        except InvalidVersion as exc:
            raise InvalidInput("version-invalid", str(exc), "version") from None
        row = self.session.scalar(
            select(IssuedCredential)
            .where(
                IssuedCredential.kind == KIND_BUILD,
                IssuedCredential.namespace == namespace,
                IssuedCredential.package == package,
                IssuedCredential.version == version,
            )
            .order_by(IssuedCredential.id.desc())
            .limit(1)
        )
        if row is None:
            raise NotFound(
                CREDENTIAL_NOT_FOUND,
                f"no build credential was issued for `{namespace}/{package}` {version}: "
                "the registry issues one when the release's build verification passes",
            )
        return row

    def revoke_build_credentials(
        self, namespace: str, package: str, version: str, reason: str
    ) -> int:
        """Revoke every active build credential of the release; how many were."""
        if not reason.strip() or len(reason) > MAX_REASON_CHARS:
            raise InvalidInput(
                "reason-invalid", f"give a reason of 1 to {MAX_REASON_CHARS} characters"
            )
        rows = self.session.scalars(
            select(IssuedCredential).where(
                IssuedCredential.kind == KIND_BUILD,
                IssuedCredential.namespace == namespace,
                IssuedCredential.package == package,
                IssuedCredential.version == version,
                IssuedCredential.revoked_at.is_(None),
            )
        ).all()
        return self.revoke(list(rows), reason)

    def revoke(self, rows: list[IssuedCredential], reason: str) -> int:
        """Revoke each of `rows` with `reason` (audited); how many were."""
        now = self.clock.now()
        for row in rows:
            row.revoked_at, row.revoke_reason = now, reason.strip()
            record_event(
                self.session, at=now, actor_id=None, action="credential.revoke",
                subject=f"package:{row.namespace}/{row.package}@{row.version}",
                reason=row.revoke_reason,
                data={"kind": row.kind, "status_list": row.status_list,
                      "status_index": row.status_index},
            )  # fmt: skip
        self.session.flush()
        return len(rows)

    def sign_status_list(self, list_id: int) -> dict[str, Any]:
        """The signed status list credential `list_id`: a credential's bit is set once it
        is revoked or its version deleted (docs/credentials.md, "Revocation")."""
        revoked = self.session.scalars(
            select(IssuedCredential.status_index).where(
                IssuedCredential.status_list == list_id,
                or_(
                    IssuedCredential.revoked_at.is_not(None), IssuedCredential.version_id.is_(None)
                ),
            )
        ).all()
        if not revoked and list_id != 1 and not self._list_exists(list_id):
            raise NotFound(STATUS_LIST_NOT_FOUND, f"there is no status list {list_id}")
        now = self.clock.now()
        unsigned = docs.status_list_credential(self.base, list_id, list(revoked), docs.stamp(now))
        return self._sign(unsigned, now)

    def _list_exists(self, list_id: int) -> bool:
        return (
            self.session.scalar(
                select(IssuedCredential.id).where(IssuedCredential.status_list == list_id).limit(1)
            )
            is not None
        )


class IssueOnPass:
    """The `builds.verify` job with credentials: the build runs as before, then a pass
    issues the release's credential and any other outcome revokes the one it had, in the
    job's own transaction (docs/credentials.md, "What is issued")."""

    def __init__(self, build: Callable[[JobContext], None], clock: Clock, keys: RegistryKeys):
        self.build = build
        self.clock = clock
        self.keys = keys

    def __call__(self, context: JobContext) -> None:
        """Run the build, then issue or revoke."""
        self.build(context)
        version_id = context.payload.get("version_id")
        if not isinstance(version_id, int):
            return
        session = context.session
        version = session.get(Version, version_id, options=[joinedload(Version.package)])
        outcome = session.scalar(select(Build.outcome).where(Build.version_id == version_id))
        if version is None or outcome is None or outcome == BuildOutcome.PENDING:
            return
        service = CredentialsService(session, self.clock, self.keys)
        if outcome == BuildOutcome.PASSED:
            row = service.issue_build_credential(version)
            log.info("build credential of %s/%s@%s: list %d index %d", row.namespace,
                     row.package, row.version, row.status_list, row.status_index)  # fmt: skip
        elif service.active_build_credential(version_id) is not None:
            service.revoke_build_credentials(
                version.package.namespace.name, version.package.name, version.version,
                REBUILD_REVOKES,
            )  # fmt: skip
