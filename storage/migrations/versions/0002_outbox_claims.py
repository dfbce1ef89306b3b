"""outbox claims: leases for several delivery workers, and a transient-failure clock

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:00:00.000000

A worker claims a row by setting status "sending", a claim token and a lease;
`failing_since` marks the start of a run of transient failures. The queue
index serves the "is an older message to this conversation still on its way"
check and the "when was the last message sent here" look-up. The due index
gains `id`, so that workers walk the queue in (due time, id) order along it
and stop after a page, even when thousands of rows fall due at one moment.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_outbox_queue", ["target", "status", "id"], unique=False)
        batch_op.drop_index("ix_outbox_due")
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at", "id"], unique=False)


def downgrade() -> None:
    # A row being sent goes back to the queue: the older schema has no leases.
    op.execute("UPDATE outbox SET status = 'pending' WHERE status = 'sending'")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_due")
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.drop_index("ix_outbox_queue")
        batch_op.drop_column("failing_since")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("claim")
