"""Pulses and the midpoint (SPEC §15), end to end through the real core and database.

A session's pulse reaches only those who took part, once, inside their working
hours, and is never nudged; one tap stores it and another changes it. In a
programme's circles the midpoint session asks about the circle instead, and the
managers get one digest, with figures only, whose buttons run `programme nudge`
and `programme message`. Time moves only on the fake clock; the digest's job is
called directly, as the scheduler would.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.circles import Circle
from bot.events import DirectMessage
from bot.pulses import Pulse, PulseKind
from storage.db import Database
from tests.harness import ANA, BEN, CHEN, DARA, ZOE, Harness, Member, later
from tests.test_programmes import COHORT, MIA, everyone_enrolled
from tests.test_sessions import FOUR, closes, open_first, opens


def pulses_to(h: Harness, who: Member) -> list[str]:
    return [b for b in h.inbox(who) if b.startswith(("How useful was", "Halfway"))]


def pulse_arrivals(h: Harness, who: Member) -> list[datetime]:
    return [a.at for a in h.world.arrivals if a.person == who.key and a.key.startswith("pulse:")]


async def pulses(h: Harness) -> list[Pulse]:
    async with h.uow() as uow:
        return await uow.pulses.find()


async def pulse_of(h: Harness, who: Member) -> Pulse:
    async with h.uow() as uow:
        person = await uow.people.by_key(who.key)
        assert person is not None
        found = await uow.pulses.find(person_id=person.id, order_by="-id")
    return found[0]


# --- the session pulse -------------------------------------------------------------------


async def test_only_those_who_took_part_are_asked_once_inside_their_hours(
    engine: Database,
) -> None:
    h = Harness(engine)
    await open_first(h)
    await h.dm(ANA, "A busy week, but I shipped the demo.")
    await h.dm(BEN, "Mostly interviews.")
    # Ben works 09:00–10:00 on weekdays in New York: the close (Wed 04:00 there) is outside.
    assert "09:00" in await h.command(BEN, "hours 09:00-10:00 mon-fri", conversation=None)
    await h.run_until(closes(1) + later(hours=1))

    [asked] = pulses_to(h, ANA)
    assert asked.splitlines()[0] == "How useful was session 1 of Growth Circle?"
    assert "[1] · [2] · [3] · [4] · [5]" in asked
    assert pulses_to(h, CHEN) == [] and pulses_to(h, DARA) == []  # they did not check in
    assert pulses_to(h, BEN) == []  # not yet: outside his working hours
    await h.run(later(hours=12))
    [ben_asked] = pulse_arrivals(h, BEN)
    assert ben_asked == datetime.fromisoformat("2026-11-25T14:00:00+00:00")  # 09:00 in New York

    # Never nudged, never reminded: a week on, still the one DM each.
    await h.run_until(opens(2) - later(hours=1))
    assert len(pulses_to(h, ANA)) == 1 and len(pulses_to(h, BEN)) == 1
    assert {p.kind for p in await pulses(h)} == {PulseKind.SESSION}
    assert all(p.programme_id is None for p in await pulses(h))


async def test_one_tap_is_stored_and_another_changes_it_until_the_pulse_is_over(
    engine: Database,
) -> None:
    h = Harness(engine)
    await open_first(h)
    await h.dm(ANA, "A busy week.")
    await h.run_until(closes(1) + later(hours=1))
    pulse = await pulse_of(h, ANA)
    assert pulse.score is None and pulse.answered_at is None

    answer = await h.click(ANA, "pulse", f"{pulse.id}:4")
    assert answer.startswith("Thanks — noted 4/5 for session 1 of Growth Circle"), answer
    assert (await pulse_of(h, ANA)).score == 4
    assert "Already noted: 4/5" in await h.click(ANA, "pulse", f"{pulse.id}:4")
    assert "Changed to 2/5" in await h.click(ANA, "pulse", f"{pulse.id}:2")
    stored = await pulse_of(h, ANA)
    assert stored.score == 2 and stored.answered_at == h.clock.now()

    # Someone else's pulse, a score off the scale: refused, nothing changes.
    assert "no longer valid" in await h.click(BEN, "pulse", f"{pulse.id}:5")
    assert "no longer valid" in await h.click(ANA, "pulse", f"{pulse.id}:9")
    assert (await pulse_of(h, ANA)).score == 2

    # Still counts a week later (the circle has moved on)...
    await h.run(later(days=8))
    assert "Changed to 5/5" in await h.click(ANA, "pulse", f"{pulse.id}:5")
    # ...but not after two weeks: the button says it is over and changes nothing.
    await h.run(later(days=7))
    over = await h.click(ANA, "pulse", f"{pulse.id}:1")
    assert "The pulse for session 1 of Growth Circle is over" in over, over
    assert (await pulse_of(h, ANA)).score == 5


# --- the midpoint ------------------------------------------------------------------------


async def launched_programme(h: Harness) -> tuple[list[Member], list[Member]]:
    """New Leads (4 sessions, so the midpoint is session 2) launched into two circles of
    four; everyone works any time and has agreed to the rules. The members of each circle:
    New Leads 1 (to stay quiet), New Leads 2 (to be busy)."""
    await everyone_enrolled(h)
    for member in COHORT:
        await h.command(member, "hours 00:00-24:00 mon-sun", conversation=None)
    await h.command(MIA, "programme match", conversation=None)
    assert "Launched New Leads" in await h.command(MIA, "programme launch", conversation=None)
    for member in COHORT:
        await h.dm(member, "agree")
    by_key = {m.key: m for m in COHORT}
    circles: dict[str, list[Member]] = {}
    async with h.uow() as uow:
        for circle in await uow.circles.find(order_by="name"):
            memberships = await uow.memberships.find(circle_id=circle.id)
            people = await uow.people.among("id", [m.person_id for m in memberships])
            circles[circle.name] = sorted((by_key[p.key] for p in people), key=lambda m: m.user)
    assert sorted(circles) == ["New Leads 1", "New Leads 2"]
    return circles["New Leads 1"], circles["New Leads 2"]


async def through_session(h: Harness, number: int, checking_in: list[Member]) -> None:
    """Session `number` of every circle opens, these members check in, and it closes."""
    async with h.uow() as uow:
        sessions = await uow.sessions.find(number=number)
    await h.run_until(max(s.opens_at for s in sessions) + later(hours=1))
    for member in checking_in:
        assert "Your check-in is in" in await h.dm(
            member, f"Session {number}: I tried the new 1:1 format."
        )
    await h.run_until(max(s.closes_at for s in sessions) + timedelta(minutes=5))


async def after_session_one(engine: Database) -> tuple[Harness, list[Member], list[Member]]:
    """New Leads launched (`launched_programme`), its session 1 held by the busy circle."""
    h = Harness(engine)
    quiet, busy = await launched_programme(h)
    await through_session(h, 1, busy)
    return h, quiet, busy


async def test_the_midpoint_asks_about_the_circle_and_the_managers_get_one_digest(
    engine: Database,
) -> None:
    h = Harness(engine)
    quiet, busy = await launched_programme(h)

    # Session 1: a session pulse to those who took part (the busy circle), as anywhere.
    await through_session(h, 1, busy)
    assert all(pulses_to(h, m)[-1].startswith("How useful was session 1") for m in busy)
    assert all(pulses_to(h, m) == [] for m in quiet)
    one = await pulse_of(h, busy[0])
    assert one.kind is PulseKind.SESSION and one.programme_id is not None

    # Session 2 is half of four: the midpoint question replaces the session pulse.
    await through_session(h, 2, busy)
    for member in busy:
        asked = pulses_to(h, member)[-1]
        assert asked.startswith("Halfway · New Leads"), asked
        assert "How useful is New Leads 2 for you?" in asked
        assert "[Anything in the way?]" in asked
        assert not any(b.startswith("How useful was session 2") for b in h.inbox(member))
    midpoint = [await pulse_of(h, m) for m in busy]
    assert {p.kind for p in midpoint} == {PulseKind.MIDPOINT}

    # Three answer: two by a tap, one by the form, with a note shared anonymously; a fourth
    # writes a note and keeps it to themself.
    for member, pulse, score in zip(busy[:2], midpoint[:2], (2, 2), strict=True):
        await h.click(member, "pulse", f"{pulse.id}:{score}")
    opened = await h.click(busy[2], "pulse_form", str(midpoint[2].id))
    assert "Halfway: a form of 3 questions." in opened, opened
    shared = await h.fill(
        busy[2],
        "pulse",
        str(midpoint[2].id),
        {
            "score": ("3",),
            "note": ("Our slot clashes with sprint planning",),
            "shared": ("shared",),
        },
    )
    assert "noted 3/5 for New Leads 2 at its midpoint" in shared
    assert "goes to the programme team without your name" in shared
    kept = await h.fill(
        busy[3], "pulse", str(midpoint[3].id), {"score": ("4",), "note": ("My manager <@ana>",)}
    )
    assert "stays with me: nobody else reads it" in kept
    stored = await pulse_of(h, busy[2])
    assert (stored.score, stored.note, stored.shared) == (
        3,
        "Our slot clashes with sprint planning",
        True,
    )

    # Before the answers had time (two days after the last midpoint close), no digest.
    await h.core.follow_up_programmes()
    await h.sim.deliver()
    assert not [b for b in h.inbox(MIA) if b.startswith("Midpoint")]

    async with h.uow() as uow:
        last = max(s.closes_at for s in await uow.sessions.find(number=2))
    await h.run_until(last + timedelta(days=2))
    await h.core.follow_up_programmes()
    await h.run(later(days=1))
    [digest] = [b for b in h.inbox(MIA) if b.startswith("Midpoint · New Leads")]
    [arrived] = [a.at for a in h.world.arrivals if a.person == MIA.key and ":midpoint:" in a.key]
    async with h.uow() as uow:
        mia = await uow.people.by_key(MIA.key)
        programme = await uow.programmes.by_name("local", "acme", "New Leads")
    assert mia is not None and mia.hours.contains(mia.local(arrived))  # her working hours
    assert programme is not None and programme.midpoint_at is not None

    # The quiet circle is dormant, with too few answers for a figure; the busy one is
    # healthy but its pulse is under 3 (2, 2, 3 and 4: 2.8 from four answers).
    assert "New Leads 1 · dormant · midpoint pulse: too few answers" in digest, digest
    assert "New Leads 2 · healthy · midpoint pulse 2.8/5 from 4 answers" in digest
    assert digest.count("[Nudge its quiet members] · [Message its facilitator]") == 2
    # Figures, and the shared note without its author; never what was said in the circle.
    assert "> Our slot clashes with sprint planning" in digest
    assert "My manager" not in digest and "1:1 format" not in digest
    assert not any(m.name in digest for m in COHORT)

    # Once: the job running again sends nothing more.
    await h.core.follow_up_programmes()
    await h.run(later(days=3))
    assert len([b for b in h.inbox(MIA) if b.startswith("Midpoint")]) == 1

    # `forget me` erases a note (its score stays a figure).
    await h.command(busy[2], "forget me confirm", conversation=None)
    forgotten = await pulse_of(h, busy[2])
    assert (forgotten.score, forgotten.note, forgotten.shared) == (3, "", False)


async def test_a_reply_to_the_midpoint_message_is_its_note_shared_only_on_a_tap(
    engine: Database,
) -> None:
    h = Harness(engine)
    _, busy = await launched_programme(h)
    for number in (1, 2):
        await through_session(h, number, busy)
    who = busy[0]
    [ref] = [
        p.ref for p in h.world.dms[who.key] if p.author is None and p.body.startswith("Halfway")
    ]
    own = h.world.dm_from(person=who.key, author=who.name, text="x", at=h.clock.now())
    answer = await h.send(
        DirectMessage(
            id="reply-1", actor=who.actor, text="Done: too many meetings", ref=own, replying_to=ref
        )
    )
    assert not answer.duplicate
    said = h.answer_to("reply-1")
    assert said.startswith(
        "Noted your line about New Leads 2 at its midpoint; it stays with me."
    ), said
    assert "[Share it anonymously]" in said
    kept = await pulse_of(h, who)
    assert (kept.note, kept.shared, kept.score) == ("Done: too many meetings", False, None)
    assert "Shared with the programme team" in await h.click(who, "pulse_share", str(kept.id))
    assert (await pulse_of(h, who)).shared
    assert "already shared" in await h.click(who, "pulse_share", str(kept.id))


async def test_a_skipped_session_moves_the_midpoint_to_the_session_that_takes_its_number(
    engine: Database,
) -> None:
    h, _, busy = await after_session_one(engine)
    organiser = await _organiser(h, "New Leads 2")
    assert "Skipped the session" in await h.command(
        organiser, "skip in New Leads 2", conversation=None
    )
    await through_session(h, 2, busy)  # New Leads 2's session 2 is a week later
    assert all(pulses_to(h, m)[-1].startswith("Halfway · New Leads") for m in busy)
    await h.run(later(days=2))
    await h.core.follow_up_programmes()
    await h.run(later(days=3))  # to Mia's working hours, after a weekend
    assert len([b for b in h.inbox(MIA) if b.startswith("Midpoint · New Leads")]) == 1


async def _organiser(h: Harness, name: str) -> Member:
    async with h.uow() as uow:
        circle = await uow.circles.by_name("local", "acme", name)
        assert circle is not None
        member = next(m for m in await uow.memberships.find(circle_id=circle.id) if m.organiser)
        person = await uow.people.get(member.person_id)
    return next(m for m in COHORT if m.key == person.key)


async def test_the_digest_goes_early_when_a_circle_opens_its_next_session(
    engine: Database,
) -> None:
    h = Harness(engine)
    _, busy = await launched_programme(h)
    for number in (1, 2):  # the busy circle takes part; the midpoint is session 2
        await through_session(h, number, busy)
    await h.core.follow_up_programmes()
    await h.sim.deliver()
    assert not [b for b in h.inbox(MIA) if b.startswith("Midpoint")]
    who = await _organiser(h, "New Leads 2")
    assert "Opened session 3 of New Leads 2" in await h.command(
        who, "open in New Leads 2", conversation=None
    )
    await h.core.follow_up_programmes()
    await h.run(later(days=1))
    assert len([b for b in h.inbox(MIA) if b.startswith("Midpoint · New Leads")]) == 1


async def test_managers_nudge_a_quiet_circle_and_message_its_facilitator(
    engine: Database,
) -> None:
    h = Harness(engine)
    quiet, busy = await launched_programme(h)
    await through_session(h, 1, busy + quiet[:1])
    await through_session(h, 2, busy + quiet[:1])
    async with h.uow() as uow:
        one = await uow.circles.by_name("local", "acme", "New Leads 1")
        two = await uow.circles.by_name("local", "acme", "New Leads 2")
    assert one is not None and two is not None

    # Only the programme's managers and workspace admins may; nothing changes otherwise.
    refused = await h.command(quiet[0], "programme nudge New Leads 1", conversation=None)
    assert "Only New Leads's managers, or a workspace admin, can nudge its circles." in refused
    assert "no circle called “Old Leads”" in await h.command(
        MIA, "programme nudge Old Leads", conversation=None
    )

    # The digest's button runs the command: the members who missed session 2 get a kind DM.
    answer = await h.click(MIA, "programme_nudge", str(one.id))
    missed = quiet[1:]
    assert answer.startswith(f"Nudged {missed[0].name}, "), answer
    assert "in New Leads 1, kindly and by DM, inside their working hours." in answer
    await h.sim.deliver()
    for member in missed:
        [nudge] = [b for b in h.inbox(member) if b.startswith("A friendly note")]
        assert "New Leads 1 would be glad to hear from you; session 3 opens" in nudge
    assert not [b for b in h.inbox(quiet[0]) if b.startswith("A friendly note")]
    # Once per session, even from an admin typing the command.
    again = await h.command(ZOE, "programme nudge New Leads 1", conversation=None)
    assert "were nudged already for session 3; once per session is enough" in again
    assert "Nobody in New Leads 2 is quiet" in await h.command(
        MIA, "programme nudge 2", conversation=None
    )

    # Message the facilitator: by command (one line back), or the button's form.
    sent = await h.command(
        MIA, "programme message New Leads 2 How can I help with the slot?", conversation=None
    )
    async with h.uow() as uow:
        upcoming = await uow.sessions.first(circle_id=two.id, number=3)
        assert upcoming is not None and upcoming.facilitator_id is not None
        facilitator = await uow.people.get(upcoming.facilitator_id)
    assert sent == (
        f"Sent your message to {facilitator.name}, New Leads 2's facilitator, by DM"
        " (inside their working hours)."
    )
    to = next(m for m in COHORT if m.key == facilitator.key)
    await h.sim.deliver()
    [got] = [b for b in h.inbox(to) if b.startswith("A message from Mia")]
    assert "who manages New Leads, about New Leads 2:" in got
    assert "> How can I help with the slot?" in got
    form = await h.click(MIA, "programme_message", str(two.id))
    assert "Message the facilitator: a form of 1 questions." in form, form
    await h.run(timedelta(minutes=1))
    via_form = await h.fill(MIA, "programme_message", str(two.id), {"text": ("Thank you all!",)})
    assert via_form.startswith(f"Sent your message to {facilitator.name}")
    await h.sim.deliver()
    assert any("> Thank you all!" in b for b in h.inbox(to))
    refused = await h.command(quiet[0], "programme message New Leads 2 hi", conversation=None)
    assert "Only New Leads's managers, or a workspace admin, can message" in refused
    empty = await h.command(MIA, "programme message New Leads 2", conversation=None)
    assert "Add the message after the circle: `programme message New Leads 2 <text>`." in empty


async def test_a_circle_outside_any_programme_asks_no_midpoint(engine: Database) -> None:
    h = Harness(engine)
    await open_first(h, FOUR)
    await h.dm(ANA, "Fine.")
    await h.run_until(closes(1) + later(hours=1))
    assert "not a programme's circle" in await h.command(
        ZOE, "programme nudge Growth Circle", conversation=None
    )


async def test_a_manager_moves_someone_between_running_circles(engine: Database) -> None:
    h, quiet, _ = await after_session_one(engine)
    mover = quiet[0]

    refused = await h.command(
        quiet[1], f"programme move {mover.mention} to 2 in New Leads", conversation=None
    )
    assert "Only New Leads's managers" in refused
    assert "New Leads has no circle 3." in await h.command(
        MIA, f"programme move {mover.mention} to 3", conversation=None
    )
    assert f"{mover.name} is already in New Leads 1." in await h.command(
        MIA, f"programme move {mover.mention} to 1", conversation=None
    )
    await _set_max_size(h, "New Leads 2", 4)
    assert "New Leads 2 is full (4 of 4)." in await h.command(
        MIA, f"programme move {mover.mention} to 2", conversation=None
    )
    two = await _set_max_size(h, "New Leads 2", 5)

    moved = await h.command(MIA, f"programme move {mover.mention} to 2", conversation=None)
    assert moved == (
        f"Moved {mover.name} from New Leads 1 to New Leads 2; both circles are told, and "
        f"{mover.name} gets New Leads 2's welcome."
    )
    await h.run(later(hours=1))
    for circle in (await _circle(h, "New Leads 1"), two):
        told = [p.body for p in h.world.channels[circle.home] if "has moved" in p.body]
        assert told == [
            f"{mover.name} has moved from New Leads 1 to New Leads 2, arranged with the "
            "New Leads team."
        ]
    assert any(b.startswith("👋 Welcome to New Leads 2") for b in h.inbox(mover))
    async with h.uow() as uow:
        person = await uow.people.by_key(mover.key)
        assert person is not None
        [enrolment] = await uow.enrolments.find(person_id=person.id)
        members = {
            m.circle_id for m in await uow.memberships.find(person_id=person.id, left_at=None)
        }
    assert enrolment.circle_id == two.id and members == {two.id}
    assert "New Leads 2 is full (5 of 5)." in await h.command(
        MIA, f"programme move {quiet[1].mention} to 2", conversation=None
    )


async def _set_max_size(h: Harness, name: str, size: int) -> Circle:
    """An organiser's `set size`, straight in the store: the circle's members stay as they are."""
    async with h.uow() as uow:
        circle = await uow.circles.by_name("local", "acme", name)
        assert circle is not None
        circle.max_size = size
        await uow.circles.save(circle)
        await uow.commit()
    return circle


async def _circle(h: Harness, name: str) -> Circle:
    async with h.uow() as uow:
        found = await uow.circles.by_name("local", "acme", name)
    assert found is not None
    return found
