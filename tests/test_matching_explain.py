"""What the manager reads about a proposal (SPEC §14): explanations, hours and figures.

Each circle's explanation is built from its score's parts in plain words, and never
from a "not with" list: removing every list changes no word of any explanation.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from adapters.matching.circles import CircleSolver
from bot.matching.constraints import SizeBounds
from bot.matching.explain import explain
from bot.matching.intake import FunctionPreference, History, Intake, Participant
from bot.matching.overlap import shared_hours, weekly_slots
from bot.matching.proposal import propose
from bot.matching.score import Emphasis, Scorer
from bot.people import PersonKey
from bot.working_hours import WorkingHours

WINTER = date(2026, 1, 14)  # a Wednesday: the week of Monday 12 January
SUMMER = date(2026, 7, 13)
OFFICE = WorkingHours()


def member(
    name: str,
    tz: str,
    *,
    wants: set[str],
    offers: set[str],
    function: str,
    experience: str,
    preference: FunctionPreference = FunctionPreference.NONE,
) -> Participant:
    intake = Intake(
        wants=frozenset(wants),
        offers=frozenset(offers),
        function=function,
        experience=experience,
        preference=preference,
    )
    return Participant(
        key=PersonKey("slack", "T1", f"U{name.upper()}"), name=name, tz=tz, intake=intake
    )


ANA = member(
    "Ana",
    "Europe/London",
    wants={"delegation", "giving feedback"},
    offers={"coaching"},
    function="Sales",
    experience="2-5y",
    preference=FunctionPreference.DIFFERENT,
)
BEN = member(
    "Ben",
    "Europe/Berlin",
    wants={"giving feedback"},
    offers={"delegation"},
    function="Finance",
    experience="2-5y",
    preference=FunctionPreference.SAME,
)
CHEN = member(
    "Chen",
    "America/New_York",
    wants={"giving feedback", "coaching"},
    offers={"delegation"},
    function="Sales",
    experience="10y+",
)


def hours_of(*people: Participant, week: date = WINTER) -> float:
    return shared_hours(*(weekly_slots(tz=p.tz, hours=p.hours, week_of=week) for p in people))


def test_a_circle_is_explained_from_the_parts_of_its_score() -> None:
    assert explain([ANA, BEN, CHEN], hours=hours_of(ANA, BEN, CHEN)) == (
        "Ana wants to grow in delegation, which Ben and Chen offer. "
        "Chen wants to grow in coaching, which Ana offers. "
        "All three want to develop giving feedback. "
        "Ana and Ben both have 2-5y of experience. "
        "Functions: Finance, Sales ×2 (1 of 2 function preferences met). "
        "15 shared working hours a week."
    )


def test_long_lists_are_summed_up_and_no_shared_hour_is_said_plainly() -> None:
    sydney = replace(CHEN, tz="Australia/Sydney")
    offers_all = replace(
        BEN,
        intake=replace(BEN.intake, offers=frozenset({"delegation", "giving feedback", "coaching"})),
    )
    assert hours_of(ANA, sydney) == 0
    text = explain([ANA, offers_all, sydney], hours=0)
    assert "1 more wanted area is offered inside the circle." in text
    assert text.endswith("No working hour of the week is shared by everyone.")


def test_working_hours_overlap_follows_daylight_saving_time() -> None:
    london, new_york = replace(ANA, tz="Europe/London"), replace(ANA, tz="America/New_York")
    assert hours_of(london, new_york) == 4 * 5  # 14:00-18:00 UTC
    assert hours_of(london, new_york, week=SUMMER) == 4 * 5  # both moved an hour
    assert hours_of(london, new_york, week=date(2026, 3, 16)) == 5 * 5  # New York moved first
    assert hours_of(london, replace(ANA, tz="Asia/Kolkata")) == 3.5 * 5
    assert hours_of(BEN) == 45
    sunday_night = WorkingHours(start=22 * 60, end=24 * 60, days=frozenset({6}))
    assert weekly_slots(tz="Australia/Sydney", hours=sunday_night, week_of=WINTER).bit_count() == 4


def test_a_circle_over_three_zones_scores_better_in_time_than_one_around_the_world() -> None:
    zones = (
        "Europe/London",
        "Europe/Berlin",
        "Africa/Lagos",
        "America/Los_Angeles",
        "Europe/Berlin",
        "Asia/Tokyo",
    )
    people = [
        replace(ANA, key=PersonKey("slack", "T1", f"U{n}"), tz=tz) for n, tz in enumerate(zones)
    ]
    scorer = Scorer(people, emphasis=Emphasis.BALANCED, week_of=WINTER)
    assert scorer.parts((0, 1, 2)).time_overlap == 3.0  # a full point each
    assert scorer.parts((3, 4, 5)).time_overlap == 0.0
    assert scorer.circle((0, 1, 2)) > scorer.circle((3, 4, 5))


def test_no_explanation_depends_on_a_private_not_with_list() -> None:
    dora = replace(ANA, key=PersonKey("slack", "T1", "UDORA"), name="Dora")
    secret = [
        replace(ANA, intake=replace(ANA.intake, not_with=frozenset({dora.key}))),
        BEN,
        CHEN,
        dora,
    ]
    proposal = propose(
        secret,
        bounds=SizeBounds.pairs(),
        emphasis=Emphasis.BALANCED,
        history=History(),
        week_of=WINTER,
        solver=CircleSolver(),
    )
    for circle in proposal.circles:
        assert {ANA.key, dora.key} - set(circle.members)
        members = [p for p in secret if p.key in circle.members]
        public = [replace(p, intake=replace(p.intake, not_with=frozenset())) for p in members]
        assert circle.explanation == explain(public, hours=circle.hours)
    assert "not" not in proposal.figures.to_text() + proposal.random.to_text()
