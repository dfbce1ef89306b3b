"""The end survey on Teams (SPEC §15): its button shows the survey as an Adaptive Card
form with the intake's rating choices, a share tick and 0–10; a bad answer is answered
in the chat with nothing stored, a good one thanked. Through the real endpoint and the
fake Bot Connector, over sockets."""

from __future__ import annotations

from storage.db import Database
from tests.teams.connector import FakeConnector
from tests.teams.harness import EVERYONE, TeamsBot
from tests.teams.test_forms import check_inputs
from tests.teams.test_programmes import CHAT, MIA, NEW, in_chat, intakes_by_dm


async def test_the_survey_card_refuses_a_bad_answer_then_stores_the_survey(
    engine: Database,
) -> None:
    bot = TeamsBot(engine, FakeConnector())
    await bot.start()
    try:
        connector = bot.connector
        connector.people[MIA.user] = {"id": MIA.user, "name": MIA.name, "aadObjectId": MIA.aad}
        await bot.command(MIA, NEW)
        await bot.command(MIA, "programme invite {0} {1} {2} {3}", *EVERYONE)
        await intakes_by_dm(bot)
        await bot.command(MIA, "programme match")
        await bot.command(MIA, "programme launch")
        connector.open_group_chat(CHAT)
        await bot.send(in_chat(bot, MIA, "programme home 1"))
        await bot.command(MIA, "programme close")
        assert "Each participant gets the end survey" in bot.inbox(MIA)[-1]
        ben = EVERYONE[1]
        assert any("New Leads has ended." in t for t in bot.inbox(ben))

        await bot.press(ben, "Fill in the end survey")
        survey = {
            "field:rating:0": "4",
            "field:rating:1": "3",
            "field:rating:2": "9",
            "field:changed": "I ask before I advise",
            "field:shared": "yes",
            "field:recommend": "8",
        }
        card = await bot.fill_form(ben, survey)
        inputs = check_inputs(card)
        assert [c["value"] for c in inputs["field:recommend"]["choices"]] == [
            str(n) for n in range(11)
        ]
        assert inputs["field:shared"]["isMultiSelect"] is True
        assert "numbers from 1 to 5" in bot.inbox(ben)[-1]
        async with bot.uow() as uow:
            assert [s.answered_at for s in await uow.surveys.find()] == [None] * 4

        await bot.fill_form(ben, {**survey, "field:rating:2": "5"})
        assert "your end survey for New Leads is in" in bot.inbox(ben)[-1]
        async with bot.uow() as uow:
            person = await uow.people.by_key(ben.key)
            assert person is not None
            (stored,) = await uow.surveys.find(person_id=person.id)
        assert stored.ratings == (4, 3, 5) and stored.shared and stored.recommend == 8
    finally:
        await bot.close()
