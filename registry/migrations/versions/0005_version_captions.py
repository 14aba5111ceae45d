"""Captions on versions: the caption backend's words and tags (searched by `meshsmith search --text`).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("versions") as b:
        b.add_column(sa.Column("caption", sa.Text(), nullable=True))
        b.add_column(sa.Column("caption_tags", Json, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("versions") as b:
        b.drop_column("caption_tags")
        b.drop_column("caption")
