"""Tables of the metrics domain: download counts, never who downloaded."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from fpmreg.server.db import Base


class ClientKind(StrEnum):
    """What kind of program downloaded a tarball, read from its User-Agent."""

    FPM = "fpm"  # fpm fetches tarballs with curl (or wget)
    FPMREG = "fpmreg"  # the fpmreg client (`fpmreg sync`)
    MIRROR = "mirror"  # mirroring tools, which fetch every new version (npm/npm#7164)
    BROWSER = "browser"  # a person clicking the download link
    OTHER = "other"  # scripts, bots, anything else


class Period(StrEnum):
    """How long a counting row spans; `day` rows older than the retention become `month`."""

    DAY = "day"
    MONTH = "month"


class DownloadCount(Base):
    """Downloads of one version in one UTC day (or month), by client kind and CI flag.

    Rows only ever grow by additive upserts (`count = count + n`), so any number of
    processes can add to them without losing or doubling a count."""

    __tablename__ = "download_counts"
    __table_args__ = (Index("ix_download_counts_day", "day"),)

    version_id: Mapped[int] = mapped_column(
        ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(8), primary_key=True)  # a `Period`
    day: Mapped[date] = mapped_column(primary_key=True)  # the first day of the period
    client: Mapped[str] = mapped_column(String(16), primary_key=True)  # a `ClientKind`
    ci: Mapped[bool] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class VersionDownloads(Base):
    """All-time downloads of a version, added to in the same transaction as its
    `DownloadCount` rows, so a package page reads totals without summing years of rows."""

    __tablename__ = "version_downloads"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True
    )
    package_id: Mapped[int] = mapped_column(
        ForeignKey("packages.id", ondelete="CASCADE"), index=True
    )
    count: Mapped[int] = mapped_column(BigInteger)


class PackageDownloads(Base):
    """All-time downloads of a package (deleted versions' included), added to in the
    same transaction, so search can sort by downloads with one join."""

    __tablename__ = "package_downloads"

    package_id: Mapped[int] = mapped_column(
        ForeignKey("packages.id", ondelete="CASCADE"), primary_key=True
    )
    count: Mapped[int] = mapped_column(BigInteger)
