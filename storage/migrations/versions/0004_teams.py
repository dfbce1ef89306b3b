"""teams: conversation references

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 15:00:00.000000

The table owned by the Teams adapter (see `storage.teams_tables`); the core
never reads it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "teams_references",
        sa.Column("address", sa.String(length=400), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("team", sa.String(length=255), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )
    with op.batch_alter_table("teams_references", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_teams_references_team"), ["team"], unique=False)
        batch_op.create_index("ix_teams_references_tenant", ["tenant", "updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("teams_references", schema=None) as batch_op:
        batch_op.drop_index("ix_teams_references_tenant")
        batch_op.drop_index(batch_op.f("ix_teams_references_team"))
    op.drop_table("teams_references")
