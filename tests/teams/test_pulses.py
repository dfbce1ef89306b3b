"""The session pulse through Teams (SPEC §15): after a session closes, whoever checked in
gets a card with the buttons 1–5; pressing one records the answer and says so, and
pressing another changes it. At a programme's midpoint, "Anything in the way?" shows its
form as an Adaptive Card: a bad answer is refused by its field's label and nothing is stored;
a good one is stored, and a shared note reaches the managers' digest without its author's
name. Over sockets, through the fake Bot Connector.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.pulses import PulseKind
from storage.db import Database
from tests.teams.connector import FakeConnector
from tests.teams.harness import ANA, BEN, CHEN, EVERYONE, TeamsBot
from tests.teams.test_forms import check_inputs
from tests.teams.test_programmes import CHAT, MIA, NEW, in_chat, intakes_by_dm

OPENS = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 10:00 in Berlin
CLOSES = OPENS + timedelta(days=2)


async def test_the_pulse_card_records_a_press_and_a_second_changes_it(bot: TeamsBot) -> None:
    await bot.command(ANA, "create Growth Circle")
    await bot.command(ANA, "invite {0} {1}", BEN, CHEN)
    for member in (ANA, BEN, CHEN):
        await bot.dm(member, "hours 00:00-24:00 mon-sun")
    await bot.dm(BEN, "agree")
    await bot.dm(CHEN, "agree")
    await bot.command(ANA, "schedule weekly on mon at 10:00 tz Europe/Berlin window 2d")
    await bot.sim.run_until(OPENS + timedelta(hours=1))
    await bot.dm(BEN, "Shipped the beta.")
    await bot.dm(ANA, "Hiring, mostly.")
    await bot.sim.run_until(CLOSES + timedelta(hours=1))

    asked = [t for t in bot.inbox(BEN) if t.startswith("How useful was session 1")]
    assert asked == [
        "How useful was session 1 of Growth Circle?\n[1] · [2] · [3] · [4] · [5]\n"
        "One tap, optional: 1 not useful, 5 very useful. Only figures are shown."
    ], asked
    assert not [t for t in bot.inbox(CHEN) if t.startswith("How useful")]  # no check-in

    await bot.press(BEN, "4")
    assert bot.inbox(BEN)[-1].startswith("Thanks — noted 4/5 for session 1 of Growth Circle")
    await bot.press(BEN, "5")
    assert bot.inbox(BEN)[-1].startswith("Changed to 5/5")
    async with bot.uow() as uow:
        person = await uow.people.by_key(BEN.key)
        assert person is not None
        [pulse] = await uow.pulses.find(person_id=person.id)
    assert pulse.score == 5 and pulse.answered_at is not None


async def test_the_midpoint_card_opens_its_form_and_stores_score_note_and_share(
    engine: Database,
) -> None:
    """New Leads over two sessions: session 1 is its midpoint. "Anything in the way?" shows
    the form as a card; a note too long is refused and nothing stored; the answer is stored
    and the shared note is held back from the managers' digest while he alone answered."""
    bot = TeamsBot(engine, FakeConnector())
    await bot.start()
    try:
        bot.connector.people[MIA.user] = {"id": MIA.user, "name": MIA.name, "aadObjectId": MIA.aad}
        await bot.dm(MIA, "hours 00:00-24:00 mon-sun")
        await bot.command(MIA, NEW.replace("for 4 sessions", "for 2 sessions"))
        await bot.command(MIA, "programme invite {0} {1} {2} {3}", *EVERYONE)
        await intakes_by_dm(bot)
        await bot.command(MIA, "programme match")
        await bot.command(MIA, "programme launch")
        bot.connector.open_group_chat(CHAT)
        await bot.send(in_chat(bot, MIA, "programme home 1"))
        async with bot.uow() as uow:
            [one] = await uow.sessions.find(number=1)
        await bot.sim.run_until(one.opens_at)
        await bot.dm(BEN, "Delegated the release notes.")  # his check-in
        await bot.sim.run_until(one.closes_at)

        await bot.press(BEN, "Anything in the way?")
        answers = {
            "field:score": "2",
            "field:note": "Our slot clashes with planning " * 20,
            "field:shared": "shared",
        }
        card = await bot.fill_form(BEN, answers)
        inputs = check_inputs(card)
        assert list(inputs) == ["field:score", "field:note", "field:shared"]
        assert inputs["field:score"]["label"].startswith("How useful is New Leads 1 for you?")
        assert [c["value"] for c in inputs["field:score"]["choices"]] == list("12345")
        assert inputs["field:note"]["isMultiline"] and not inputs["field:note"]["isRequired"]
        assert inputs["field:shared"]["isMultiSelect"] is True
        assert inputs["field:shared"]["choices"] == [
            {"title": "Share it anonymously with the programme team", "value": "shared"}
        ]
        refused = bot.inbox(BEN)[-1]
        assert "Anything in the way?: Please keep it to 500 characters; this is 619." in refused
        async with bot.uow() as uow:
            ben = await uow.people.by_key(BEN.key)
            assert ben is not None
            [pulse] = await uow.pulses.find(person_id=ben.id, kind=PulseKind.MIDPOINT)
        assert (pulse.score, pulse.note, pulse.answered_at) == (None, "", None)

        await bot.fill_form(BEN, {**answers, "field:note": "Our slot clashes with planning"})
        assert bot.inbox(BEN)[-1] == (
            "Thanks — noted 2/5 for New Leads 1 at its midpoint. "
            "Your note goes to the programme team without your name."
        )
        async with bot.uow() as uow:
            [pulse] = await uow.pulses.find(person_id=ben.id, kind=PulseKind.MIDPOINT)
        assert (pulse.score, pulse.note, pulse.shared) == (
            2,
            "Our slot clashes with planning",
            True,
        )

        # Reopened, the card shows what is stored; the managers' digest quotes the note alone.
        await bot.press(BEN, "Anything in the way?")
        kept = {**answers, "field:note": "Our slot clashes with planning", "field:shared": ""}
        again = check_inputs(await bot.fill_form(BEN, kept))
        assert again["field:score"]["value"] == "2" and again["field:shared"]["value"] == "shared"
        assert again["field:note"]["value"] == "Our slot clashes with planning"
        assert bot.inbox(BEN)[-1].endswith("Your note stays with me: nobody else reads it.")
        async with bot.uow() as uow:
            [pulse] = await uow.pulses.find(person_id=ben.id, kind=PulseKind.MIDPOINT)
        assert pulse.shared is False
        await bot.press(BEN, "Anything in the way?")
        await bot.fill_form(BEN, {**kept, "field:shared": "shared"})
        bot.clock.set(one.closes_at + timedelta(days=2, hours=1))
        await bot.core.follow_up_programmes()
        await bot.sim.settle()
        digest = bot.inbox(MIA)[-1]
        # Ben alone answered: his shared line would point at him, so the digest holds it
        # back (from three answers up it is quoted: tests/test_pulses.py).
        assert digest.startswith("Midpoint · New Leads")
        assert "Our slot clashes with planning" not in digest and "Ben" not in digest
    finally:
        await bot.close()
