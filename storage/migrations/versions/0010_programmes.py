"""programmes: programmes, participants' enrolments and intakes, proposals, match history

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _when(name: str, *, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "programmes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("name_key", sa.String(length=80), nullable=False),
        sa.Column("focus", sa.Text(), nullable=False),
        sa.Column("areas", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("smallest", sa.Integer(), nullable=False),
        sa.Column("largest", sa.Integer(), nullable=False),
        sa.Column("emphasis", sa.String(length=16), nullable=False),
        sa.Column("schedule", sa.String(length=200), nullable=False),
        sa.Column("managers", sa.String(length=400), nullable=False),
        _when("created_at"),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "workspace", "name_key", name="uq_programmes_name"),
    )
    op.create_table(
        "enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        _when("invited_at"),
        sa.Column("step", sa.Integer(), nullable=True),
        _when("intake_done_at", nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        _when("left_at", nullable=True),
        sa.Column("circle_id", sa.Integer(), nullable=True),
        sa.Column("wants", sa.Text(), nullable=False),
        sa.Column("own_words", sa.Text(), nullable=False),
        sa.Column("offers", sa.Text(), nullable=False),
        sa.Column("function", sa.String(length=80), nullable=False),
        sa.Column("experience", sa.String(length=16), nullable=False),
        sa.Column("preference", sa.String(length=16), nullable=False),
        sa.Column("not_with", sa.Text(), nullable=False),
        sa.Column("ratings", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["circle_id"], ["circles.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.ForeignKeyConstraint(["programme_id"], ["programmes.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("programme_id", "person_id", name="uq_enrolments"),
    )
    with op.batch_alter_table("enrolments") as batch:
        batch.create_index("ix_enrolments_person", ["person_id"], unique=False)
    op.create_table(
        "groupings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("circles", sa.Text(), nullable=False),
        sa.Column("locked", sa.String(length=400), nullable=False),
        _when("made_at"),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["programme_id"], ["programmes.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("programme_id"),
    )
    op.create_table(
        "match_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("circle_id", sa.Integer(), nullable=False),
        sa.Column("members", sa.Text(), nullable=False),
        sa.Column("pair", sa.Boolean(), nullable=False),
        _when("at"),
        sa.ForeignKeyConstraint(["circle_id"], ["circles.id"]),
        sa.ForeignKeyConstraint(["programme_id"], ["programmes.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("match_records") as batch:
        batch.create_index(batch.f("ix_match_records_programme_id"), ["programme_id"], unique=False)


def downgrade() -> None:
    op.drop_table("match_records")
    op.drop_table("groupings")
    op.drop_table("enrolments")
    op.drop_table("programmes")
