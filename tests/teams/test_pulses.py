"""The session pulse through Teams (SPEC §15): after a session closes, whoever checked in
gets a card with the buttons 1–5; pressing one records the answer and says so, and
pressing another changes it. Over sockets, through the fake Bot Connector.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.teams.harness import ANA, BEN, CHEN, TeamsBot

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
