"""The credentials table: every verifiable credential the registry issued, with its place
in a status list and whether it was revoked (docs/credentials.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fpmreg.server.db import Base

# What a credential attests (docs/credentials.md): a verified build, or a community
# policy passed (then `community` and `policy` name it).
KIND_BUILD = "build"
KIND_POLICY = "policy"


class IssuedCredential(Base):
    """One signed credential. Rows outlive their version (`version_id` becomes NULL when
    it is deleted), so the status bit of a copy held elsewhere stays served."""

    __tablename__ = "credentials"
    __table_args__ = (UniqueConstraint("status_list", "status_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("versions.id", ondelete="SET NULL"), index=True
    )
    namespace: Mapped[str] = mapped_column(String(64))
    package: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    community: Mapped[str] = mapped_column(String(63), default="", server_default="")
    policy: Mapped[str] = mapped_column(String(63), default="", server_default="")  # its slug
    status_list: Mapped[int] = mapped_column(Integer)
    status_index: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(Text)  # the signed credential, JSON
    issued_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str] = mapped_column(Text, default="")
