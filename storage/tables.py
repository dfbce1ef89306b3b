"""The database tables, as SQLModel classes.

Columns mirror the core's dataclasses field by field; composite values
(a rhythm, working hours, a set of stages) are stored as the same text the
command grammar uses, so a row reads like what a person typed. Times are
stored in UTC.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def _when(*, nullable: bool = False, index: bool = False) -> datetime:
    """A timezone-aware timestamp column (UTC)."""
    return Field(  # type: ignore[no-any-return]
        default=None if nullable else ...,
        sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index),
    )


class PersonRow(SQLModel, table=True):
    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("platform", "workspace", "user", name="uq_people_key"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    workspace: str = Field(max_length=64)
    user: str = Field(max_length=128)
    name: str = Field(max_length=255)
    tz: str = Field(max_length=64)
    tz_pinned: bool = False
    hours: str = Field(max_length=64)
    away_until: date | None = None
    admin: bool = False


class CircleRow(SQLModel, table=True):
    __tablename__ = "circles"
    __table_args__ = (
        Index("ix_circles_home", "platform", "workspace", "home"),
        UniqueConstraint("platform", "workspace", "name_key", name="uq_circles_name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    workspace: str = Field(max_length=64)
    name: str = Field(max_length=80)
    name_key: str = Field(max_length=80)  # lower-cased name, unique per workspace
    kind: str = Field(max_length=32)
    home: str = Field(max_length=255)
    tz: str = Field(max_length=64)
    window: int  # seconds
    facilitation: str = Field(max_length=16)
    hot_seat: str = Field(max_length=16)
    commitments: str = Field(max_length=16)
    review: bool
    max_size: int
    created_at: datetime = _when()
    rules: str = Field(sa_column=Column(Text, nullable=False))
    focus: str = Field(sa_column=Column(Text, nullable=False))
    min_size: int = 2
    checkin_question: str = Field(default="", sa_column=Column(Text, nullable=False))
    rhythm: str | None = Field(default=None, max_length=80)
    anchor: date | None = None
    end_after: int | None = None
    end_on: date | None = None
    status: str = Field(max_length=16, index=True)


class MembershipRow(SQLModel, table=True):
    __tablename__ = "memberships"

    id: int | None = Field(default=None, primary_key=True)
    circle_id: int = Field(foreign_key="circles.id", index=True)
    person_id: int = Field(foreign_key="people.id", index=True)
    role: str = Field(max_length=16)
    joined_at: datetime = _when()
    position: int
    left_at: datetime | None = _when(nullable=True)
    agreed_at: datetime | None = _when(nullable=True)
    missed: int = 0
    invited_by: int | None = Field(default=None, foreign_key="people.id")


class SessionRow(SQLModel, table=True):
    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_circle_status", "circle_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    circle_id: int = Field(foreign_key="circles.id")
    number: int
    opens_at: datetime = _when(index=True)
    closes_at: datetime = _when(index=True)
    status: str = Field(max_length=16, index=True)
    facilitator_id: int | None = Field(default=None, foreign_key="people.id")
    presenter_id: int | None = Field(default=None, foreign_key="people.id")
    facilitator_pinned: bool = False
    presenter_pinned: bool = False
    topic: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    final: bool = False
    links: str = Field(default="", sa_column=Column(Text, nullable=False))
    sequence: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # calendars'


class AttendanceRow(SQLModel, table=True):
    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("session_id", "person_id", name="uq_attendance"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="sessions.id", index=True)
    person_id: int = Field(foreign_key="people.id")
    since: datetime = _when()
    handled: str = Field(default="", max_length=200)
    nudged: int = 0


class PromptRow(SQLModel, table=True):
    __tablename__ = "prompts"
    __table_args__ = (
        Index("ix_prompts_person_state", "person_id", "state"),
        Index("ix_prompts_session", "session_id", "person_id", "kind"),
        # A session's check-ins counted from the index alone (the dashboard's turnout).
        Index("ix_prompts_turnout", "session_id", "kind", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="sessions.id")
    person_id: int = Field(foreign_key="people.id")
    kind: str = Field(max_length=16)
    required: bool
    created_at: datetime = _when()
    commitment_id: int | None = Field(default=None, foreign_key="commitments.id")
    state: str = Field(max_length=16)


class CheckInRow(SQLModel, table=True):
    __tablename__ = "checkins"
    __table_args__ = (UniqueConstraint("session_id", "person_id", name="uq_checkins"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="sessions.id", index=True)
    person_id: int = Field(foreign_key="people.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    answered_at: datetime = _when()
    source: str | None = Field(default=None, max_length=128)
    version: int = 0
    posted: bool = False


class AskRow(SQLModel, table=True):
    __tablename__ = "asks"
    __table_args__ = (UniqueConstraint("session_id", "person_id", name="uq_asks"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="sessions.id", index=True)
    person_id: int = Field(foreign_key="people.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    posted_at: datetime = _when()
    source: str | None = Field(default=None, max_length=128)
    version: int = 0


class ResponseRow(SQLModel, table=True):
    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("ask_id", "person_id", name="uq_responses"),)

    id: int | None = Field(default=None, primary_key=True)
    ask_id: int = Field(foreign_key="asks.id", index=True)
    person_id: int = Field(foreign_key="people.id")
    ref: str = Field(max_length=128)
    at: datetime = _when()


class CommitmentRow(SQLModel, table=True):
    __tablename__ = "commitments"

    id: int | None = Field(default=None, primary_key=True)
    circle_id: int = Field(foreign_key="circles.id", index=True)
    person_id: int = Field(foreign_key="people.id", index=True)
    session_id: int = Field(foreign_key="sessions.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    made_at: datetime = _when()
    status: str = Field(max_length=16)
    reflection: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reviewed_in: int | None = Field(default=None, foreign_key="sessions.id", index=True)
    carried: int = 0
    source: str | None = Field(default=None, max_length=128)


# The outbox's two lanes (see `storage.delivery`): answers to what someone just did
# (`answer:…` keys) queue apart from the circles' timely messages, each lane along
# its own partial index. The predicates are SQL text because a query uses a partial
# index only when its WHERE repeats the predicate literally.
ANSWER = "key LIKE 'answer:%'"
TIMELY = "key NOT LIKE 'answer:%'"


def _lane_index(name: str, lane: str) -> Index:
    where = text(lane)
    return Index(
        name, "status", "next_attempt_at", "id", sqlite_where=where, postgresql_where=where
    )


class OutboxRow(SQLModel, table=True):
    """A message to deliver. `key` is unique: a job that fires twice writes it once.

    A delivery worker claims a row by setting `status` to "sending" with a
    `claim` token and a `lease_until`; a crashed worker's lease runs out and
    the row is claimed again. `failing_since` is the first transient failure
    of a run of them, so a message is given up on only after a long time.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at", "id"),
        _lane_index("ix_outbox_timely", TIMELY),
        _lane_index("ix_outbox_answers", ANSWER),
        Index("ix_outbox_ref", "target", "platform_ref"),
        Index("ix_outbox_queue", "target", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    target_kind: str = Field(max_length=16)  # "person" | "conversation"
    target: str = Field(max_length=400)
    thread_key: str | None = Field(default=None, max_length=200)
    replaces: str | None = Field(default=None, max_length=200)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _when()
    next_attempt_at: datetime = _when()
    status: str = Field(max_length=16, default="pending")  # pending | sending | sent | failed
    attempts: int = 0
    platform_ref: str | None = Field(default=None, max_length=200)
    sent_at: datetime | None = _when(nullable=True)
    error: str | None = Field(default=None, max_length=400)
    claim: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = _when(nullable=True)
    failing_since: datetime | None = _when(nullable=True)


class InboundRow(SQLModel, table=True):
    """Inbound event ids already handled: a retried delivery has no second effect."""

    __tablename__ = "inbound_events"

    event_id: str = Field(primary_key=True, max_length=200)
    received_at: datetime = _when(index=True)


# --- programmes (SPEC §13) ------------------------------------------------------------


class ProgrammeRow(SQLModel, table=True):
    __tablename__ = "programmes"
    __table_args__ = (
        UniqueConstraint("platform", "workspace", "name_key", name="uq_programmes_name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    workspace: str = Field(max_length=64)
    name: str = Field(max_length=80)
    name_key: str = Field(max_length=80)  # lower-cased name, unique per workspace
    focus: str = Field(sa_column=Column(Text, nullable=False))
    areas: str = Field(sa_column=Column(Text, nullable=False))  # one per line
    kind: str = Field(max_length=32)
    smallest: int
    largest: int
    emphasis: str = Field(max_length=16)
    schedule: str = Field(max_length=200)
    managers: str = Field(max_length=400)  # person ids, comma-separated
    created_at: datetime = _when()
    status: str = Field(max_length=16)
    midpoint_at: datetime | None = _when(nullable=True)  # when the managers' digest went
    reported_at: datetime | None = _when(nullable=True)  # when the programme report went


class EnrolmentRow(SQLModel, table=True):
    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("programme_id", "person_id", name="uq_enrolments"),
        Index("ix_enrolments_person", "person_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    programme_id: int = Field(foreign_key="programmes.id")
    person_id: int = Field(foreign_key="people.id")
    invited_at: datetime = _when()
    step: int | None = None
    intake_done_at: datetime | None = _when(nullable=True)
    reminders: int = 0
    left_at: datetime | None = _when(nullable=True)
    circle_id: int | None = Field(default=None, foreign_key="circles.id")
    wants: str = Field(sa_column=Column(Text, nullable=False))  # areas, one per line
    own_words: str = Field(sa_column=Column(Text, nullable=False))
    offers: str = Field(sa_column=Column(Text, nullable=False))
    function: str = Field(max_length=80)
    experience: str = Field(max_length=16)
    preference: str = Field(max_length=16)
    not_with: str = Field(sa_column=Column(Text, nullable=False))  # person ids; private
    ratings: str = Field(max_length=64)  # digits 1-5, in the programme's area order


class GroupingRow(SQLModel, table=True):
    """The current proposal of a programme: circles of person ids, one per line."""

    __tablename__ = "groupings"

    id: int | None = Field(default=None, primary_key=True)
    programme_id: int = Field(foreign_key="programmes.id", unique=True)
    circles: str = Field(sa_column=Column(Text, nullable=False))
    locked: str = Field(max_length=400)
    made_at: datetime = _when()
    basis: str = Field(sa_column=Column(Text, nullable=False))  # person id:fingerprint, …


class MatchRecordRow(SQLModel, table=True):
    __tablename__ = "match_records"

    id: int | None = Field(default=None, primary_key=True)
    programme_id: int = Field(foreign_key="programmes.id", index=True)
    circle_id: int = Field(foreign_key="circles.id")
    members: str = Field(sa_column=Column(Text, nullable=False))  # person ids, comma-separated
    pair: bool
    at: datetime = _when()


class CalendarFeedRow(SQLModel, table=True):
    """A person's private calendar address: only the SHA-256 of its secret (SPEC §16)."""

    __tablename__ = "calendar_feeds"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="people.id", unique=True)
    secret_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _when()


# --- checkpoints and surveys (SPEC §15) ---------------------------------------------


class PulseRow(SQLModel, table=True):
    __tablename__ = "pulses"
    __table_args__ = (
        UniqueConstraint("session_id", "person_id", "kind", name="uq_pulses"),
        Index("ix_pulses_person", "person_id", "answered_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="people.id")
    circle_id: int = Field(foreign_key="circles.id", index=True)
    session_id: int = Field(foreign_key="sessions.id")
    kind: str = Field(max_length=16)
    asked_at: datetime = _when()
    programme_id: int | None = Field(default=None, foreign_key="programmes.id", index=True)
    score: int | None = None
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    shared: bool = False
    answered_at: datetime | None = _when(nullable=True)


class SurveyRow(SQLModel, table=True):
    __tablename__ = "surveys"
    __table_args__ = (
        UniqueConstraint("programme_id", "person_id", name="uq_surveys"),
        Index("ix_surveys_person", "person_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    programme_id: int = Field(foreign_key="programmes.id")
    person_id: int = Field(foreign_key="people.id")
    asked_at: datetime = _when()
    step: int | None = None
    reminders: int = 0
    ratings: str = Field(default="", max_length=64)  # digits 1-5, in the programme's area order
    changed: str = Field(default="", sa_column=Column(Text, nullable=False))
    shared: bool = False
    recommend: int | None = None
    answered_at: datetime | None = _when(nullable=True)


metadata = SQLModel.metadata
from storage import slack_tables as slack_tables  # noqa: E402  (Slack adapter tables)
from storage import teams_tables as teams_tables  # noqa: E402  (Teams adapter tables)
