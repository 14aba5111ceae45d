"""Initial schema: assets, tags, versions, artifacts, channels, audit log.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Name = sa.String(200).with_variant(postgresql.VARCHAR(200, collation="C"), "postgresql")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Ts = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "assets",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("name", Name, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.Column("version_count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_assets"),
        sa.UniqueConstraint("name", name="uq_assets_name"),
    )
    op.create_table(
        "asset_tags",
        sa.Column("asset_id", Id, sa.ForeignKey("assets.id", ondelete="CASCADE", name="fk_asset_tags_asset_id_assets"), nullable=False),
        sa.Column("tag", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("asset_id", "tag", name="pk_asset_tags"),
    )
    op.create_index("ix_asset_tags_tag", "asset_tags", ["tag"])
    op.create_table(
        "versions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("asset_id", Id, sa.ForeignKey("assets.id", ondelete="CASCADE", name="fk_versions_asset_id_assets"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("parameters", Json, nullable=False),
        sa.Column("idem_key", sa.String(64), nullable=False),
        sa.Column("backend", sa.String(100), nullable=False),
        sa.Column("backend_version", sa.String(100), nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("mode", sa.String(32), nullable=False),
        sa.Column("stats", Json, nullable=False),
        sa.Column("reports", Json, nullable=False),
        sa.Column("repair", Json, nullable=False),
        sa.Column("faces", sa.BigInteger),
        sa.Column("vertices", sa.BigInteger),
        sa.Column("volume_m3", sa.Float),
        sa.Column("texture_size", sa.Integer),
        sa.Column("job_id", sa.String(200)),
        sa.Column("deprecated", sa.Boolean, nullable=False),
        sa.Column("deprecated_at", Ts),
        sa.Column("deprecated_by", sa.String(200)),
        sa.Column("deprecated_reason", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_versions"),
        sa.UniqueConstraint("asset_id", "number", name="uq_versions_asset_id_number"),
    )
    op.create_index("ix_versions_asset_id_idem_key", "versions", ["asset_id", "idem_key"])
    op.create_table(
        "artifacts",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("version_id", Id, sa.ForeignKey("versions.id", ondelete="CASCADE", name="fk_artifacts_version_id_versions"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("lod", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("media_type", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_artifacts"),
        sa.UniqueConstraint("version_id", "kind", "lod", name="uq_artifacts_version_id_kind_lod"),
    )
    op.create_index("ix_artifacts_sha256", "artifacts", ["sha256"])
    op.create_table(
        "channels",
        sa.Column("asset_id", Id, sa.ForeignKey("assets.id", ondelete="CASCADE", name="fk_channels_asset_id_assets"), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version_id", Id, sa.ForeignKey("versions.id", name="fk_channels_version_id_versions"), nullable=False),
        sa.Column("moved_by", sa.String(200), nullable=False),
        sa.Column("moved_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("asset_id", "name", name="pk_channels"),
    )
    op.create_index("ix_channels_version_id", "channels", ["version_id"])
    op.create_table(
        "audit_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("at", Ts, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("asset_id", Id, sa.ForeignKey("assets.id", ondelete="SET NULL", name="fk_audit_events_asset_id_assets")),
        sa.Column("version", sa.Integer),
        sa.Column("channel", sa.String(64)),
        sa.Column("detail", Json, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_asset_id_channel", "audit_events", ["asset_id", "channel"])


def downgrade() -> None:
    for table in ("audit_events", "channels", "artifacts", "versions", "asset_tags", "assets"):
        op.drop_table(table)
