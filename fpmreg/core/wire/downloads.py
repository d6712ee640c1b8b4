"""Download series and stats on `/api/v1` (`docs/data-policy.md` says what is counted)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from fpmreg.core.wire import WireModel

# `from` is a Python keyword: the field is `start`, written `from` on the wire.
_BY_ALIAS = ConfigDict(
    extra="ignore", frozen=True, validate_by_name=True, validate_by_alias=True,
    serialize_by_alias=True,
)  # fmt: skip
From = Annotated[dt.date, Field(alias="from", description="first UTC day")]
To = Annotated[dt.date, Field(alias="to", description="last UTC day")]


class DownloadRow(WireModel):
    """`count` downloads of `version` in the day (or month) from `date`."""

    date: dt.date
    period: Literal["day", "month"]
    version: str
    client: str = Field(description="`fpm`, `fpmreg`, `mirror`, `browser` or `other`")
    ci: bool
    count: int = Field(ge=0)


class VersionDownloads(WireModel):
    """Downloads of one version: in the range, and since it was published."""

    version: str
    downloads: int = Field(ge=0)
    all_time: int = Field(ge=0)


class PackageDownloads(WireModel):
    """A package's downloads between `from` and `to`, inclusive."""

    model_config = _BY_ALIAS

    namespace: str
    name: str
    start: From
    end: To
    total: int = Field(ge=0)
    all_time: int = Field(ge=0)
    versions: list[VersionDownloads]
    downloads: list[DownloadRow]


class DailyCount(WireModel):
    """Downloads of the whole registry on one UTC day."""

    date: dt.date
    count: int = Field(ge=0)


class TopPackage(WireModel):
    """One of the most downloaded packages in the range."""

    namespace: str
    name: str
    downloads: int = Field(ge=0)


class RegistryDownloads(WireModel):
    """Downloads of the whole registry between `from` and `to`, inclusive."""

    model_config = _BY_ALIAS

    start: From
    end: To
    total: int = Field(ge=0)
    all_time: int = Field(ge=0)
    ci: int = Field(ge=0)
    by_client: dict[str, int]
    daily: list[DailyCount]
    top_packages: list[TopPackage]
