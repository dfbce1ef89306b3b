"""Storage on SQLite and PostgreSQL: repositories, the unit of work, the outbox, migrations.

Every test that touches a database runs on both (the `engine` fixture). The
message codec and the text forms of rhythms and working hours are pure, so
Hypothesis explores them without a database.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Connection

from bot import messages as m
from bot.checkins import CheckIn
from bot.circles import Circle, CircleStatus, Membership, Role
from bot.commitments import Commitment, CommitmentStatus
from bot.grammar import parse_hours, parse_rhythm
from bot.hot_seat import Ask, Response
from bot.kinds import Commitments, Facilitation, HotSeat, Kind
from bot.messages import Message, ToConversation, ToPerson
from bot.nudges import Attendance, Stage
from bot.people import Person, PersonKey
from bot.prompts import Prompt, PromptKind, PromptState
from bot.rhythm import Every, Rhythm
from bot.sessions import Session, SessionStatus
from bot.store import Conflict
from bot.working_hours import WorkingHours
from storage import codec
from storage.db import Database
from storage.delivery import OutboxStore
from storage.sqlite import OverlappingWrites
from storage.tables import OutboxRow, metadata
from storage.uow import SqlUnitOfWorkFactory

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
KEY = PersonKey("slack", "T1", "U1")
OUTBOX = OutboxRow.__table__  # type: ignore[attr-defined]


@pytest.fixture
def uow(engine: Database) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(engine)


def person(user: str = "U1", **changes: Any) -> Person:
    values: dict[str, Any] = {"key": PersonKey("slack", "T1", user), "name": f"Name {user}"}
    return Person(**{**values, **changes})


def circle(name: str = "Product Leads", **changes: Any) -> Circle:
    values: dict[str, Any] = {
        "platform": "slack",
        "workspace": "T1",
        "name": name,
        "kind": Kind.MENTORING_CIRCLE,
        "home": f"C-{name}",
        "tz": "Europe/Berlin",
        "window": timedelta(days=3),
        "facilitation": Facilitation.ROTATING,
        "hot_seat": HotSeat.PRESENTER,
        "commitments": Commitments.REQUIRED,
        "review": True,
        "max_size": 8,
        "created_at": NOW,
    }
    return Circle(**{**values, **changes})


async def seeded(uow: SqlUnitOfWorkFactory) -> tuple[Person, Circle, Session]:
    """A person, a circle and an open session, committed."""
    async with uow() as work:
        p = await work.people.add(person())
        c = await work.circles.add(circle())
        assert c.id is not None
        s = await work.sessions.add(
            Session(
                circle_id=c.id,
                number=1,
                opens_at=NOW,
                closes_at=NOW + timedelta(days=3),
                status=SessionStatus.OPEN,
            )
        )
        await work.commit()
    return p, c, s


def ids(objects: list[Any]) -> list[int]:
    return [o.id for o in objects]


# --- every entity round-trips ----------------------------------------------------------


@pytest.mark.parametrize(
    "who",
    [
        person(),
        person(
            "U2",
            name="Zoë O’Brien-Łukasiewicz 🌱",
            tz="America/St_Johns",
            tz_pinned=True,
            hours=WorkingHours(start=0, end=24 * 60, days=frozenset(range(7))),
            away_until=date(2026, 12, 31),
            admin=True,
        ),
        person(
            "U3",
            hours=WorkingHours(start=7 * 60 + 30, end=15 * 60 + 45, days=frozenset({0, 2, 4})),
        ),
    ],
    ids=["defaults", "everything-set", "odd-hours"],
)
async def test_a_person_round_trips(uow: SqlUnitOfWorkFactory, who: Person) -> None:
    async with uow() as work:
        added = await work.people.add(replace(who))
        await work.commit()
    assert added.id is not None
    async with uow() as work:
        by_id = await work.people.get(added.id)
        by_key = await work.people.by_key(who.key)
        missing = await work.people.by_key(PersonKey("slack", "T1", "nobody"))
    assert by_id == who and by_id.id == added.id
    assert by_key == who
    assert missing is None
    assert by_id.hours == who.hours and by_id.away_until == who.away_until


async def test_the_same_user_in_another_workspace_or_platform_is_another_person(
    uow: SqlUnitOfWorkFactory,
) -> None:
    async with uow() as work:
        a = await work.people.add(person(name="Slack T1"))
        b = await work.people.add(Person(key=PersonKey("slack", "T2", "U1"), name="Slack T2"))
        c = await work.people.add(Person(key=PersonKey("teams", "T1", "U1"), name="Teams T1"))
        await work.commit()
    async with uow() as work:
        assert (await work.people.by_key(KEY)) == a
        assert (await work.people.by_key(PersonKey("slack", "T2", "U1"))) == b
        assert (await work.people.by_key(PersonKey("teams", "T1", "U1"))) == c
    with pytest.raises(Conflict):  # a unique-key clash leaves the unit of work as Conflict
        async with uow() as work:
            await work.people.add(person(name="a second U1"))


RHYTHMS = [
    Rhythm(every=Every.DAY, at=time(7, 5)),
    Rhythm(every=Every.WEEKS, weeks=1, weekday=0, at=time(9, 0)),
    Rhythm(every=Every.WEEKS, weeks=2, weekday=1, at=time(9, 0)),
    Rhythm(every=Every.WEEKS, weeks=8, weekday=6, at=time(23, 59)),
    Rhythm(every=Every.MONTH_WEEKDAY, ordinal=-1, weekday=4, at=time(16, 30)),
    Rhythm(every=Every.MONTH_WEEKDAY, ordinal=3, weekday=2, at=time(0, 0)),
    Rhythm(every=Every.MONTH_DAY, day=28, at=time(12, 0)),
]


async def test_a_circle_round_trips_with_every_kind_of_rhythm(uow: SqlUnitOfWorkFactory) -> None:
    originals = [
        circle(
            f"Café & Co. – Ärzte {n}",
            kind=Kind.PEER_LEARNING_GROUP,
            window=timedelta(hours=36),
            facilitation=Facilitation.NONE,
            hot_seat=HotSeat.NONE,
            commitments=Commitments.OPTIONAL,
            review=False,
            max_size=6,
            created_at=datetime(2026, 3, 29, 3, 30, 15, 123456, tzinfo=BERLIN),  # just after DST
            rules="1. Be kind.\n2. <!channel> stays <here>.",
            focus="How do we say no?",
            rhythm=rhythm,
            anchor=date(2026, 12, 1),
            end_after=2,
            end_on=date(2027, 6, 30),
            status=CircleStatus.PAUSED,
        )
        for n, rhythm in enumerate([None, *RHYTHMS])
    ]
    async with uow() as work:
        added = [await work.circles.add(replace(original)) for original in originals]
        await work.commit()
    async with uow() as work:
        for original, new in zip(originals, added, strict=True):
            assert new.id is not None
            back = await work.circles.get(new.id)
            assert back == original
            assert back.rhythm == original.rhythm and back.window == timedelta(hours=36)
            assert isinstance(back.kind, Kind) and isinstance(back.status, CircleStatus)
            assert isinstance(back.facilitation, Facilitation)
            assert isinstance(back.hot_seat, HotSeat)
            assert isinstance(back.commitments, Commitments)
            assert back.created_at == original.created_at and back.created_at.tzinfo == UTC
        by_name = await work.circles.by_name("slack", "T1", "  café & co. – ÄRZTE 3 ")
        elsewhere = await work.circles.by_name("slack", "T2", originals[3].name)
    assert by_name == originals[3] and elsewhere is None


async def test_circle_names_are_unique_per_workspace_whatever_the_case(
    uow: SqlUnitOfWorkFactory,
) -> None:
    async with uow() as work:
        await work.circles.add(circle("Product Leads"))
        await work.circles.add(replace(circle("Product Leads"), workspace="T2"))
        await work.commit()
    with pytest.raises(Conflict):
        async with uow() as work:
            await work.circles.add(circle("PRODUCT LEADS", home="C-other"))


async def test_a_circle_name_of_the_longest_length_is_stored_whatever_its_case(
    uow: SqlUnitOfWorkFactory,
) -> None:
    """80 characters is the longest name; lower-casing some letters (İ → i̇) makes more."""
    longest = "İstanbul " + "İ" * 71
    assert len(longest) == 80 and len(longest.lower()) > 80
    async with uow() as work:
        added = await work.circles.add(circle(longest))
        await work.commit()
    async with uow() as work:
        assert added.id is not None
        assert (await work.circles.get(added.id)).name == longest
        found = await work.circles.by_name("slack", "T1", longest.lower())
    assert found is not None and found.id == added.id


async def test_a_session_and_a_membership_round_trip(uow: SqlUnitOfWorkFactory) -> None:
    p, c, _ = await seeded(uow)
    assert p.id is not None and c.id is not None
    session = Session(
        circle_id=c.id,
        number=2,
        opens_at=datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN),
        closes_at=datetime(2026, 12, 3, 9, 0, tzinfo=BERLIN),
        status=SessionStatus.SKIPPED,
        facilitator_id=p.id,
        presenter_id=p.id,
        facilitator_pinned=True,
        presenter_pinned=True,
        topic="Saying <no> & meaning it",
        final=True,
    )
    member = Membership(
        circle_id=c.id,
        person_id=p.id,
        role=Role.ORGANISER,
        joined_at=NOW,
        position=3,
        left_at=NOW + timedelta(days=9),
        agreed_at=NOW + timedelta(minutes=1),
        missed=2,
    )
    async with uow() as work:
        s = await work.sessions.add(replace(session))
        mem = await work.memberships.add(replace(member))
        await work.commit()
    assert s.id is not None and mem.id is not None
    async with uow() as work:
        assert await work.sessions.get(s.id) == session
        back = await work.memberships.get(mem.id)
    assert back == member and back.role is Role.ORGANISER


async def test_attendance_keeps_the_stages_it_handled(uow: SqlUnitOfWorkFactory) -> None:
    p, _, s = await seeded(uow)
    assert p.id is not None and s.id is not None
    async with uow() as work:
        record = await work.attendance.add(Attendance(session_id=s.id, person_id=p.id, since=NOW))
        await work.commit()
    assert record.id is not None
    async with uow() as work:
        fresh = await work.attendance.get(record.id)
        assert fresh.handled == frozenset() and fresh.nudged == 0
        fresh.mark(Stage.OPENING, sent=True)
        fresh.mark(Stage.REMINDER, sent=True)
        fresh.mark(Stage.COMMITMENT, sent=False)
        await work.attendance.save(fresh)
        await work.commit()
    async with uow() as work:
        back = await work.attendance.get(record.id)
    assert back.handled == {Stage.OPENING, Stage.REMINDER, Stage.COMMITMENT}
    assert all(isinstance(stage, Stage) for stage in back.handled)
    assert back.nudged == 1
    async with uow() as work:
        back.mark(Stage.HOT_SEAT_NOTICE, sent=True)
        back.mark(Stage.LAST_CALL, sent=True)
        await work.attendance.save(back)
        await work.commit()
    async with uow() as work:
        every = await work.attendance.get(record.id)
    assert every.handled == frozenset(Stage) and every.nudged == 2


async def test_prompts_checkins_asks_responses_and_commitments_round_trip(
    uow: SqlUnitOfWorkFactory,
) -> None:
    p, c, s = await seeded(uow)
    assert p.id is not None and c.id is not None and s.id is not None
    text = "<!channel> *bold* & <@U2|ben>\n🌱 " + "é" * 2000
    async with uow() as work:
        other = await work.people.add(person("U2"))
        assert other.id is not None
        commitment = Commitment(
            circle_id=c.id,
            person_id=p.id,
            session_id=s.id,
            text=text,
            made_at=datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN),
            status=CommitmentStatus.NOT_YET,
            reflection="not yet — soon",
            reviewed_in=s.id,
            carried=2,
        )
        made = await work.commitments.add(replace(commitment))
        assert made.id is not None
        prompt = Prompt(
            session_id=s.id,
            person_id=p.id,
            kind=PromptKind.REVIEW,
            required=False,
            created_at=NOW,
            commitment_id=made.id,
            state=PromptState.HELD,
        )
        checkin = CheckIn(
            session_id=s.id,
            person_id=p.id,
            text=text,
            answered_at=NOW,
            source="D1:1700000000.000100",
            version=3,
            posted=True,
        )
        ask = Ask(
            session_id=s.id, person_id=p.id, text=text, posted_at=NOW, source="m-1", version=1
        )
        pr = await work.prompts.add(replace(prompt))
        ci = await work.checkins.add(replace(checkin))
        a = await work.asks.add(replace(ask))
        assert a.id is not None
        response = Response(ask_id=a.id, person_id=other.id, ref="1700000000.000200", at=NOW)
        r = await work.responses.add(replace(response))
        await work.commit()
    assert pr.id is not None and ci.id is not None and r.id is not None
    async with uow() as work:
        assert await work.commitments.get(made.id) == commitment
        assert await work.prompts.get(pr.id) == prompt
        assert await work.checkins.get(ci.id) == checkin
        assert await work.asks.get(a.id) == ask
        assert await work.responses.get(r.id) == response
        back = await work.prompts.get(pr.id)
    assert back.kind is PromptKind.REVIEW and back.state is PromptState.HELD


async def test_save_updates_and_delete_removes(uow: SqlUnitOfWorkFactory) -> None:
    p, _, s = await seeded(uow)
    assert p.id is not None and s.id is not None
    async with uow() as work:
        ci = await work.checkins.add(
            CheckIn(session_id=s.id, person_id=p.id, text="first", answered_at=NOW)
        )
        ci.text, ci.version, ci.posted = "second", 1, True
        await work.checkins.save(ci)
        await work.commit()
    assert ci.id is not None
    async with uow() as work:
        assert (await work.checkins.get(ci.id)).text == "second"
        await work.checkins.delete(ci)
        await work.commit()
    async with uow() as work:
        assert await work.checkins.first(id=ci.id) is None
        with pytest.raises(LookupError):
            await work.checkins.get(ci.id)


# --- queries ------------------------------------------------------------------------------


async def test_find_first_and_among_filter_with_none_as_is_null_and_order(
    uow: SqlUnitOfWorkFactory,
) -> None:
    _, c, _ = await seeded(uow)
    assert c.id is not None
    joined = [NOW + timedelta(hours=h) for h in (3, 1, 2, 1)]
    async with uow() as work:
        people = [await work.people.add(person(f"M{i}")) for i in range(4)]
        members = []
        for i, (who, when) in enumerate(zip(people, joined, strict=True)):
            assert who.id is not None
            members.append(
                await work.memberships.add(
                    Membership(
                        circle_id=c.id,
                        person_id=who.id,
                        role=Role.MEMBER,
                        joined_at=when,
                        position=10 - i,
                        left_at=NOW if i == 2 else None,
                    )
                )
            )
        await work.commit()
    m0, m1, m2, m3 = members
    async with uow() as work:
        present = await work.memberships.find(circle_id=c.id, left_at=None)
        gone = await work.memberships.find(circle_id=c.id, left_at=NOW)
        by_join = await work.memberships.find(circle_id=c.id, order_by="joined_at")
        by_join_desc = await work.memberships.find(circle_id=c.id, order_by="-joined_at")
        by_position = await work.memberships.find(order_by="position")
        first_joined = await work.memberships.first(circle_id=c.id, order_by="joined_at")
        last_joined = await work.memberships.first(left_at=None, order_by="-joined_at")
        nobody = await work.memberships.first(circle_id=c.id + 1)
        some = await work.memberships.among("person_id", [m3.person_id, m0.person_id, 999])
        none = await work.memberships.among("person_id", [])
        by_role = await work.memberships.find(role=Role.MEMBER, left_at=None)
    assert ids(present) == ids([m0, m1, m3])
    assert ids(gone) == ids([m2])
    # Ties (m1 and m3 joined at the same moment) are broken by id.
    assert ids(by_join) == ids([m1, m3, m2, m0])
    assert ids(by_join_desc) == ids([m0, m2, m1, m3])
    assert ids(by_position) == ids([m3, m2, m1, m0])
    assert first_joined is not None and first_joined.id == m1.id
    assert last_joined is not None and last_joined.id == m0.id
    assert nobody is None
    assert ids(some) == ids([m0, m3])
    assert none == []
    assert ids(by_role) == ids([m0, m1, m3])


async def test_enums_and_aware_times_work_as_query_values(uow: SqlUnitOfWorkFactory) -> None:
    _, c, s = await seeded(uow)
    assert c.id is not None
    async with uow() as work:
        later = await work.sessions.add(
            Session(circle_id=c.id, number=2, opens_at=NOW + timedelta(days=7), closes_at=NOW)
        )
        await work.commit()
    async with uow() as work:
        opened = await work.sessions.find(status=SessionStatus.OPEN)
        scheduled = await work.sessions.first(circle_id=c.id, status=SessionStatus.SCHEDULED)
        # The same instant written in another zone finds the same row.
        at_berlin = await work.sessions.find(opens_at=NOW.astimezone(BERLIN))
        at_tokyo = await work.sessions.find(
            opens_at=later.opens_at.astimezone(ZoneInfo("Asia/Tokyo"))
        )
        # `among` takes the same values as `find`.
        statuses = await work.sessions.among("status", [SessionStatus.SCHEDULED, "open"])
        instants = await work.sessions.among(
            "opens_at", [NOW.astimezone(BERLIN), later.opens_at.astimezone(ZoneInfo("Asia/Tokyo"))]
        )
    assert ids(opened) == [s.id]
    assert scheduled is not None and scheduled.id == later.id
    assert ids(at_berlin) == [s.id]
    assert ids(at_tokyo) == [later.id]
    assert ids(statuses) == [s.id, later.id]
    assert ids(instants) == [s.id, later.id]


MOMENTS = [
    datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
    datetime(2026, 3, 29, 3, 30, 0, 999999, tzinfo=BERLIN),  # first hour of summer time
    datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN, fold=1),  # the repeated hour, second time
    datetime(2026, 6, 1, 23, 59, 59, tzinfo=ZoneInfo("Pacific/Kiritimati")),  # UTC+14
    datetime(2026, 6, 1, 0, 0, 1, tzinfo=ZoneInfo("Pacific/Pago_Pago")),  # UTC-11
    datetime(2026, 1, 1, 4, 30, tzinfo=ZoneInfo("America/St_Johns")),  # UTC-3:30
]


async def test_aware_times_come_back_as_the_same_instant_in_utc(
    uow: SqlUnitOfWorkFactory,
) -> None:
    p, _, s = await seeded(uow)
    assert p.id is not None and s.id is not None
    async with uow() as work:
        added = [
            await work.prompts.add(
                Prompt(
                    session_id=s.id,
                    person_id=p.id,
                    kind=PromptKind.CHECKIN,
                    required=True,
                    created_at=moment,
                )
            )
            for moment in MOMENTS
        ]
        await work.commit()
    async with uow() as work:
        back = [(await work.prompts.get(a.id)).created_at for a in added if a.id is not None]
        ordered = await work.prompts.find(session_id=s.id, order_by="created_at")
    for moment, value in zip(MOMENTS, back, strict=True):
        # Compared in UTC: PEP 495 makes a time in a repeated hour unequal across zones.
        assert value == moment.astimezone(UTC), moment
        assert value.timestamp() == moment.timestamp()
        assert value.tzinfo == UTC and value.utcoffset() == timedelta(0)
    # Stored as instants, so they sort by instant whatever zone they were written in.
    assert [p.created_at for p in ordered] == sorted(m.astimezone(UTC) for m in MOMENTS)


# --- the unit of work ---------------------------------------------------------------------


async def test_leaving_without_commit_rolls_everything_back(uow: SqlUnitOfWorkFactory) -> None:
    async with uow() as work:
        await work.people.add(person())
        await work.outbox.add(note("k1"), now=NOW)
        await work.inbound.claim("evt-1", now=NOW)
    async with uow() as work:
        assert await work.people.by_key(KEY) is None
        assert await work.inbound.claim("evt-1", now=NOW)  # never recorded
    assert await outbox_keys(uow.engine) == []


async def test_an_exception_rolls_back(uow: SqlUnitOfWorkFactory) -> None:
    with pytest.raises(RuntimeError):
        async with uow() as work:
            await work.people.add(person())
            await work.commit()
            await work.people.add(person("U2"))
            raise RuntimeError("boom")
    async with uow() as work:
        assert await work.people.by_key(KEY) is not None
        assert await work.people.by_key(PersonKey("slack", "T1", "U2")) is None


async def test_rollback_undoes_so_far_and_the_unit_of_work_goes_on(
    uow: SqlUnitOfWorkFactory,
) -> None:
    async with uow() as work:
        await work.people.add(person("U1"))
        await work.outbox.add(note("undone"), now=NOW)
        await work.rollback()
        await work.people.add(person("U2"))
        await work.outbox.add(note("kept"), now=NOW)
        await work.commit()
    async with uow() as work:
        assert await work.people.by_key(KEY) is None
        assert await work.people.by_key(PersonKey("slack", "T1", "U2")) is not None
    assert await outbox_keys(uow.engine) == ["kept"]


async def test_a_unit_of_work_sees_only_committed_work_of_others(
    uow: SqlUnitOfWorkFactory,
) -> None:
    async with uow() as writer:
        await writer.people.add(person())
        if uow.engine.dialect.name == "postgresql":
            async with uow() as reader:
                assert await reader.people.by_key(KEY) is None
        else:  # one transaction at a time: a second is refused; a plain read sees commits only
            with pytest.raises(OverlappingWrites):
                async with uow():
                    pass
            async with uow.engine.connect() as conn:
                assert (
                    await conn.scalar(select(func.count()).select_from(metadata.tables["people"]))
                    == 0
                )
        await writer.commit()
    async with uow() as reader:
        assert await reader.people.by_key(KEY) is not None


# --- inbound de-duplication ---------------------------------------------------------------


async def test_an_inbound_event_id_is_claimed_once(uow: SqlUnitOfWorkFactory) -> None:
    async with uow() as work:
        assert not await work.inbound.seen("Ev1")
        assert await work.inbound.claim("Ev1", now=NOW.astimezone(BERLIN))
        assert await work.inbound.seen("Ev1")
        assert not await work.inbound.claim("Ev1", now=NOW)
        assert await work.inbound.claim("ev1", now=NOW)  # ids are exact, not case-folded
        await work.commit()
    async with uow() as work:
        assert not await work.inbound.claim("Ev1", now=NOW)


async def test_two_deliveries_of_one_event_at_once_take_effect_once(
    uow: SqlUnitOfWorkFactory,
) -> None:
    """On PostgreSQL the second waits for the first's commit and finds the id taken. On
    SQLite, where one process's transactions never overlap, the second is refused at once."""
    if uow.engine.dialect.name == "postgresql":
        async with uow() as first, uow() as second:
            assert await first.inbound.claim("Ev1", now=NOW)
            racing = asyncio.create_task(second.inbound.claim("Ev1", now=NOW))
            await asyncio.sleep(0)  # let it reach the database
            await first.commit()
            assert not await racing
    else:
        async with uow() as first:
            assert await first.inbound.claim("Ev1", now=NOW)
            with pytest.raises(OverlappingWrites):
                async with uow():
                    pass
            await first.commit()
    async with uow.engine.connect() as conn:
        table = metadata.tables["inbound_events"]
        assert await conn.scalar(select(func.count()).select_from(table)) == 1


