"""The programme and intake forms in the core (SPEC §13): what opens, what a submission
stores, and every bad field answered beside itself with nothing changed.

Through the real core and storage on the fake clock, as the local platform delivers; the
platforms' renderings and requests are tested in tests/slack, tests/teams and the playground's.
"""

from __future__ import annotations

import pytest

from bot.events import ChoiceMade, CommandIssued
from bot.messages import Form
from bot.programmes.model import ProgrammeStatus
from storage.db import Database
from tests.harness import ANA, BEN, Harness, Member
from tests.test_programmes import INTAKES, MIA, _snapshot, enrol, fill_intake

GOOD: dict[str, tuple[str, ...]] = {
    "wants": ("delegation", "hiring"),
    "own_words": ("Delegating without dropping the ball",),
    "offers": ("feedback",),
    "function": ("Engineering",),
    "experience": ("2-5y",),
    "preference": ("different",),
    "not_with": (BEN.user,),
    "rating:0": ("3",),
    "rating:1": ("2",),
    "rating:2": ("4",),
    "rating:3": ("1",),
}


async def opened(h: Harness, who: Member, action: str, value: str) -> Form:
    """The form a button opens where the platform shows it in a window (a Slack modal)."""
    outcome = await h.send(
        ChoiceMade(id=h._id(), actor=who.actor, action=action, value=value, modal=True)
    )
    assert outcome.form is not None
    return outcome.form


async def modal_fill(
    h: Harness, who: Member, action: str, value: str, answers: dict[str, tuple[str, ...]]
) -> dict[str, str] | None:
    """What a modal shows beside its fields (None: accepted)."""
    assert await h.fill(who, action, value, answers, modal=True) == ""  # nothing by DM
    assert h.last is not None
    return h.last.errors


async def test_the_intake_form_stores_what_the_dm_would_and_opens_prefilled(
    engine: Database,
) -> None:
    h = Harness(engine)
    await enrol(h)
    inbox = h.inbox(ANA)
    form = await opened(h, ANA, "intake", "1")
    fields = {f.id: f for f in form.fields}
    assert [a for a, _ in fields["wants"].options] == [
        "feedback",
        "delegation",
        "hiring",
        "prioritising",
    ]
    assert len([f for f in fields if f.startswith("rating:")]) == 4
    # "not with" offers the other participants, never the author.
    offered = {label for _, label in fields["not_with"].options}
    assert "Ben" in offered and "Ana" not in offered
    assert all(not f.initial for f in form.fields)  # nothing answered yet
    assert h.inbox(ANA) == inbox  # the modal is all: no DM

    done = await h.fill(ANA, "intake", "1", GOOD)
    assert "your intake for New Leads is complete" in done
    async with h.uow() as uow:
        ana = await uow.people.by_key(ANA.key)
        ben = await uow.people.by_key(BEN.key)
        assert ana is not None and ben is not None
        enrolment = await uow.enrolments.first(person_id=ana.id)
    assert enrolment is not None and enrolment.intake_done_at is not None
    assert enrolment.wants == ("delegation", "hiring") and enrolment.offers == ("feedback",)
    assert enrolment.ratings == (3, 2, 4, 1) and enrolment.not_with == frozenset({ben.id})
    assert enrolment.preference.value == "different" and enrolment.experience == "2-5y"

    # Changing it: the form opens with the answers given, "not with" shown to its author only.
    again = {f.id: f.initial for f in (await opened(h, ANA, "intake", "1")).fields}
    assert again["wants"] == ("delegation", "hiring") and again["not_with"] == (BEN.user,)
    assert again["rating:2"] == ("4",) and again["function"] == ("Engineering",)
    bens = {f.id: f.initial for f in (await opened(h, BEN, "intake", "1")).fields}
    assert bens["not_with"] == ()


