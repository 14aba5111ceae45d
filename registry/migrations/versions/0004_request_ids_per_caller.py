"""Request ids belong to their caller: requests keyed by (caller, request_id), jobs unique on the same pair.

Existing request rows take the caller of the job that made their version (else '').

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests") as b:
        b.add_column(sa.Column("caller", sa.String(200), nullable=False, server_default=""))
    op.execute(
        "UPDATE requests SET caller = (SELECT jobs.caller FROM versions JOIN jobs ON jobs.id = versions.job_id"
        " WHERE versions.id = requests.version_id) WHERE EXISTS (SELECT 1 FROM versions JOIN jobs"
        " ON jobs.id = versions.job_id WHERE versions.id = requests.version_id)"
    )
    with op.batch_alter_table("requests") as b:
        b.drop_constraint("pk_requests", type_="primary")
        b.create_primary_key("pk_requests", ["caller", "request_id"])
    with op.batch_alter_table("jobs") as b:
        b.drop_constraint("uq_jobs_request_id", type_="unique")
        b.create_unique_constraint("uq_jobs_caller_request_id", ["caller", "request_id"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as b:
        b.drop_constraint("uq_jobs_caller_request_id", type_="unique")
        b.create_unique_constraint("uq_jobs_request_id", ["request_id"])
    with op.batch_alter_table("requests") as b:
        b.drop_constraint("pk_requests", type_="primary")
        b.create_primary_key("pk_requests", ["request_id"])
        b.drop_column("caller")
