"""Small builders for vetting tests: releases with stable digests, audits, policies."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from fpmreg.core.versions import Requirement, Version
from fpmreg.core.vet.audits import Audit, Level, Verdict
from fpmreg.core.vet.criteria import CriteriaGraph, Criterion
from fpmreg.core.vet.evaluate import Evidence
from fpmreg.core.vet.policy import Policy
from fpmreg.core.vet.refs import PackageName, Release

NOW = datetime(2026, 12, 1, tzinfo=UTC)
PKG = PackageName("fortran-lang", "stdlib")
OURS = "https://reg.example/c/fortran"
THEIRS = "https://other.example/c/numerics"
SAFE_RUN = f"{OURS}/criteria/safe-to-run"
SAFE_DEPLOY = f"{OURS}/criteria/safe-to-deploy"
OUR_GRAPH = CriteriaGraph(
    (Criterion(SAFE_DEPLOY, "deployable", frozenset([SAFE_RUN])), Criterion(SAFE_RUN, "runnable"))
)


def sha(version: str, salt: str = "") -> str:
    """The digest a test release of `version` has (another `salt`: other bytes)."""
    return hashlib.sha256(f"{version}{salt}".encode()).hexdigest()


def rel(version: str, salt: str = "") -> Release:
    return Release(Version.parse(version), sha(version, salt))


_counter = iter(range(10**9))


def full(
    version: str,
    *criteria: str,
    auditor: str = "https://reg.example/u/alice",
    orgs: tuple[str, ...] = (),
    community: str = OURS,
    salt: str = "",
    thoroughness: Level = Level.MEDIUM,
    package: PackageName = PKG,
) -> Audit:
    return Audit(
        id=f"https://reg.example/audits/{next(_counter)}",
        package=package,
        verdict=Verdict.CERTIFY,
        criteria=frozenset(criteria or [SAFE_DEPLOY]),
        auditor=auditor,
        community=community,
        target=rel(version, salt),
        thoroughness=thoroughness,
        understanding=Level.MEDIUM,
        organisations=frozenset(orgs),
    )


def delta(base: str, target: str, *criteria: str, **kw: object) -> Audit:
    audit = full(target, *criteria, **kw)  # type: ignore[arg-type]
    return Audit(**{**_fields(audit), "base": rel(base)})


def violation(
    range_: str, *criteria: str, auditor: str = "https://reg.example/u/carol", community: str = OURS
) -> Audit:
    return Audit(
        id=f"https://reg.example/audits/{next(_counter)}",
        package=PKG,
        verdict=Verdict.VIOLATION,
        criteria=frozenset(criteria or [SAFE_RUN]),
        auditor=auditor,
        community=community,
        violation=Requirement.parse(range_),
    )


def _fields(audit: Audit) -> dict[str, object]:
    return {name: getattr(audit, name) for name in Audit.__dataclass_fields__}


def policy(**kw: object) -> Policy:
    base: dict[str, object] = {
        "id": "https://reg.example/c/fortran/policies/default",
        "community": OURS,
        "root_criteria": frozenset([SAFE_DEPLOY]),
        "dev_criteria": frozenset([SAFE_RUN]),
    }
    return Policy(**{**base, **kw})  # type: ignore[arg-type]


def evidence(*audits: Audit, **kw: object) -> Evidence:
    graphs = kw.pop("graphs", {OURS: OUR_GRAPH})
    return Evidence(audits=audits, now=NOW, graphs=graphs, **kw)  # type: ignore[arg-type]
