"""Teams users by Entra ID object id: what lets an Entra ID sign-in find the Teams person."""

from __future__ import annotations

from sqlalchemy import text

from adapters.clock import FakeClock
from adapters.teams.users import TeamsUsers
from storage.db import Database
from tests.teams.harness import ANA, BEN, START, TENANT, TeamsBot

OTHER_TENANT = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"


def sender(tenant: str, user: str, object_id: object) -> dict[str, object]:
    return {"conversation": {"tenantId": tenant}, "from": {"id": user, "aadObjectId": object_id}}


async def rows(engine: Database) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM teams_users"))).scalar_one())


async def test_a_sender_is_found_by_tenant_and_object_id(engine: Database) -> None:
    users = TeamsUsers(engine, clock=FakeClock(START))
    await users.remember_sender(sender(TENANT, ANA.user, ANA.aad))
    await users.remember_sender(sender(TENANT, ANA.user, ANA.aad))  # known: nothing written

    assert await users.person(TENANT, ANA.aad) == ANA.key
    assert await users.person(TENANT, BEN.aad) is None
    assert await users.person(OTHER_TENANT, ANA.aad) is None
    assert await rows(engine) == 1

    # Another replica learns a new Teams id for the same directory entry: the newest wins.
    elsewhere = TeamsUsers(engine, clock=FakeClock(START))
    await elsewhere.remember_sender(sender(TENANT, BEN.user, ANA.aad))
    assert await users.person(TENANT, ANA.aad) == BEN.key
    assert await rows(engine) == 1


async def test_activities_that_do_not_name_a_teams_user_both_ways_are_not_recorded(
    sqlite_engine: Database,
) -> None:
    users = TeamsUsers(sqlite_engine, clock=FakeClock(START))
    for activity in (
        sender(TENANT, ANA.user, None),  # a bot, or a guest without a directory entry
        sender(TENANT, ANA.user, 42),
        sender(TENANT, "28:a-bot", ANA.aad),
        sender(TENANT, ANA.user, "x" * 65),
        {"from": {"id": ANA.user, "aadObjectId": ANA.aad}},  # no tenant
    ):
        await users.remember_sender(activity)
    assert await rows(sqlite_engine) == 0


async def test_every_message_to_the_bot_records_its_sender(bot: TeamsBot) -> None:
    await bot.dm(ANA, "help")
    await bot.command(BEN, "help")  # in the channel
    assert await bot.teams.users.person(TENANT, ANA.aad) == ANA.key
    assert await bot.teams.users.person(TENANT, BEN.aad) == BEN.key