# --- the outbox -------------------------------------------------------------------------


def note(
    key: str,
    *,
    to: str | None = None,
    thread: str | None = None,
    replaces: str | None = None,
    at: datetime | None = None,
    text: str = "hello",
) -> Message:
    target: m.Target = (
        ToConversation(to, thread=thread)
        if to is not None
        else ToPerson(PersonKey("slack", "T1", "U1"))
    )
    return Message(
        key=key,
        target=target,
        blocks=(m.Paragraph((text,)),),
        replaces=replaces,
        deliver_at=at,
    )


async def outbox_keys(engine: Database) -> list[str]:
    async with engine.connect() as conn:
        return list(await conn.scalars(select(OUTBOX.c.key).order_by(OUTBOX.c.id)))


async def test_a_second_add_with_the_same_key_is_a_no_op(uow: SqlUnitOfWorkFactory) -> None:
    async with uow() as work:
        assert await work.outbox.add(note("session:1:kickoff", to="C1", text="one"), now=NOW)
        assert not await work.outbox.add(note("session:1:kickoff", to="C1", text="two"), now=NOW)
        await work.commit()
    async with uow() as work:  # a job fired twice: a second transaction
        assert not await work.outbox.add(
            note("session:1:kickoff", to="C2", text="three"), now=NOW + timedelta(hours=1)
        )
        await work.commit()
    assert await outbox_keys(uow.engine) == ["session:1:kickoff"]
    due = await OutboxStore(uow.engine).due(NOW + timedelta(days=1))
    assert [d.message for d in due] == [
        Message(
            key="session:1:kickoff", target=ToConversation("C1"), blocks=(m.Paragraph(("one",)),)
        )
    ]


