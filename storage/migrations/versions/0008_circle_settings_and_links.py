"""circles: a size's lower bound and a check-in question of their own; sessions: links

Revision ID: 0008
Revises: 0007

An organiser changes a kind's defaults per circle with `set …` (SPEC §3): the
size bounds and the check-in question join the settings a circle already kept
(an empty question is the kind's own, from its guide). A session keeps the
links its leader attached with `link`, one per line as `<url> <title>`.
Existing circles get their kind's lower bound.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

MIN_SIZES = {
    "mastermind": 6,
    "micro-group": 5,
    "peer-learning-group": 4,
    "mentoring-circle": 4,
    "mentoring-pair": 2,
}


def upgrade() -> None:
    with op.batch_alter_table("circles") as batch:
        batch.add_column(sa.Column("min_size", sa.Integer(), nullable=False, server_default="2"))
        batch.add_column(
            sa.Column("checkin_question", sa.Text(), nullable=False, server_default="")
        )
    circles = sa.table("circles", sa.column("kind", sa.String), sa.column("min_size", sa.Integer))
    for kind, size in MIN_SIZES.items():
        op.execute(circles.update().where(circles.c.kind == kind).values(min_size=size))
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("links", sa.Text(), nullable=False, server_default=""))
    # The defaults only filled the rows there were; new rows get their values from the core.
    for table, columns in (("circles", ("min_size", "checkin_question")), ("sessions", ("links",))):
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("links")
    with op.batch_alter_table("circles") as batch:
        batch.drop_column("checkin_question")
        batch.drop_column("min_size")
