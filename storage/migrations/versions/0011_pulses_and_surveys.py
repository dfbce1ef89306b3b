"""pulses and surveys: session and midpoint pulses, the end survey, programme checkpoints

Revision ID: 0011
Revises: 0010

A pulse is one person's 1–5 answer about a session (and, at a programme's
midpoint, an optional line and whether to share it). A survey is a programme
participant's end survey. A programme records when its midpoint digest and its
report went, so neither goes twice (SPEC §15). The Teams adapter keeps each
Teams user's Entra ID object id, so signing in to the dashboard with Entra ID
finds the person (SPEC §16). The dashboard counts a session's
check-ins from an index of prompts by session, kind and state (SPEC §16).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _when(name: str, *, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("programmes") as batch:
        batch.add_column(_when("midpoint_at", nullable=True))
        batch.add_column(_when("reported_at", nullable=True))
    op.create_table(
        "pulses",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("circle_id", sa.Integer(), sa.ForeignKey("circles.id"), nullable=False),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("sessions.id"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        _when("asked_at"),
        sa.Column("programme_id", sa.Integer(), sa.ForeignKey("programmes.id"), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        _when("answered_at", nullable=True),
        sa.UniqueConstraint("session_id", "person_id", "kind", name="uq_pulses"),
    )
    op.create_index("ix_pulses_circle_id", "pulses", ["circle_id"])
    op.create_index("ix_pulses_programme_id", "pulses", ["programme_id"])
    op.create_index("ix_pulses_person", "pulses", ["person_id", "answered_at"])
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("programme_id", sa.Integer(), sa.ForeignKey("programmes.id"), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        _when("asked_at"),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("ratings", sa.String(length=64), nullable=False),
        sa.Column("changed", sa.Text(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("recommend", sa.Integer(), nullable=True),
        _when("answered_at", nullable=True),
        sa.UniqueConstraint("programme_id", "person_id", name="uq_surveys"),
    )
    op.create_index("ix_surveys_person", "surveys", ["person_id"])
    op.create_table(
        "teams_users",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("aad_object_id", sa.String(length=64), nullable=False),
        sa.Column("user", sa.String(length=128), nullable=False),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("tenant", "aad_object_id"),
    )
    op.create_index("ix_prompts_turnout", "prompts", ["session_id", "kind", "state"])


def downgrade() -> None:
    op.drop_table("teams_users")
    op.drop_index("ix_surveys_person", table_name="surveys")
    op.drop_table("surveys")
    op.drop_index("ix_pulses_person", table_name="pulses")
    op.drop_index("ix_pulses_programme_id", table_name="pulses")
    op.drop_index("ix_pulses_circle_id", table_name="pulses")
    op.drop_table("pulses")
    with op.batch_alter_table("programmes") as batch:
        batch.drop_column("reported_at")
        batch.drop_column("midpoint_at")
    op.drop_index("ix_prompts_turnout", table_name="prompts")
