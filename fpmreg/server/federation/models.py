"""Tables of the transparency log: its size, its entries and its Merkle tree nodes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fpmreg.server.db import Base


class LogHead(Base):
    """The one row holding the log's size. Appending increments it first, which takes
    the write lock on both databases, so two appends never get the same index."""

    __tablename__ = "log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)


class LogEntry(Base):
    """One entry: the JCS bytes of a signed record (docs/transparency-log.md)."""

    __tablename__ = "log_entries"

    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(256), index=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class LogNode(Base):
    """The hash of one complete subtree: `level` 0 is a leaf hash, level `l` the root of
    `2**l` leaves starting at leaf `index * 2**l`. Written once, when it completes."""

    __tablename__ = "log_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class WitnessState(Base):
    """As a witness: the latest checkpoint this registry cosigned for a peer's log."""

    __tablename__ = "witness_state"

    origin: Mapped[str] = mapped_column(String(256), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    updated_at: Mapped[datetime]


class Cosignature(Base):
    """As a log: a witness's cosignature line of this log's checkpoint of `size`."""

    __tablename__ = "log_cosignatures"

    witness: Mapped[str] = mapped_column(String(256), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    line: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime]


class Follower(Base):
    """A remote actor following one of this registry's actors (an accepted `Follow`)."""

    __tablename__ = "ap_followers"
    __table_args__ = (UniqueConstraint("actor_path", "remote_actor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_path: Mapped[str] = mapped_column(String(256), index=True)  # `/ap/packages/ns/p`
    remote_actor: Mapped[str] = mapped_column(String(512))
    inbox: Mapped[str] = mapped_column(String(512))
    follow_id: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime]


class RemoteKey(Base):
    """A remote actor's public key, fetched to check its signatures."""

    __tablename__ = "ap_remote_keys"

    key_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    owner: Mapped[str] = mapped_column(String(512))
    pem: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime]


class SeenSignature(Base):
    """The SHA-256 of a `Signature` header already accepted: a replay within the clock
    window is refused (rows older than the window are removed)."""

    __tablename__ = "ap_seen_signatures"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(index=True)


class IncomingFlag(Base):
    """A `Flag` a remote actor sent us, filed as report `report_id`; its id is the key,
    so the same Flag sent again makes no second report (docs/activitypub.md,
    "Federated reports")."""

    __tablename__ = "ap_incoming_flags"

    flag_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    remote_actor: Mapped[str] = mapped_column(String(512))
    remote_host: Mapped[str] = mapped_column(String(256), index=True)  # counted per hour
    inbox: Mapped[str] = mapped_column(String(512))  # where the decision is sent
    report_id: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime]


class OutgoingFlag(Base):
    """A `Flag` this registry sent about a remote object, and the decision that came
    back (`status` sent, accepted or rejected)."""

    __tablename__ = "ap_outgoing_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    flag_id: Mapped[str] = mapped_column(String(512), unique=True)
    remote_object: Mapped[str] = mapped_column(String(512))
    inbox: Mapped[str] = mapped_column(String(512))
    report_id: Mapped[int | None] = mapped_column(Integer)  # the local report, if any
    status: Mapped[str] = mapped_column(String(16), default="sent")
    decision: Mapped[str] = mapped_column(String(32), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