async def test_due_holds_a_thread_reply_until_its_root_has_a_platform_ref(
    uow: SqlUnitOfWorkFactory,
) -> None:
    store = OutboxStore(uow.engine)
    async with uow() as work:
        await work.outbox.add(note("stray", to="C2", thread="nowhere"), now=NOW)
        await work.commit()
    assert await store.due(NOW) == []  # its root is not even written
    async with uow() as work:
        await work.outbox.add(note("root", to="C1"), now=NOW)
        await work.outbox.add(note("reply", to="C1", thread="root"), now=NOW)
        await work.commit()
    assert [d.key for d in await store.due(NOW)] == ["root"]
    [root] = await store.due(NOW)
    await store.mark_sent(root.id, ref="1700000000.000100", now=NOW)
    [reply] = await store.due(NOW)
    assert reply.key == "reply"
    assert reply.thread_ref == "1700000000.000100"
    assert reply.target == ToConversation("C1", thread="root")
    assert reply.replaces_ref is None


async def test_due_holds_an_edit_until_its_original_is_sent(uow: SqlUnitOfWorkFactory) -> None:
    store = OutboxStore(uow.engine)
    async with uow() as work:
        await work.outbox.add(note("post", to="C1", text="v0"), now=NOW)
        await work.outbox.add(note("post:v1", to="C1", replaces="post", text="v1"), now=NOW)
        await work.commit()
    assert [d.key for d in await store.due(NOW)] == ["post"]
    [original] = await store.due(NOW)
    await store.retry_at(original.id, when=NOW + timedelta(minutes=1), reason="429")
    assert await store.due(NOW) == []  # the original is waiting, so is its edit
    [original] = await store.due(NOW + timedelta(minutes=1))
    await store.mark_failed(original.id, reason="channel_not_found", now=NOW)
    assert await store.due(NOW + timedelta(minutes=1)) == []  # never sent: nothing to edit
    async with uow() as work:  # (C1 waits until a worker fails the orphaned edit)
        await work.outbox.add(note("other", to="C2", text="v0"), now=NOW)
        await work.outbox.add(note("other:v1", to="C2", replaces="other", text="v1"), now=NOW)
        await work.commit()
    [other] = await store.due(NOW)
    await store.mark_sent(other.id, ref="ts-9", now=NOW)
    [edit] = await store.due(NOW)
    assert edit.key == "other:v1" and edit.replaces_ref == "ts-9"
    assert edit.blocks == (m.Paragraph(("v1",)),)


