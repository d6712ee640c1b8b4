"""Evidence imported from communities hosted on other registries, for the verdicts of
policies here that accept them (docs/communities.md, "Remote acceptFrom communities"):
one row per remote community with the outcome of its last import, and the criteria and
accepted audits that import verified against the remote registry's signed log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fpmreg.server.db import Base


class ImportedCommunity(Base):
    """A remote community some policy here accepts, and how its last import went."""

    __tablename__ = "imported_communities"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(String(512), unique=True)  # the community's URI
    status: Mapped[str] = mapped_column(String(16), default="pending")  # imported, failed
    error: Mapped[str] = mapped_column(Text, default="")  # the last failure's reason
    checked_at: Mapped[datetime | None]  # the last attempt
    imported_at: Mapped[datetime | None]  # the last import that verified


class ImportedEvidence(Base):
    """One criterion or accepted audit of a remote community, as verified: the document,
    its sha256 and the remote log entry that signs it."""

    __tablename__ = "imported_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("imported_communities.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # criteria, audit
    uri: Mapped[str] = mapped_column(String(512))
    package: Mapped[str] = mapped_column(String(128), default="", index=True)  # ns/name, lower
    sha256: Mapped[str] = mapped_column(String(64))
    log_index: Mapped[int]
    body: Mapped[str] = mapped_column(Text)  # the document (JCS)
