"""`fpmreg audit --format json`: the report, a documented and stable shape (docs/audit.md).

`schema_version` moves only when a key changes meaning or disappears; new keys may be
added at any time, so readers ignore keys they do not know (as `WireModel` does).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from fpmreg.core.wire import WireModel

# Bump when a key of this report changes meaning or is removed (never for additions).
AUDIT_SCHEMA_VERSION = 1


class FindingKind(StrEnum):
    """Why a locked version is reported."""

    ADVISORY = "advisory"  # an OSV advisory affects it
    YANKED = "yanked"  # its maintainers yanked it
    DEPRECATED = "deprecated"  # the whole package is deprecated
    DELETED = "deleted"  # the registry deleted it (a tombstone, or simply gone)


class AuditSeverity(WireModel):
    """One OSV `severity` entry: the scoring system and its vector."""

    type: str = Field(description="`CVSS_V3`, `CVSS_V4`, ...")
    score: str = Field(description="the vector, as OSV gives it")


class AuditMitigation(WireModel):
    """What the advisory's author suggests (`database_specific.mitigation` in OSV)."""

    upgrade_to: str = Field("", description="a version to upgrade to")
    switch_to: str = Field("", description="`namespace/name` of a package to use instead")


class AuditFix(WireModel):
    """The smallest change that makes the finding go away, as far as the registry knows."""

    upgrade_to: str = Field("", description="the smallest version that fixes it, if any")
    within_range: bool = Field(
        True, description="whether `upgrade_to` fits every requirement on the package"
    )
    range: str = Field("*", description="what fpm.toml and the locked dependents allow")
    switch_to: str = Field("", description="`namespace/name` to switch to (a replacement)")


class AuditFinding(WireModel):
    """One locked version and one reason it is reported."""

    id: str = Field(
        description="the advisory id, or `yanked:ns/name@v`, `deprecated:ns/name`, "
        "`deleted:ns/name@v`; the id an ignore entry names"
    )
    kind: FindingKind
    package: str = Field(description="`namespace/name`")
    version: str = Field(description="the locked version")
    summary: str = Field(description="one line: the advisory summary, the yank or deprecation")
    details: str = ""
    aliases: list[str] = Field(default_factory=list, description="CVE, GHSA... ids")
    severity: list[AuditSeverity] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list, description="URLs")
    mitigation: AuditMitigation | None = None
    fix: AuditFix | None = Field(None, description="null when nothing fixes it yet")


class AuditIgnored(WireModel):
    """A finding an ignore entry hides, with the entry's reason and expiry."""

    id: str
    package: str
    version: str
    reason: str
    expires: str = Field(description="`YYYY-MM-DD`: the entry stops ignoring after that day")


class AuditSummary(WireModel):
    """Counts, for a CI log line."""

    packages: int = Field(description="locked registry packages audited")
    findings: int
    ignored: int
    by_kind: dict[str, int] = Field(description="finding kind → count")


class AuditReport(WireModel):
    """Everything `fpmreg audit` found in one project."""

    schema_version: int = AUDIT_SCHEMA_VERSION
    project: str = Field(description="the root package's name")
    lock: str = Field(description="the lock file audited, or `` when fpm.toml was resolved")
    findings: list[AuditFinding]
    ignored: list[AuditIgnored] = Field(default_factory=list)
    notes: list[str] = Field(
        default_factory=list, description="warnings: expired ignore entries and the like"
    )
    summary: AuditSummary
