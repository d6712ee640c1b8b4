"""The facts the registry attests about a release (docs/vetting.md, "Facts the registry
attests"): read from the builds, accounts and packages domains, for policies'
`requiresFacts` and for `fpmreg vet`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.vet.policy import FACTS
from fpmreg.core.wire.facts import AttestedFact, ReleaseFacts
from fpmreg.server.builds.models import Build, BuildOutcome
from fpmreg.server.packages.expectations import expectations_of
from fpmreg.server.packages.models import Package, Version

# The statuses the `maintained` fact accepts (fpmreg/core/expectations.py).
MAINTAINED = frozenset({"active", "fixes-only"})


def attested_facts(session: Session, package: Package, version: Version) -> frozenset[str]:
    """Every fact of `FACTS` true of `version` of `package` now."""
    facts: set[str] = set()
    outcome = session.scalar(select(Build.outcome).where(Build.version_id == version.id))
    if outcome == BuildOutcome.PASSED:
        facts.add("build-verified")
    if package.namespace.require_2fa:
        facts.add("publisher-two-factor")
    declared = expectations_of(session, package)
    if declared is not None:
        facts.add("expectations-declared")
        if declared.status in MAINTAINED:
            facts.add("maintained")
        if declared.response == "yes":
            facts.add("security-response")
    return frozenset(facts)


def release_purl(package: Package, version: Version) -> str:
    """`pkg:fpm/<namespace>/<name>@<version>` of a stored version."""
    return f"pkg:fpm/{package.namespace.name}/{package.name}@{version.version}"


def facts_wire(session: Session, package: Package, version: Version) -> ReleaseFacts:
    """The `/api/v1` answer: the release and its facts, in `FACTS` order."""
    true = attested_facts(session, package, version)
    return ReleaseFacts(
        purl=release_purl(package, version),
        sha256=version.sha256,
        facts=[AttestedFact(fact=f, description=d) for f, d in FACTS.items() if f in true],
    )
