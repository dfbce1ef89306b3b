"""memberships: who invited the member, so a welcome composed again still names them

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("memberships") as batch:
        batch.add_column(sa.Column("invited_by", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_memberships_invited_by_people", "people", ["invited_by"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("memberships") as batch:
        batch.drop_constraint("fk_memberships_invited_by_people", type_="foreignkey")
        batch.drop_column("invited_by")
