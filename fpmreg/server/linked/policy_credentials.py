"""Credentials for community policies (docs/credentials.md, "Policy credentials").

When the registry issues a verdict (docs/communities.md, "Verdicts"), a PASSED one
issues an Open Badges 3.0 credential that the release passes that policy, and a FAILED
one revokes the credential the release had for it, in the verdict's own transaction. A
hook on the session factory sees the new verdict rows; the communities domain below
knows nothing of credentials.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, joinedload, sessionmaker

from fpmreg.core.names import canonical_name
from fpmreg.core.versions import InvalidVersion, normalize_version
from fpmreg.server.accounts.models import Namespace
from fpmreg.server.clock import Clock
from fpmreg.server.communities.models import Community, CommunityVerdict
from fpmreg.server.errors import InvalidInput, NotFound
from fpmreg.server.federation.keys import RegistryKeys
from fpmreg.server.linked import credentials_documents as docs
from fpmreg.server.linked.credentials import CREDENTIAL_NOT_FOUND, CredentialsService
from fpmreg.server.linked.credentials_models import KIND_POLICY, IssuedCredential
from fpmreg.server.packages.models import Package, Version
from fpmreg.server.transaction import after_rollback, before_commit

FAILED_REVOKES = "a later verdict of the policy failed the release"
_PENDING = "fpmreg.linked.policy-verdicts"
_INSTALLED = "_fpmreg_policy_credentials_hook"


def _active(
    session: Session, version_id: int, community: str, policy: str
) -> list[IssuedCredential]:
    return list(
        session.scalars(
            select(IssuedCredential).where(
                IssuedCredential.kind == KIND_POLICY,
                IssuedCredential.version_id == version_id,
                IssuedCredential.community == community,
                IssuedCredential.policy == policy,
                IssuedCredential.revoked_at.is_(None),
            )
        )
    )


def _release(session: Session, verdict: CommunityVerdict) -> Version | None:
    """The verdict's release, with its package, if it still exists with those bytes."""
    namespace, _, name = verdict.package.partition("/")
    return session.scalar(
        select(Version)
        .join(Package, Package.id == Version.package_id)
        .join(Namespace, Namespace.id == Package.namespace_id)
        .options(joinedload(Version.package))
        .where(
            Namespace.canonical == canonical_name(namespace),
            Package.canonical == canonical_name(name),
            Version.version == verdict.version,
            Version.sha256 == verdict.sha256,
        )
    )


def apply_verdict(service: CredentialsService, verdict: CommunityVerdict) -> None:
    """Issue the credential of a PASSED verdict (unless one is active), or revoke the
    active one of a FAILED verdict."""
    session = service.session
    community = session.get(Community, verdict.community_id)
    version = _release(session, verdict)
    if community is None or version is None:
        return
    active = _active(session, version.id, community.name, verdict.policy_slug)
    if verdict.result != "PASSED":
        if active:
            service.revoke(active, FAILED_REVOKES)
        return
    if active:
        return
    base = service.base
    passed = docs.PolicyPass(
        community=community.name,
        slug=verdict.policy_slug,
        policy_uri=_policy_uri(verdict),
        verdict_url=f"{base}/c/{community.name}/verdicts/{verdict.id}",
        verdict_record=f"{base}/api/v1/communities/{community.name}/verdicts/{verdict.id}",
    )

    def unsigned(release: docs.Release, when: str, list_id: int, index: int) -> dict[str, Any]:
        return docs.policy_credential(base, release, passed, when, list_id, index)

    service.issue(
        version, KIND_POLICY, unsigned, community=community.name, policy=verdict.policy_slug
    )


def _policy_uri(verdict: CommunityVerdict) -> str:
    """The policy version the verdict evaluated, as its document names it."""
    return str(json.loads(verdict.body)["predicate"]["policy"]["uri"])


def find_policy_credential(
    session: Session, namespace: str, package: str, version: str, community: str, policy: str
) -> IssuedCredential:
    """The newest credential of the release for the policy, revoked or not; 404 if none."""
    try:
        version = normalize_version(version)
    except InvalidVersion as exc:
        raise InvalidInput("version-invalid", str(exc), "version") from None
    row = session.scalar(
        select(IssuedCredential)
        .where(
            IssuedCredential.kind == KIND_POLICY,
            IssuedCredential.namespace == namespace,
            IssuedCredential.package == package,
            IssuedCredential.version == version,
            IssuedCredential.community == community,
            IssuedCredential.policy == policy,
        )
        .order_by(IssuedCredential.id.desc())
        .limit(1)
    )
    if row is None:
        raise NotFound(
            CREDENTIAL_NOT_FOUND,
            f"no credential was issued for `{namespace}/{package}` {version} and policy "
            f"`{policy}` of community `{community}`: the registry issues one when a verdict "
            "of that policy passes the release",
        )
    return row


def install_policy_credentials_hook(
    sessions: sessionmaker[Session], clock: Clock, keys: RegistryKeys
) -> None:
    """Issue or revoke policy credentials for every verdict committed through `sessions`."""
    if getattr(sessions, _INSTALLED, False):
        return
    setattr(sessions, _INSTALLED, True)

    def collect(session: Session, _context: Any) -> None:
        rows = [o for o in session.new if isinstance(o, CommunityVerdict)]
        if not rows:
            return
        pending: list[CommunityVerdict] | None = session.info.get(_PENDING)
        if pending is None:
            pending = session.info[_PENDING] = []

            def issue() -> None:
                service = CredentialsService(session, clock, keys)
                for verdict in sorted(session.info.pop(_PENDING, []), key=lambda v: v.id):
                    apply_verdict(service, verdict)

            before_commit(session, issue)
            after_rollback(session, lambda: session.info.pop(_PENDING, None))
        pending.extend(rows)

    event.listen(sessions, "after_flush", collect)
