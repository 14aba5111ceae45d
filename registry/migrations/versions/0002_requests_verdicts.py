"""Client request ids, and per-profile verdicts (backfilled from versions.reports).

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LEVELS = {0: "unspecified", 1: "pass", 2: "warn", 3: "fail"}


def _verdict(value) -> str:
    if isinstance(value, int):
        return LEVELS.get(value, "unspecified")
    return str(value or "unspecified").lower().removeprefix("check_level_")


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("request_id", sa.String(200), nullable=False),
        sa.Column("version_id", Id, sa.ForeignKey("versions.id", ondelete="CASCADE", name="fk_requests_version_id_versions"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name="pk_requests"),
    )
    op.create_index("ix_requests_version_id", "requests", ["version_id"])
    verdicts = op.create_table(
        "version_verdicts",
        sa.Column("version_id", Id, sa.ForeignKey("versions.id", ondelete="CASCADE", name="fk_version_verdicts_version_id_versions"), nullable=False),
        sa.Column("profile", sa.String(64), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("version_id", "profile", name="pk_version_verdicts"),
    )
    conn = op.get_bind()
    rows, batch = conn.execute(sa.text("SELECT id, reports FROM versions")), []
    for vid, reports in rows:
        if isinstance(reports, str):
            reports = json.loads(reports)
        seen = {}
        for r in reports or ():
            seen[str(r.get("profile") or "default")] = _verdict(r.get("verdict"))
        batch += [{"version_id": vid, "profile": p, "verdict": v} for p, v in seen.items()]
    if batch:
        op.bulk_insert(verdicts, batch)


def downgrade() -> None:
    op.drop_table("version_verdicts")
    op.drop_table("requests")
