"""commitments: the DM that carried a commitment, so editing it edits the commitment

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("commitments") as batch:
        batch.add_column(sa.Column("source", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("commitments") as batch:
        batch.drop_column("source")