async def test_due_returns_rows_in_write_order_once_their_time_has_come(
    uow: SqlUnitOfWorkFactory,
) -> None:
    store = OutboxStore(uow.engine)
    async with uow() as work:
        # Written in this order; each wants to go earlier than the one before.
        for i in range(5):
            await work.outbox.add(
                note(f"m{i}", to=f"C{i}", at=NOW - timedelta(minutes=i)),
                now=NOW - timedelta(hours=1),
            )
        await work.outbox.add(note("later", at=NOW + timedelta(hours=2)), now=NOW)
        await work.commit()
    assert [d.key for d in await store.due(NOW)] == ["m0", "m1", "m2", "m3", "m4"]
    assert [d.key for d in await store.due(NOW, limit=2)] == ["m0", "m1"]
    assert [d.key for d in await store.due(NOW - timedelta(minutes=3))] == ["m3", "m4"]
    assert await store.next_due_at() == NOW - timedelta(minutes=4)
    assert await store.pending_count() == 6
    for delivery in await store.due(NOW):
        await store.mark_sent(delivery.id, ref=f"ref-{delivery.key}", now=NOW)
    assert await store.pending_count() == 1
    assert await store.next_due_at() == NOW + timedelta(hours=2)
    [later] = await store.due(NOW + timedelta(hours=2))
    assert later.key == "later" and later.target == ToPerson(KEY)
    assert later.created_at == NOW and later.created_at.tzinfo == UTC


