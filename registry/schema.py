"""SQLAlchemy models of the registry (the head schema; migrations/ builds it step by step)."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite stores naive UTC text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the registry; pass an aware (UTC) datetime")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class U64(sa.TypeDecorator):
    """uint64 (proto seeds) stored two's-complement in a signed BIGINT."""

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not 0 <= value < 2**64:
            raise ValueError(f"seed {value} is outside uint64")
        return value - 2**64 if value >= 2**63 else value

    def process_result_value(self, value, dialect):
        return None if value is None else (value + 2**64 if value < 0 else value)


# Byte-order collation on PostgreSQL so that prefix range scans match SQLite's BINARY order.
Name = sa.String(200).with_variant(postgresql.VARCHAR(200, collation="C"), "postgresql")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)


class Asset(Base):
    __tablename__ = "assets"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Name, unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version_count: Mapped[int] = mapped_column(sa.Integer, default=0)


class AssetTag(Base):
    __tablename__ = "asset_tags"
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(sa.String(64), primary_key=True, index=True)


class Version(Base):
    __tablename__ = "versions"
    __table_args__ = (
        sa.UniqueConstraint("asset_id", "number"),
        sa.Index("ix_versions_asset_id_idem_key", "asset_id", "idem_key"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    author: Mapped[str] = mapped_column(sa.String(200))
    source_sha256: Mapped[str] = mapped_column(sa.String(64))
    parameters: Mapped[dict] = mapped_column(Json)
    idem_key: Mapped[str] = mapped_column(sa.String(64))
    backend: Mapped[str] = mapped_column(sa.String(100))
    backend_version: Mapped[str] = mapped_column(sa.String(100))
    seed: Mapped[int] = mapped_column(U64)
    mode: Mapped[str] = mapped_column(sa.String(32))
    stats: Mapped[dict] = mapped_column(Json)
    reports: Mapped[list] = mapped_column(Json)
    repair: Mapped[dict] = mapped_column(Json)
    faces: Mapped[int | None] = mapped_column(sa.BigInteger)
    vertices: Mapped[int | None] = mapped_column(sa.BigInteger)
    volume_m3: Mapped[float | None] = mapped_column(sa.Float)
    texture_size: Mapped[int | None] = mapped_column(sa.Integer)
    job_id: Mapped[str | None] = mapped_column(sa.String(200))
    deprecated: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    deprecated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deprecated_by: Mapped[str | None] = mapped_column(sa.String(200))
    deprecated_reason: Mapped[str | None] = mapped_column(sa.Text)
    caption: Mapped[str | None] = mapped_column(sa.Text)  # the caption backend's words (searched by text)
    caption_tags: Mapped[list | None] = mapped_column(Json)


class Artifact(Base):
    __tablename__ = "artifacts"
    __table_args__ = (sa.UniqueConstraint("version_id", "kind", "lod"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("versions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    lod: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    media_type: Mapped[str] = mapped_column(sa.String(200))


class Channel(Base):
    __tablename__ = "channels"
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("versions.id"), index=True)
    moved_by: Mapped[str] = mapped_column(sa.String(200))
    moved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditLog(Base):
    """Append-only: rows are inserted, never updated or deleted."""

    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_asset_id_channel", "asset_id", "channel"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(sa.String(200))
    action: Mapped[str] = mapped_column(sa.String(32))
    asset_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assets.id", ondelete="SET NULL"))
    version: Mapped[int | None] = mapped_column(sa.Integer)
    channel: Mapped[str | None] = mapped_column(sa.String(64))
    detail: Mapped[dict] = mapped_column(Json)


# --- revision 0002 ---


class Request(Base):
    """Client request ids and the version each was answered with (retries get the same one).

    A request id belongs to its caller (revision 0004): another caller's same id is another request.
    """

    __tablename__ = "requests"
    caller: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    request_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("versions.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class VersionVerdict(Base):
    """One row per validation report, for filtering history by profile verdict."""

    __tablename__ = "version_verdicts"
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True)
    profile: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    verdict: Mapped[str] = mapped_column(sa.String(16))
