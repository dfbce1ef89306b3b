"""Programmes in storage (SPEC §13), on SQLite and PostgreSQL: every field comes back as it went in,
names are unique per workspace in any case, and a participant is enrolled once per programme."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.kinds import Kind
from bot.matching.intake import FunctionPreference
from bot.matching.score import Emphasis
from bot.people import Person, PersonKey
from bot.programmes.model import Enrolment, Grouping, Programme, ProgrammeStatus
from bot.store import Conflict
from storage.db import Database
from storage.uow import SqlUnitOfWorkFactory

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def programme(name: str = "New Leads", managers: frozenset[int] = frozenset({1})) -> Programme:
    return Programme(
        platform="local",
        workspace="acme",
        name=name,
        focus="Grow into the role, “well”",
        areas=("giving feedback", "delegation", "hiring"),
        kind=Kind.MENTORING_PAIR,
        smallest=2,
        largest=3,
        emphasis=Emphasis.COMMON_GROUND,
        schedule="weekly on tue at 10:00 for 4 sessions",
        managers=managers,
        created_at=NOW,
        status=ProgrammeStatus.ENROLLING,
    )


async def test_programmes_enrolments_and_proposals_round_trip(engine: Database) -> None:
    uow = SqlUnitOfWorkFactory(engine)
    async with uow() as tx:
        people = [
            await tx.people.add(Person(key=PersonKey("local", "acme", u), name=u))
            for u in ("ana", "ben", "chen")
        ]
        ids = [p.id for p in people]
        assert None not in ids
        ana, ben, chen = (i or 0 for i in ids)
        stored = await tx.programmes.add(programme(managers=frozenset({ana, ben})))
        assert stored.id is not None
        enrolment = await tx.enrolments.add(
            Enrolment(
                programme_id=stored.id,
                person_id=ana,
                invited_at=NOW,
                step=3,
                intake_done_at=NOW,
                wants=("giving feedback", "hiring"),
                own_words="Say no, kindly",
                offers=("delegation",),
                function="Engineering",
                experience="<2y",
                preference=FunctionPreference.DIFFERENT,
                not_with=frozenset({ben, chen}),
                ratings=(3, 1, 5),
            )
        )
        grouping = await tx.groupings.add(
            Grouping(
                programme_id=stored.id,
                circles=((ana, ben), (chen,)),
                locked=frozenset({2}),
                made_at=NOW,
                basis={ana: enrolment.fingerprint(), ben: "x"},
            )
        )
        await tx.commit()
    async with uow() as tx:
        assert await tx.programmes.by_name("local", "acme", "NEW LEADS") == stored
        assert await tx.enrolments.get(enrolment.id or 0) == enrolment
        assert await tx.groupings.get(grouping.id or 0) == grouping


async def test_a_programme_name_and_an_enrolment_are_unique(engine: Database) -> None:
    uow = SqlUnitOfWorkFactory(engine)
    with pytest.raises(Conflict):
        async with uow() as tx:
            await tx.programmes.add(programme("Leads"))
            await tx.programmes.add(programme("leads"))
    with pytest.raises(Conflict):
        async with uow() as tx:
            person = await tx.people.add(Person(key=PersonKey("local", "acme", "ana"), name="Ana"))
            stored = await tx.programmes.add(programme())
            assert stored.id is not None and person.id is not None
            for _ in range(2):
                await tx.enrolments.add(
                    Enrolment(programme_id=stored.id, person_id=person.id, invited_at=NOW)
                )
