"""outbox lanes: timely messages and answers queue along their own partial indexes

Revision ID: 0006
Revises: 0005

A delivery worker walks the circles' timely messages (kickoffs, prompts,
notices) before answers to what someone just did (`answer:…` keys), so a
backlog of answers never holds back a session's kickoff. Each lane is a
partial index, in the order a worker walks them (it replaces `ix_outbox_due`
for that walk; the due index still finds the next row to fall due).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

LANES = {
    "ix_outbox_timely": "key NOT LIKE 'answer:%'",
    "ix_outbox_answers": "key LIKE 'answer:%'",
}


def upgrade() -> None:
    for name, lane in LANES.items():
        where = sa.text(lane)
        op.create_index(
            name,
            "outbox",
            ["status", "next_attempt_at", "id"],
            unique=False,
            sqlite_where=where,
            postgresql_where=where,
        )


def downgrade() -> None:
    for name in LANES:
        op.drop_index(name, table_name="outbox")
