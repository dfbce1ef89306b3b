"""calendar feeds: a private address per person, and a sequence on sessions

Revision ID: 0009
Revises: 0008

Each person may have one calendar address; only the SHA-256 of its secret is
stored. A session's `sequence` goes up whenever its times or status change, so
calendar apps replace the event they hold (SPEC §16).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("person_id"),
        sa.UniqueConstraint("secret_hash"),
    )


def downgrade() -> None:
    op.drop_table("calendar_feeds")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("sequence")
