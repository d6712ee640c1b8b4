"""Packages and versions on `/api/v1`: search results, one package, publish answers."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from fpmreg.core.wire import WireModel, omit_empty
from fpmreg.core.wire.advisories import AdvisoryRef
from fpmreg.core.wire.builds import BuildStatus
from fpmreg.core.wire.errors import ApiProblem
from fpmreg.core.wire.expectations import Expectations

Timestamp = Annotated[
    str,
    Field(
        description="UTC time, `YYYY-MM-DDTHH:MM:SSZ`",
        examples=["2026-11-22T03:11:39Z"],
        json_schema_extra={"format": "date-time"},
    ),
]
Sha256 = Annotated[str, Field(description="hex SHA-256 of the tarball", pattern="^[0-9a-f]{64}$")]


class Dependency(WireModel):
    """One dependency as the package's `fpm.toml` declares it; empty keys are left out."""

    name: str
    kind: str = Field(description="`registry`, `git`, `path` or `metapackage`")
    scope: str = Field(description="`dependencies`, `dev-dependencies`, `executable:NAME`…")
    namespace: str = Field("", exclude_if=omit_empty, description="registry dependencies")
    version: str = Field("", exclude_if=omit_empty, description="an exact `v` pin")
    requirement: str = Field(
        "", exclude_if=omit_empty, description="the `[extra.fpmreg.dependencies]` range"
    )


class PackageSummary(WireModel):
    """A package in search results and namespace listings."""

    namespace: str
    name: str
    description: str
    license: str
    latest_version: str
    updated_at: Timestamp


class VersionInfo(WireModel):
    """One published version."""

    version: str
    sha256: Sha256
    size: int = Field(ge=0, description="tarball bytes")
    license: str
    description: str
    published_at: Timestamp
    publisher: str = Field(description='username, `""` once the account is gone')
    yanked: bool
    yank_reason: str
    dependencies: list[Dependency]
    download_url: str
    advisories: list[AdvisoryRef] = Field(default_factory=list, description="affecting it")
    # Filled by the version endpoint only (docs/builds.md, "Build verification").
    build: BuildStatus | None = Field(None, exclude_if=omit_empty)


class PackageInfo(WireModel):
    """A package with every version, newest first."""

    namespace: str
    name: str
    description: str
    license: str
    homepage: str
    latest_version: str = Field(description="the newest version that is not yanked")
    created_at: Timestamp
    updated_at: Timestamp
    versions: list[VersionInfo]
    deprecated: bool = False
    deprecation_message: str = Field("", exclude_if=omit_empty)
    replacement: str = Field(
        "", exclude_if=omit_empty, description="`namespace/name` to use instead"
    )
    advisories: list[AdvisoryRef] = Field(default_factory=list, description="published, current")
    expectations: Expectations | None = Field(
        None, exclude_if=omit_empty, description="declared by its owners (docs/expectations.md)"
    )


class SearchResults(WireModel):
    """One page of search results; `next_cursor` is absent on the last page."""

    packages: list[PackageSummary]
    total: int = Field(ge=0, description="matches in all pages")
    next_cursor: str = Field(
        "", exclude_if=omit_empty, description="pass back as `cursor` for the next page"
    )


class PublishResult(WireModel):
    """What was stored (201) or, for a dry run, would be (200)."""

    namespace: str
    name: str
    version: str
    sha256: Sha256
    size: int = Field(ge=0)
    dry_run: bool
    url: str = Field(description="the package's page")
    warnings: list[ApiProblem] = Field(description="problems that did not block the publish")
