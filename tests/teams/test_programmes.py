"""A programme lived through Teams (SPEC §13): the manager invites a channel's roster
with `programme invite #here`, intakes come by DM, and since a bot opens no Teams
channel or chat with least privilege, `programme launch` answers with the homes to
make; `programme home <n>` typed in a new group chat binds it, and the circle is
created, scheduled and welcomed there as launch does elsewhere. Over sockets, through
the fake Bot Connector (its paged roster included).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from storage.db import Database
from tests.teams.connector import FakeConnector
from tests.teams.harness import (
    BOT,
    BOT_MENTION,
    CHANNEL,
    EVERYONE,
    Member,
    TeamsBot,
    client_info,
)

MIA = Member(
    "Mia Park",
    "29:1MiaP4rk-Zx9yW8vU7tS6rQ5pO4nM3lK",
    "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    "Europe/Berlin",
)
NEW = (
    "programme new New Leads areas feedback, delegation, hiring size 4"
    " schedule weekly on tue at 10:00 for 4 sessions"
)
INTAKE = ("feedback", "Saying hard things kindly", "delegation", "Engineering", "2-5y")
CHAT = "19:7c1e9b2f8a6d4a3c8e5f1b2d4c6a8e0f@thread.v2"


@pytest.fixture
async def bot(engine: Database) -> AsyncIterator[TeamsBot]:
    teams = TeamsBot(engine, FakeConnector())
    await teams.start()
    teams.connector.people[MIA.user] = {"id": MIA.user, "name": MIA.name, "aadObjectId": MIA.aad}
    yield teams
    await teams.close()


def in_chat(bot: TeamsBot, who: Member, words: str) -> dict[str, Any]:
    """`@Circles <words>` typed in the group chat CHAT."""
    return bot.activity(
        "group_chat_message",
        who,
        text=f"<at>Circles</at> {words}",
        entities=[BOT_MENTION, client_info(who.tz)],
        conversation=CHAT,
    )


async def intakes_by_dm(bot: TeamsBot) -> None:
    """Everyone, reachable any time, fills in their intake of New Leads by DM."""
    for member in EVERYONE:
        await bot.dm(member, "hours 00:00-24:00 mon-sun")
        await bot.dm(member, "intake in New Leads")
        for text in (*INTAKE, "none", "none", "3 2 4"):
            await bot.dm(member, text)


async def test_a_roster_invited_launched_and_a_home_bound_by_hand(bot: TeamsBot) -> None:
    connector = bot.connector
    connector.rosters[CHANNEL] = [MIA.user, EVERYONE[0].user, BOT, *(m.user for m in EVERYONE[1:])]
    await bot.command(MIA, NEW)
    assert bot.inbox(MIA)[-1].startswith("Created the programme New Leads")

    await bot.command(MIA, "programme invite #here")
    assert bot.inbox(MIA)[-1].startswith(
        "Invited Ana Lima, Ben Okafor, Chen Wei and Dara Byrne to New Leads"
    ), bot.inbox(MIA)[-1]
    pages = [r for r in connector.requests if r.path.endswith("/pagedmembers")]
    assert len(pages) == 3  # six on the roster, two a page: every page read

    await intakes_by_dm(bot)
    await bot.command(MIA, "programme match")
    await bot.command(MIA, "programme launch")
    launched = "\n".join(bot.inbox(MIA)[-1:])
    assert "This circle needs a home made by hand" in launched, launched
    assert "can't create channels or group chats" in launched
    assert "1: New Leads 1 — Ana Lima, Ben Okafor, Chen Wei and Dara Byrne" in launched

    connector.open_group_chat(CHAT)
    await bot.send(in_chat(bot, MIA, "programme home 1"))
    assert bot.inbox(MIA)[-1].startswith("This is now New Leads 1's home"), bot.inbox(MIA)[-1]
    for member in EVERYONE:
        assert any("Welcome to New Leads 1" in text for text in bot.inbox(member))
    await bot.send(in_chat(bot, MIA, "programme home 1"))
    assert "New Leads 1 already has its home" in bot.inbox(MIA)[-1]
    await bot.send(in_chat(bot, EVERYONE[0], "programme home 1 in New Leads"))
    assert "Only New Leads's managers" in bot.inbox(EVERYONE[0])[-1]

    async with bot.uow() as uow:
        one = await uow.sessions.first(number=1)
    assert one is not None and one.id is not None
    bot.clock.set(one.opens_at)
    await bot.core.open_session(one.id)
    await bot.sim.settle()
    assert connector.chats[CHAT][0].text.startswith("Session 1 · New Leads 1")


async def test_a_home_waits_for_the_launch(bot: TeamsBot) -> None:
    await bot.command(MIA, NEW)
    await bot.send(in_chat(bot, MIA, "programme home 1"))
    assert "New Leads is draft" in bot.inbox(MIA)[-1]
    await bot.dm(MIA, "programme home 1")
    assert "New Leads is draft" in bot.inbox(MIA)[-1]


async def test_a_channel_named_or_here_in_a_dm_is_answered_and_nothing_changes(
    bot: TeamsBot,
) -> None:
    await bot.command(MIA, NEW)
    await bot.command(MIA, "programme invite #general")
    assert "I can't look up #general on Teams" in bot.inbox(MIA)[-1]
    await bot.dm(MIA, "programme invite #here")
    assert "in the channel or group chat whose members to invite" in bot.inbox(MIA)[-1]
    bot.connector.fail_next(403, code="BotNotInConversationRoster")
    await bot.command(MIA, "programme invite #here")
    assert "Teams did not give me this conversation's members" in bot.inbox(MIA)[-1]
    await bot.command(MIA, "programme status")
    assert "Invited 0 → intake done 0" in bot.inbox(MIA)[-1]  # nobody was enrolled