async def test_the_outbox_finds_a_thread_by_its_delivered_ref(uow: SqlUnitOfWorkFactory) -> None:
    store = OutboxStore(uow.engine)
    async with uow() as work:
        await work.outbox.add(note("session:7:kickoff", to="C1"), now=NOW)
        await work.commit()
    [kickoff] = await store.due(NOW)
    async with uow() as work:
        assert await work.outbox.thread_key("C1", "ts-1") is None
    await store.mark_sent(kickoff.id, ref="ts-1", now=NOW)
    async with uow() as work:
        assert await work.outbox.thread_key("C1", "ts-1") == "session:7:kickoff"
        assert await work.outbox.thread_key("C2", "ts-1") is None


# --- the message codec --------------------------------------------------------------------

text = st.text(max_size=40)
spans: st.SearchStrategy[m.Span] = st.one_of(
    text, st.builds(m.Authored, text), st.builds(m.Strong, text), st.builds(m.Name, text)
)
rich = st.lists(spans, max_size=5).map(tuple)
choices = st.builds(
    m.Choice,
    label=text,
    action=text,
    value=text,
    style=st.sampled_from([None, "primary", "danger"]),
)
blocks: st.SearchStrategy[m.Block] = st.one_of(
    st.builds(m.Heading, text),
    st.builds(m.Paragraph, rich),
    st.builds(m.Quote, rich),
    st.builds(m.Context, rich),
    st.builds(m.Fields, st.lists(st.tuples(text, rich), max_size=4).map(tuple)),
    st.builds(m.Choices, st.lists(choices, max_size=4).map(tuple)),
    st.builds(m.TextInput, action=text, value=text, label=text, placeholder=text, initial=text),
    st.builds(m.Document, filename=text, content=st.text(max_size=200)),
)


