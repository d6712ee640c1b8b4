"""`fpmreg audit --fix`: move each reported package to its smallest fix the ranges allow.

The fixes are written into the lock the resolver starts from (a locked version is the
one it tries first), and the whole project is resolved again, so a fix that needs a
dependency to move moves it, and one that clashes is not taken. What cannot be fixed
(a fix outside fpm.toml's range, no fix published, a deprecated package) is listed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from fpmreg.client.auditing.source import DocumentIndex, entry_of
from fpmreg.core.lockfile import Lock
from fpmreg.core.wire.audit import AuditFinding, FindingKind


@dataclasses.dataclass(frozen=True)
class FixPlan:
    """The lock to resolve from, and why some findings stay."""

    preferred: Lock
    moves: dict[str, str]  # `namespace/name` → the version tried first
    unfixable: list[str]


def _unfixable(finding: AuditFinding) -> str | None:
    where = f"`{finding.package}` {finding.version} ({finding.id})"
    fix = finding.fix
    if finding.kind is FindingKind.DEPRECATED:
        target = f"`{fix.switch_to}`" if fix and fix.switch_to else "another package"
        return f"{where}: switch to {target} in fpm.toml; `--fix` does not change fpm.toml"
    if fix is None or not fix.upgrade_to:
        return f"{where}: no fixed version is published"
    if not fix.within_range:
        return (
            f"{where}: the fix {fix.upgrade_to} is outside the allowed `{fix.range}`: "
            "change the requirement in fpm.toml"
        )
    return None


def plan_fixes(lock: Lock, findings: Sequence[AuditFinding], index: DocumentIndex) -> FixPlan:
    """The smallest in-range fix of every package with a finding, in a starting lock."""
    moves: dict[str, str] = {}
    unfixable: list[str] = []
    for finding in findings:
        reason = _unfixable(finding)
        if reason is not None:
            unfixable.append(reason)
        elif finding.fix is not None:
            moves[finding.package] = finding.fix.upgrade_to
    packages = []
    for package in lock.packages:
        target = moves.get(package.key)
        entry = (
            entry_of(index.versions(package.namespace, package.name), target) if target else None
        )
        if entry is not None and target is not None:
            package = dataclasses.replace(package, version=target, sha256=entry.sha256)
        packages.append(package)
    return FixPlan(Lock(tuple(packages), lock.root), moves, unfixable)
