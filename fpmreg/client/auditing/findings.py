"""The audit itself: every locked version that is affected, yanked, deprecated or deleted.

Advisories come from the OSV API (`osv.OsvClient`: one `querybatch` for the whole lock,
then each record once); yanks, deletions (tombstones) and deprecations from the
registry's index documents (`source.DocumentIndex`). Each finding carries the smallest
fix: the smallest later version that is neither yanked nor affected by a known advisory
of the package, within what fpm.toml and the locked dependents allow when one does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from fpmreg.client.auditing.osv import Advisory, OsvClient
from fpmreg.client.auditing.source import (
    PREFETCH_THREADS,
    DocumentIndex,
    allowed_range,
    entry_of,
)
from fpmreg.core.advisory import is_affected
from fpmreg.core.lockfile import Lock, LockedPackage
from fpmreg.core.manifest import Manifest
from fpmreg.core.resolve import IndexVersion
from fpmreg.core.versions import InvalidVersion, Requirement, Version
from fpmreg.core.wire.audit import (
    AuditFinding,
    AuditFix,
    AuditMitigation,
    AuditSeverity,
    FindingKind,
)
from fpmreg.core.wire.index import IndexDocument

# How findings of one package are listed: the worst news first.
_KIND_ORDER = {
    FindingKind.DELETED: 0,
    FindingKind.ADVISORY: 1,
    FindingKind.YANKED: 2,
    FindingKind.DEPRECATED: 3,
}


def finding_id(kind: FindingKind, package: str, version: str = "") -> str:
    """`yanked:ns/name@1.0.0`, `deleted:ns/name@1.0.0`, `deprecated:ns/name`."""
    return f"{kind}:{package}@{version}" if version else f"{kind}:{package}"


def _parsed(text: str) -> Version | None:
    try:
        return Version.parse(text)
    except InvalidVersion:
        return None


def smallest_upgrade(
    versions: Sequence[IndexVersion],
    current: str,
    allowed: Requirement,
    clean: Callable[[str], bool] = lambda _: True,
) -> AuditFix | None:
    """The smallest listed version above `current` that is not yanked and is `clean`,
    inside `allowed` when one is; None when no later version qualifies."""
    now = _parsed(current)
    above = sorted(
        parsed
        for v in versions
        if not v.yanked
        and (parsed := _parsed(v.version)) is not None
        and (now is None or parsed > now)
        and clean(str(parsed))
    )
    if not above:
        return None
    within = next((v for v in above if allowed.matches(v)), None)
    chosen = within or above[0]
    return AuditFix(upgrade_to=str(chosen), within_range=within is not None, range=str(allowed))


def _mitigation(advisory: Advisory) -> AuditMitigation | None:
    found = advisory.record.database_specific.get("mitigation")
    if not isinstance(found, dict):
        return None
    upgrade, switch = found.get("upgrade_to"), found.get("switch_to")
    mitigation = AuditMitigation(
        upgrade_to=upgrade if isinstance(upgrade, str) else "",
        switch_to=switch if isinstance(switch, str) else "",
    )
    return mitigation if mitigation.upgrade_to or mitigation.switch_to else None


def _summary(advisory: Advisory) -> str:
    record = advisory.record
    if record.summary:
        return record.summary
    first = record.details.strip().splitlines()
    return first[0] if first else f"advisory {record.id}"


class _PackageAudit:
    """The findings of one locked package."""

    def __init__(
        self, package: LockedPackage, lock: Lock, manifest: Manifest | None, index: DocumentIndex
    ) -> None:
        self.package = package
        self.lock = lock
        self.manifest = manifest
        self.index = index
        self._allowed: Requirement | None = None

    @property
    def allowed(self) -> Requirement:
        if self._allowed is None:
            self._allowed = allowed_range(self.package, self.lock, self.manifest, self.index)
        return self._allowed

    def finding(self, kind: FindingKind, summary: str, **fields: object) -> AuditFinding:
        p = self.package
        version = "" if kind is FindingKind.DEPRECATED else p.version
        return AuditFinding.model_validate(
            {
                "id": finding_id(kind, p.key, version),
                "kind": kind,
                "package": p.key,
                "version": p.version,
                "summary": summary,
                **fields,
            }
        )

    def states(
        self, document: IndexDocument | None, advisories: list[Advisory]
    ) -> list[AuditFinding]:
        """Deleted, yanked and deprecated: what the index says of the locked version."""
        p = self.package
        if document is None:
            return [
                self.finding(
                    FindingKind.DELETED,
                    f"the registry no longer has the package `{p.key}`",
                )
            ]
        versions = self.index.versions(p.namespace, p.name)
        clean = self._clean(advisories)
        found: list[AuditFinding] = []
        tombstone = next((t for t in document.tombstones if _same(t.version, p.version)), None)
        entry = entry_of(versions, p.version)
        if tombstone is not None or entry is None:
            why = f" ({tombstone.category}, {tombstone.url})" if tombstone else ""
            found.append(
                self.finding(
                    FindingKind.DELETED,
                    f"{p.version} was deleted from the registry{why}",
                    fix=smallest_upgrade(versions, p.version, self.allowed, clean),
                )
            )
        elif entry.yanked:
            found.append(
                self.finding(
                    FindingKind.YANKED,
                    f"its maintainers yanked {p.version}",
                    fix=smallest_upgrade(versions, p.version, self.allowed, clean),
                )
            )
        if document.deprecated:
            message = document.deprecation_message or "the package is deprecated"
            fix = AuditFix(switch_to=document.replacement) if document.replacement else None
            found.append(self.finding(FindingKind.DEPRECATED, message, fix=fix))
        return found

    def _clean(self, advisories: list[Advisory]) -> Callable[[str], bool]:
        key = self.package.key
        return lambda v: not any(is_affected(a.raw, v, package=key) for a in advisories)

    def advisory(self, advisory: Advisory, advisories: list[Advisory]) -> AuditFinding:
        """One advisory affecting the locked version, with the smallest clean upgrade."""
        p = self.package
        record = advisory.record
        versions = self.index.versions(p.namespace, p.name)
        return AuditFinding(
            id=record.id,
            kind=FindingKind.ADVISORY,
            package=p.key,
            version=p.version,
            summary=_summary(advisory),
            details=record.details,
            aliases=list(record.aliases),
            severity=[AuditSeverity(type=s.type, score=s.score) for s in record.severity],
            references=[r.url for r in record.references if r.url],
            mitigation=_mitigation(advisory),
            fix=smallest_upgrade(versions, p.version, self.allowed, self._clean(advisories)),
        )


def _same(a: str, b: str) -> bool:
    first, second = _parsed(a), _parsed(b)
    return first == second if first is not None and second is not None else a == b


def _advisories(osv: OsvClient, ids: list[str]) -> list[Advisory]:
    found = []
    for advisory_id in ids:
        advisory = osv.record(advisory_id)
        if advisory is None or advisory.record.withdrawn:
            continue  # withdrawn (or gone since the batch answer): not reported
        found.append(advisory)
    return found


def find(
    lock: Lock,
    packages: Sequence[LockedPackage],
    manifest: Manifest | None,
    index: DocumentIndex,
    osv: OsvClient,
) -> list[AuditFinding]:
    """Every finding for `packages` (of `lock`, all from `index`'s registry), sorted.

    The batch query runs while the index documents download; then the records are read
    in parallel, each once."""
    with ThreadPoolExecutor(max_workers=PREFETCH_THREADS) as pool:
        batch = pool.submit(osv.query_batch, [(p.key, p.version) for p in packages])
        index.prefetch([(p.namespace, p.name) for p in packages], pool)
        ids = batch.result()
        list(pool.map(osv.record, dict.fromkeys(i for found in ids for i in found)))
    findings: list[AuditFinding] = []
    for package, package_ids in zip(packages, ids, strict=True):
        audit = _PackageAudit(package, lock, manifest, index)
        advisories = _advisories(osv, package_ids)
        document = index.document_of(package.namespace, package.name)
        findings += audit.states(document, advisories)
        findings += [audit.advisory(a, advisories) for a in advisories]
    return sort_findings(findings)


def sort_findings(findings: Sequence[AuditFinding]) -> list[AuditFinding]:
    """By package, then deleted, advisories, yanked, deprecated, then id."""
    return sorted(findings, key=lambda f: (f.package, _KIND_ORDER[f.kind], f.id))
