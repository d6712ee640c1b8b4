"""Tables of verified mirrors (docs/mirrors.md): the registries this one mirrors, the
releases it took from them with their proofs, and the entries it refused."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fpmreg.server.db import Base


class MirrorSource(Base):
    """A namespace or package of another registry mirrored into a local namespace.

    The origin's log key and record keys are pinned when it is first followed; `size`
    and `root` are the origin's checkpoint this mirror last verified, so a later one
    must extend it (else the origin's log forked and syncing stops: `status` "forked")."""

    __tablename__ = "mirror_sources"
    __table_args__ = (UniqueConstraint("origin", "remote_namespace", "remote_package"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(String(256))  # the origin registry's base URL
    remote_actor: Mapped[str] = mapped_column(String(512))  # the actor followed
    remote_namespace: Mapped[str] = mapped_column(String(64))
    remote_package: Mapped[str] = mapped_column(String(64), default="")  # "": all of it
    local_namespace_id: Mapped[int] = mapped_column(
        ForeignKey("namespaces.id", ondelete="CASCADE"), index=True
    )
    log_origin: Mapped[str] = mapped_column(String(256))
    note_key: Mapped[str] = mapped_column(String(512))  # C2SP vkey, pinned
    record_keys: Mapped[str] = mapped_column(Text)  # Multikeys, space-separated, pinned
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    checkpoint: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="following")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    follow_id: Mapped[str] = mapped_column(String(512), default="")
    accepted_at: Mapped[datetime | None]
    synced_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class MirroredRelease(Base):
    """A release taken from a source, with what proved it: the origin's signed record
    (JCS bytes), its index and the checkpoint it was proved under."""

    __tablename__ = "mirrored_releases"
    __table_args__ = (UniqueConstraint("source_id", "log_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("mirror_sources.id", ondelete="CASCADE"), index=True
    )
    log_index: Mapped[int] = mapped_column(BigInteger)
    subject: Mapped[str] = mapped_column(String(256), index=True)  # the origin's package URL
    local_subject: Mapped[str] = mapped_column(String(256), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    record: Mapped[bytes] = mapped_column(LargeBinary)
    checkpoint: Mapped[str] = mapped_column(Text)
    mirrored_at: Mapped[datetime]


class MirrorRefusal(Base):
    """An entry of a source's log this mirror refused, and why (shown to operators)."""

    __tablename__ = "mirror_refusals"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("mirror_sources.id", ondelete="CASCADE"), index=True
    )
    log_index: Mapped[int] = mapped_column(BigInteger)
    subject: Mapped[str] = mapped_column(String(256), default="")
    reason: Mapped[str] = mapped_column(Text)
    refused_at: Mapped[datetime]