@pytest.mark.parametrize(
    ("field", "bad", "expected"),
    [
        ("wants", (), "Name at least one area"),
        ("wants", ("juggling",), "“juggling” is not one of this programme's areas"),
        ("offers", ("feedback", "knitting"), "“knitting” is not one of"),
        ("own_words", ("x" * 301,), "at most 300 characters"),
        ("function", ("<!channel>",), "plain words"),
        ("function", (), "plain words"),
        ("experience", ("ancient",), "is not one of <2y"),
        ("preference", ("maybe",), "answer same, different or none"),
        ("not_with", ("U1> <!here",), "Mention each person"),
        ("rating:2", ("9",), "numbers from 1 to 5"),
        ("rating:0", (), "numbers from 1 to 5"),
    ],
)
async def test_each_bad_intake_field_is_refused_beside_itself_and_changes_nothing(
    engine: Database, field: str, bad: tuple[str, ...], expected: str
) -> None:
    h = Harness(engine)
    await enrol(h)
    before = await _snapshot(h)
    errors = await modal_fill(h, ANA, "intake", "1", {**GOOD, field: bad})
    assert errors is not None and list(errors) == [field] and expected in errors[field]
    assert await _snapshot(h) == before
    # Outside a modal, the answer names the field and says nothing was saved.
    answer = await h.fill(ANA, "intake", "1", {**GOOD, field: bad})
    assert "Nothing was saved" in answer and expected in answer
    assert await _snapshot(h) == before


async def test_after_matching_the_intake_form_says_so(engine: Database) -> None:
    h = Harness(engine)
    await enrol(h)
    for member, answers in INTAKES.items():
        await fill_intake(h, member, answers)
    await h.command(MIA, "programme match", conversation=None)
    before = await _snapshot(h)
    answer = await h.click(ANA, "intake", "1")
    assert "New Leads is already matched, so intakes can no longer change" in answer
    errors = await modal_fill(h, ANA, "intake", "1", GOOD)
    assert errors == {"": "New Leads is already matched, so intakes can no longer change."}
    assert await _snapshot(h) == before
    assert "already matched" in await h.fill(ANA, "intake", "1", GOOD)


PROGRAMME: dict[str, tuple[str, ...]] = {
    "name": ("New Leads",),
    "areas": ("feedback, delegation\nhiring",),
    "kind": ("mastermind",),
    "size": ("3-4",),
    "emphasis": ("complement",),
    "schedule": ("weekly on tue at 10:00 for 4 sessions",),
    "focus": ("Grow into the first team lead role",),
}


async def test_programme_new_alone_opens_the_form_and_its_submission_creates_it(
    engine: Database,
) -> None:
    h = Harness(engine)
    outcome = await h.send(
        CommandIssued(id=h._id(), actor=MIA.actor, text="programme new", modal=True)
    )
    assert outcome.form is not None and outcome.form.action == "programme"
    assert [f.id for f in outcome.form.fields][:2] == ["name", "areas"]
    created = await h.fill(MIA, "programme", "new", PROGRAMME)
    assert "Created the programme New Leads: circles of 3–4, mastermind." in created
    assert "Areas: feedback, delegation, hiring. Emphasis: complement." in created
    async with h.uow() as uow:
        programme = await uow.programmes.by_name("local", "acme", "New Leads")
    assert programme is not None and programme.status is ProgrammeStatus.DRAFT
    assert programme.schedule == "weekly on tue at 10:00 for 4 sessions"
    # Only the name and the areas are needed; the rest takes the kind's defaults.
    minimal = await h.fill(MIA, "programme", "new", {"name": ("Round Two",), "areas": ("a, b, c",)})
    assert "Created the programme Round Two" in minimal
    errors = await modal_fill(h, MIA, "programme", "new", PROGRAMME)
    assert errors == {"": "There is already a programme called “New Leads”. Choose another name."}


@pytest.mark.parametrize(
    ("field", "bad", "expected"),
    [
        ("name", (), "Give the programme a name"),
        ("name", ("<!channel> leads",), "can't be part of a name"),
        ("areas", ("feedback, hiring",), "3 to 8 capability areas"),
        ("areas", ("a, b, A",), "named twice"),
        ("kind", ("quartet",), "not a kind of circle"),
        ("size", ("9-3",), "sizes go from 2"),
        ("emphasis", ("luck",), "not an emphasis"),
        ("schedule", ("whenever",), ""),
    ],
)
async def test_each_bad_programme_field_is_refused_beside_itself(
    engine: Database, field: str, bad: tuple[str, ...], expected: str
) -> None:
    h = Harness(engine)
    errors = await modal_fill(h, MIA, "programme", "new", {**PROGRAMME, field: bad})
    assert errors is not None and list(errors) == [field] and expected in errors[field]
    answer = await h.fill(MIA, "programme", "new", {**PROGRAMME, field: bad})
    assert "Nothing was saved" in answer
    async with h.uow() as uow:
        assert await uow.programmes.find() == []