@given(st.lists(blocks, max_size=8).map(tuple))
def test_the_message_codec_round_trips_any_blocks(message: tuple[m.Block, ...]) -> None:
    encoded = codec.blocks_to_json(message)
    decoded = codec.blocks_from_json(encoded)
    assert decoded == message
    assert [type(b) for b in decoded] == [type(b) for b in message]
    for before, after in zip(message, decoded, strict=True):
        # An Authored span must never come back as plain (bot) text, nor the reverse.
        assert _span_types(before) == _span_types(after)


def _span_types(block: m.Block) -> list[type]:
    match block:
        case m.Paragraph(spans=s) | m.Quote(spans=s) | m.Context(spans=s):
            return [type(x) for x in s]
        case m.Fields(items=items):
            return [type(x) for _, value in items for x in value]
    return []


async def test_the_outbox_keeps_authored_spans_through_the_database(
    uow: SqlUnitOfWorkFactory,
) -> None:
    hostile = '<!channel> \x00\u202e {"a": "s"} 🌱 \\n'
    message = (
        m.Paragraph((m.Name("Zoë"), " checked in")),
        m.Quote((m.Authored(hostile),)),
        m.Fields((("Commitment", (m.Strong("⏳ not yet"), m.Authored(hostile))),)),
        m.Choices((m.Choice("Done", "review", "12:done", style="primary"),)),
        m.Document("export.csv", "a,b\n1,2\n"),
    )
    async with uow() as work:
        await work.outbox.add(
            Message(key="k", target=ToConversation("C1"), blocks=message), now=NOW
        )
        await work.commit()
    [delivery] = await OutboxStore(uow.engine).due(NOW)
    assert delivery.blocks == message


