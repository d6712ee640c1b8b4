"""The JSON documents of `fpmreg search`, `info`, `outdated` and `owner` with
`--format json` (docs/commands.md).

One document on stdout per run; notes for people go to stderr. Fields are only ever
added, so a script written for one version keeps reading the next.
"""

from __future__ import annotations

from pydantic import Field

from fpmreg.core.wire import WireModel


class SearchHit(WireModel):
    """One package found by `fpmreg search`."""

    namespace: str
    name: str
    latest_version: str = Field(description='the newest version not yanked; "" for none')
    description: str
    license: str
    downloads: int | None = Field(
        None, description="all-time downloads, null when the registry does not say"
    )


class SearchReport(WireModel):
    """`fpmreg search --format json`: the first `limit` matches, and how many there are."""

    registry: str
    query: str
    namespace: str = Field("", description='the `--namespace` filter; "" for every one')
    total: int = Field(ge=0, description="matches on the registry, shown or not")
    packages: list[SearchHit]


class InfoVersion(WireModel):
    """One published version in `fpmreg info`."""

    version: str
    published_at: str
    yanked: bool
    yank_reason: str = ""


class InfoDependency(WireModel):
    """One dependency of the version `fpmreg info` shows."""

    name: str
    kind: str = Field(description="`registry`, `git`, `path` or `metapackage`")
    scope: str = Field(description="`dependencies`, `dev-dependencies`, `executable:NAME`…")
    namespace: str = ""
    requirement: str = Field("", description='the exact `v` and/or the range; "" for any')


class InfoOwner(WireModel):
    """Someone who may publish the package: a namespace member or a package maintainer."""

    username: str
    role: str = Field(
        description="`namespace admin`, `namespace maintainer` or `package maintainer`"
    )


class InfoReport(WireModel):
    """`fpmreg info --format json`: one package, and one of its versions in detail."""

    registry: str
    namespace: str
    name: str
    description: str
    license: str
    homepage: str
    repository: str = Field(description='the homepage when it is a code forge, else ""')
    latest_version: str = Field(description='the newest version not yanked; "" for none')
    version: str = Field(description="the version whose dependencies are listed")
    versions: list[InfoVersion] = Field(description="newest first, yanked ones included")
    dependencies: list[InfoDependency]
    owners: list[InfoOwner]
    deprecated: bool
    deprecation_message: str = ""
    replacement: str = ""
    advisories: list[str] = Field(default_factory=list, description="advisory ids")
    downloads: int | None = Field(None, description="all-time downloads, null when unknown")
    maintenance: str = Field(
        "", description='the declared maintenance status (docs/expectations.md); "" for none'
    )


class OutdatedPackage(WireModel):
    """One package of `fpm.lock` (or a direct dependency not yet locked)."""

    namespace: str
    name: str
    direct: bool = Field(description="named in fpm.toml (else pulled in by another package)")
    requirement: str = Field("", description='what fpm.toml allows (direct ones); "" for any')
    locked: str = Field(description='the version in fpm.lock; "" when not locked')
    locked_yanked: bool = False
    compatible: str = Field(
        description='what `fpmreg lock --update` would pick; "" when nothing fits'
    )
    latest: str = Field(description='the newest version not yanked; "" for none')
    outdated: bool = Field(description="`locked` differs from `compatible` or `latest`")


class OutdatedReport(WireModel):
    """`fpmreg outdated --format json`: every locked package and how far behind it is."""

    registry: str
    project: str
    outdated: int = Field(ge=0, description="how many packages are outdated")
    packages: list[OutdatedPackage]


class OwnerReport(WireModel):
    """`fpmreg owner --format json`: who may publish the package after the command."""

    registry: str
    namespace: str
    name: str
    action: str = Field(description="`list`, `add` or `remove`")
    username: str = Field("", description='who was added or removed; "" for `list`')
    owners: list[InfoOwner]
