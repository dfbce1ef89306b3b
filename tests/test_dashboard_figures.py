"""The dashboard's figures and its privacy rules (SPEC §15–§16), on SQLite and PostgreSQL.

A programme is enrolled, matched and launched through the real core, its
circles run three sessions on the fake clock with members checking in by DM
(their words marked SECRET), and pulses and end surveys are stored through
the unit of work's repositories. Each privacy rule has a test that fails
without it: fewer than three answers give no figure, unshared words never
appear, no check-in or commitment text reaches any figure, a manager sees
only their programmes and a member nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from bot.dashboard import Access, ProgrammePage, Scope
from bot.health import Health
from bot.people import PersonKey
from bot.pulses import Pulse, PulseKind, Survey
from storage.dashboard_store import NO_PROGRAMME, SqlDashboard
from storage.db import Database
from tests.harness import ANA, BEN, CHEN, DARA, WORKSPACE, ZOE, Harness, Member
from tests.test_programmes import COHORT, MIA, everyone_enrolled

ADMINS = frozenset({ZOE.user})
SECRET = "SECRET"


@dataclass(frozen=True)
class Launched:
    """What the story did, to compare the figures with."""

    programme_id: int
    circles: dict[int, list[Member]]  # circle id → members in rotation order
    quiet: dict[int, Member]  # circle id → the member who never checks in
    sessions: dict[tuple[int, int], int]  # (circle id, number) → session id
    people: dict[Member, int]  # person ids


async def launch(h: Harness) -> Launched:
    await everyone_enrolled(h)
    await h.command(MIA, "programme match", conversation=None)
    assert "Launched New Leads" in await h.command(MIA, "programme launch", conversation=None)
    by_user = {m.user: m for m in COHORT}
    async with h.uow() as uow:
        programme = await uow.programmes.by_name("local", WORKSPACE, "New Leads")
        assert programme is not None and programme.id is not None
        people = {
            by_user[p.key.user]: p.id for p in await uow.people.find() if p.key.user in by_user
        }
        ids = {v: k for k, v in people.items() if v is not None}
        circles: dict[int, list[Member]] = {}
        agreeing: list[Member] = []
        for record in await uow.match_records.find(programme_id=programme.id):
            members = await uow.memberships.find(circle_id=record.circle_id, order_by="position")
            circles[record.circle_id] = [ids[m.person_id] for m in members]
            agreeing += [ids[m.person_id] for m in members if not m.organiser]
    for member in agreeing:
        await h.dm(member, "agree")
    return Launched(
        programme_id=programme.id,
        circles=circles,
        quiet={c: members[-1] for c, members in circles.items()},
        sessions={},
        people={m: i for m, i in people.items() if i is not None},
    )


async def running(engine: Database, *, sessions: int) -> tuple[Harness, Launched]:
    """New Leads launched, its first `sessions` sessions held."""
    h = Harness(engine)
    launched = await launch(h)
    await run_sessions(h, launched, range(1, sessions + 1))
    return h, launched


async def run_sessions(
    h: Harness, launched: Launched, numbers: range, *, talking: dict[int, int] | None = None
) -> None:
    """Sessions `numbers` open and close in every circle; the first `talking` members of
    each (all but its quiet member, by default) check in by DM, then answer whatever is
    asked next, in words marked SECRET."""
    for number in numbers:
        async with h.uow() as uow:
            found = [
                s for s in await uow.sessions.find(number=number) if s.circle_id in launched.circles
            ]
        assert len(found) == len(launched.circles), number
        await h.run_until(max(s.opens_at for s in found))
        for circle_id, members in launched.circles.items():
            speaking = (talking or {}).get(circle_id, len(members) - 1)
            for member in members[:speaking]:
                if member is not launched.quiet[circle_id]:
                    if number > 1:
                        await h.dm(member, "done" if member is members[0] else "partly")
                    await h.dm(member, f"{SECRET} check-in {number} of {member.name}")
                    await h.dm(member, f"commit {SECRET} I will delegate, {member.name}")
        await h.run_until(max(s.closes_at for s in found) + timedelta(minutes=1))
        for session in found:
            assert session.id is not None
            launched.sessions[(session.circle_id, number)] = session.id


async def pulse(
    h: Harness,
    launched: Launched,
    member: Member,
    circle_id: int,
    number: int,
    score: int,
    *,
    kind: PulseKind = PulseKind.SESSION,
    note: str = "",
    shared: bool = False,
) -> None:
    await keep(
        h,
        Pulse(
            person_id=launched.people[member],
            circle_id=circle_id,
            session_id=launched.sessions[(circle_id, number)],
            kind=kind,
            asked_at=h.clock.now(),
            programme_id=launched.programme_id,
            score=score,
            note=note,
            shared=shared,
            answered_at=h.clock.now(),
        ),
    )


async def survey(
    h: Harness,
    launched: Launched,
    member: Member,
    *,
    ratings: tuple[int, ...],
    recommend: int,
    changed: str = "",
    shared: bool = False,
) -> None:
    await keep(
        h,
        Survey(
            programme_id=launched.programme_id,
            person_id=launched.people[member],
            asked_at=h.clock.now(),
            ratings=ratings,
            changed=changed,
            shared=shared,
            recommend=recommend,
            answered_at=h.clock.now(),
        ),
    )


async def keep(h: Harness, answer: Pulse | Survey) -> None:
    """Store an answer through the unit of work, over the pulse or survey the core asked
    (it asks each member who took part when a session closes, and each participant when
    their circle ends), or as a new one."""
    async with h.uow() as uow:
        if isinstance(answer, Pulse):
            asked = await uow.pulses.first(
                session_id=answer.session_id, person_id=answer.person_id, kind=answer.kind
            )
            if asked is None:
                await uow.pulses.add(answer)
            else:
                answer.id = asked.id
                await uow.pulses.save(answer)
        else:
            sent = await uow.surveys.first(
                programme_id=answer.programme_id, person_id=answer.person_id
            )
            if sent is None:
                await uow.surveys.add(answer)
            else:
                answer.id = sent.id
                await uow.surveys.save(answer)
        await uow.commit()


def strings(value: object) -> Iterator[str]:
    """Every string inside a figure object, however deep."""
    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from strings(getattr(value, f.name))
    elif isinstance(value, tuple | list | frozenset | set):
        for item in value:
            yield from strings(item)


async def as_manager(dashboard: SqlDashboard) -> Access:
    access = await dashboard.access(MIA.key, admins=ADMINS)
    assert access is not None
    return access


async def page_of(dashboard: SqlDashboard, access: Access, programme_id: int) -> ProgrammePage:
    page = await dashboard.programme(access, Scope("local", WORKSPACE, programme_id))
    assert page is not None
    return page


async def test_a_programme_page_shows_its_figures_and_never_a_circles_words(
    engine: Database,
) -> None:
    h, launched = await running(engine, sessions=3)
    (first, second) = sorted(launched.circles)
    one, two = launched.circles[first], launched.circles[second]
    for member, score in zip(one[:3], (4, 5, 3), strict=True):
        await pulse(h, launched, member, first, 1, score)
    for member, score in zip(two[:2], (1, 2), strict=True):
        await pulse(h, launched, member, second, 1, score)
    await pulse(
        h, launched, one[0], first, 2, 2, kind=PulseKind.MIDPOINT, note="More time to practise"
    )
    await pulse(
        h,
        launched,
        one[1],
        first,
        2,
        4,
        kind=PulseKind.MIDPOINT,
        note="More time to practise, please",
        shared=True,
    )
    await pulse(
        h, launched, two[0], second, 2, 3, kind=PulseKind.MIDPOINT, note=f"{SECRET} my manager"
    )
    for member, ratings, recommend in (
        (one[0], (4, 3, 5, 2), 10),
        (one[1], (5, 3, 4, 2), 9),
        (two[0], (4, 4, 4), 6),
    ):
        await survey(h, launched, member, ratings=ratings, recommend=recommend)
    await survey(
        h, launched, two[1], ratings=(), recommend=8, changed="I ask for help", shared=True
    )
    await survey(h, launched, two[2], ratings=(), recommend=7, changed=f"{SECRET} not shared")

    dashboard = SqlDashboard(engine)
    page = await page_of(dashboard, await as_manager(dashboard), launched.programme_id)

    assert page.line.name == "New Leads" and page.line.status == "running"
    assert (page.line.participants, page.line.circles, page.line.at_risk) == (8, 2, 0)
    assert page.funnel is not None
    assert (page.funnel.invited, page.funnel.intake_done, page.funnel.matched) == (8, 8, 8)
    assert page.funnel.active == 8
    assert page.areas == ("feedback", "delegation", "hiring", "prioritising")

    figures = {c.circle_id: c for c in page.circles}
    async with h.uow() as uow:
        for circle_id, members in launched.circles.items():
            made = await uow.commitments.find(circle_id=circle_id)
            shown = figures[circle_id]
            assert shown.members == len(members)
            assert shown.health is Health.HEALTHY
            # Three of four checked in at each of three sessions.
            assert shown.participation == (len(members) - 1) / len(members)
            assert shown.commitments_made == len(made) > 0
            assert shown.commitments_done == sum(1 for c in made if c.status.value == "done")
            checkins = [
                c
                for n in (1, 2, 3)
                for c in await uow.checkins.find(session_id=launched.sessions[(circle_id, n)])
            ]
            assert shown.last_activity == max(
                [c.answered_at for c in checkins] + [c.made_at for c in made]
            )
            assert any(SECRET in c.text for c in checkins)  # planted, so the scan below can fail
    # Three session pulses give a mean; two give none ("too few answers").
    assert figures[first].pulse == 4.0 and figures[first].pulse_answers == 3
    assert figures[second].pulse is None and figures[second].pulse_answers == 2

    assert [t.number for t in page.trends] == [1, 2, 3]
    assert page.trends[0].participation == 6 / 8
    assert page.trends[0].pulse == (4 + 5 + 3 + 1 + 2) / 5 and page.trends[0].pulse_answers == 5
    assert page.trends[1].pulse is None  # midpoint pulses are not session pulses

    feedback, delegation, hiring, prioritising = page.capabilities
    assert (feedback.start, feedback.end, feedback.answers) == (3.0, 4.3, 3)  # means to one decimal
    assert (hiring.start, hiring.end) == (4.0, 4.3)
    # The fourth area was rated at both ends by two people only: no figure.
    assert (prioritising.start, prioritising.end, prioritising.answers) == (None, None, 2)
    assert delegation.answers == 3

    assert page.recommendation is not None
    assert page.recommendation.answers == 5
    assert (page.recommendation.promoters, page.recommendation.detractors) == (2, 1)
    assert page.recommendation.score == 20

    # Shared words only, anonymous; nothing unshared, no check-in or commitment text anywhere.
    assert sorted((w.text, w.source) for w in page.shared) == [
        ("I ask for help", "end survey"),
        ("More time to practise, please", "midpoint"),
    ]
    assert "More time to practise" not in [w.text for w in page.shared]
    every = list(strings(page))
    assert every and not [s for s in every if SECRET in s]
    assert not {m.name for m in COHORT} & set(every)  # the programme page names nobody

    circle = await dashboard.circle(await as_manager(dashboard), first)
    assert circle is not None
    assert circle.scope == Scope("local", WORKSPACE, launched.programme_id)
    assert circle.figures == figures[first]
    assert [s.number for s in circle.sessions] == [1, 2, 3]
    assert circle.sessions[0].participation == 3 / 4 and circle.sessions[0].pulse == 4.0
    quiet = launched.quiet[first]
    assert [(q.name, q.missed, q.last_checkin) for q in circle.quiet] == [(quiet.name, 3, None)]
    assert circle.facilitator in {m.name for m in one}
    assert not [s for s in strings(circle) if SECRET in s]


async def test_figures_need_three_answers(engine: Database) -> None:
    """Two answers give no pulse, capability or recommendation figure, and no shared line
    (among two, a line points at its author); the third gives them."""
    h, launched = await running(engine, sessions=1)
    circle_id = min(launched.circles)
    members = launched.circles[circle_id]
    dashboard = SqlDashboard(engine)
    access = await as_manager(dashboard)

    for member, score in zip(members[:2], (2, 5), strict=True):
        await pulse(h, launched, member, circle_id, 1, score)
        await survey(
            h, launched, member, ratings=(5, 5, 5, 5), recommend=10, changed="I listen", shared=True
        )
    page = await page_of(dashboard, access, launched.programme_id)
    assert page.shared == ()
    shown = next(c for c in page.circles if c.circle_id == circle_id)
    assert (shown.pulse, shown.pulse_answers) == (None, 2)
    assert (page.trends[0].pulse, page.trends[0].pulse_answers) == (None, 2)
    assert all(c.start is None and c.end is None and c.answers == 2 for c in page.capabilities)
    assert page.recommendation is not None and page.recommendation.score is None

    await pulse(h, launched, members[2], circle_id, 1, 2)
    await survey(h, launched, members[2], ratings=(5, 5, 5, 5), recommend=0)
    page = await page_of(dashboard, access, launched.programme_id)
    shown = next(c for c in page.circles if c.circle_id == circle_id)
    assert (shown.pulse, shown.pulse_answers) == (3.0, 3)
    assert page.trends[0].pulse == 3.0
    assert [(c.start, c.end) for c in page.capabilities] == [(3, 5), (2, 5), (4, 5), (1, 5)]
    assert page.recommendation is not None and page.recommendation.score == 33
    assert [(w.text, w.source) for w in page.shared] == [("I listen", "end survey")] * 2


async def test_a_manager_sees_only_their_programmes_and_a_member_nothing(
    engine: Database,
) -> None:
    h, launched = await running(engine, sessions=0)
    # Ben, a participant, starts a programme of his own; Ana forms a circle by hand.
    await h.command(
        BEN,
        "programme new Sellers areas pitching, closing, listening size 3-4 focus Sell better",
        conversation=None,
    )
    await h.form_circle((ANA, CHEN, DARA))
    dashboard = SqlDashboard(engine)
    async with h.uow() as uow:
        sellers = await uow.programmes.by_name("local", WORKSPACE, "Sellers")
        hand_made = await uow.circles.by_name("local", WORKSPACE, "Growth Circle")
    assert sellers is not None and sellers.id is not None
    assert hand_made is not None and hand_made.id is not None
    theirs = Scope("local", WORKSPACE, sellers.id)
    ours = Scope("local", WORKSPACE, launched.programme_id)
    no_programme = Scope("local", WORKSPACE, None)
    some_circle = min(launched.circles)

    mia = await as_manager(dashboard)
    assert mia.programmes == {launched.programme_id} and not mia.admin
    assert [line.name for line in await dashboard.programmes(mia)] == ["New Leads"]
    assert await dashboard.programme(mia, theirs) is None
    assert await dashboard.programme(mia, no_programme) is None
    assert await dashboard.circle(mia, hand_made.id) is None
    assert await dashboard.circle(mia, some_circle) is not None

    ben = await dashboard.access(BEN.key, admins=ADMINS)
    assert ben is not None and ben.programmes == {sellers.id}
    assert await dashboard.programme(ben, ours) is None
    assert await dashboard.circle(ben, some_circle) is None  # even his own circle's figures
    assert await dashboard.programme(ben, theirs) is not None

    assert await dashboard.access(ANA.key, admins=ADMINS) is None  # a member, no more
    assert await dashboard.access(PersonKey("local", WORKSPACE, "nobody"), admins=ADMINS) is None

    zoe = await dashboard.access(ZOE.key, admins=ADMINS)
    assert zoe is not None and zoe.admin
    lines = {line.name: line for line in await dashboard.programmes(zoe)}
    assert set(lines) == {"New Leads", "Sellers", NO_PROGRAMME}
    assert (lines[NO_PROGRAMME].circles, lines[NO_PROGRAMME].participants) == (1, 3)
    page = await dashboard.programme(zoe, no_programme)
    assert page is not None and page.funnel is None
    assert [c.name for c in page.circles] == ["Growth Circle"]
    assert await dashboard.circle(zoe, hand_made.id) is not None

    # A workspace admin by their own flag (as Slack or Teams reported it) needs no list.
    async with h.uow() as uow:
        ana = await uow.people.by_key(ANA.key)
        assert ana is not None
        ana.admin = True
        await uow.people.save(ana)
        await uow.commit()
    ana_now = await dashboard.access(ANA.key, admins=frozenset())
    assert ana_now is not None and ana_now.admin
    assert await dashboard.programme(ana_now, theirs) is not None

    # An admin elsewhere (same user id, another workspace) sees nothing of this one.
    elsewhere = await dashboard.access(PersonKey("local", "globex", ZOE.user), admins=ADMINS)
    assert elsewhere is not None and elsewhere.admin
    assert await dashboard.programmes(elsewhere) == []
    assert await dashboard.programme(elsewhere, ours) is None
    assert await dashboard.circle(elsewhere, some_circle) is None
    forged = Scope("local", "globex", launched.programme_id)  # the id, in another workspace
    assert await dashboard.programme(elsewhere, forged) is None


async def test_a_circle_that_stops_checking_in_is_at_risk_then_dormant(
    engine: Database,
) -> None:
    """Health comes from the last two closed sessions' turnout, as the admins' report says."""
    h, launched = await running(engine, sessions=1)
    first, second = sorted(launched.circles)
    await run_sessions(h, launched, range(2, 4), talking={first: 0, second: 1})
    dashboard = SqlDashboard(engine)
    page = await page_of(dashboard, await as_manager(dashboard), launched.programme_id)
    shown = {c.circle_id: c.health for c in page.circles}
    assert shown == {first: Health.DORMANT, second: Health.AT_RISK}
    assert page.line.at_risk == 2
    [line] = await dashboard.programmes(await as_manager(dashboard))
    assert (line.circles, line.at_risk) == (2, 2)
    assert [t.participation for t in page.trends] == [6 / 8, 1 / 8, 1 / 8]

    # An ended circle is still listed, and no longer counted at risk.
    async with h.uow() as uow:
        dormant = await uow.circles.get(first)
    organiser = launched.circles[first][0]
    # `end confirm` opens its closing session; typed again, it ends the circle now.
    assert "closing session" in await h.command(organiser, "end confirm", conversation=dormant.home)
    assert "Ended" in await h.command(organiser, "end confirm", conversation=dormant.home)
    [line] = await dashboard.programmes(await as_manager(dashboard))
    assert (line.circles, line.at_risk) == (2, 1)
    page = await page_of(dashboard, await as_manager(dashboard), launched.programme_id)
    assert (page.line.circles, page.line.at_risk) == (2, 1)