# --- the text forms stored for rhythms and working hours -------------------------------

at_times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
weekdays = st.integers(0, 6)
rhythms = st.one_of(
    st.builds(Rhythm, every=st.just(Every.DAY), at=at_times),
    st.builds(
        Rhythm, every=st.just(Every.WEEKS), weeks=st.integers(1, 8), weekday=weekdays, at=at_times
    ),
    st.builds(
        Rhythm,
        every=st.just(Every.MONTH_WEEKDAY),
        ordinal=st.sampled_from([1, 2, 3, 4, -1]),
        weekday=weekdays,
        at=at_times,
    ),
    st.builds(Rhythm, every=st.just(Every.MONTH_DAY), day=st.integers(1, 28), at=at_times),
)


@given(rhythms)
def test_a_rhythm_round_trips_through_its_stored_text(rhythm: Rhythm) -> None:
    assert len(rhythm.to_text()) <= 80  # the column's width
    assert parse_rhythm(rhythm.to_text()) == rhythm


@given(
    start=st.integers(0, 24 * 60 - 1),
    length=st.integers(1, 24 * 60),
    days=st.frozensets(weekdays, min_size=1),
)
def test_working_hours_round_trip_through_their_stored_text(
    start: int, length: int, days: frozenset[int]
) -> None:
    hours = WorkingHours(start=start, end=min(start + length, 24 * 60), days=days)
    assert len(hours.to_text()) <= 64  # the column's width
    assert parse_hours(hours.to_text()) == hours


# --- migrations -----------------------------------------------------------------------


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, metadata))


async def test_the_migrated_schema_matches_the_tables(engine: Database) -> None:
    async with engine.connect() as conn:
        differences = await conn.run_sync(_differences)
        tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert differences == []
    assert set(metadata.tables) <= tables
