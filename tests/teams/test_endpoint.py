"""`POST /api/messages` over a socket: who may call it, bad input, duplicates, membership changes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import text

from adapters.observability import Metrics
from adapters.teams.config import TeamsConfig
from bot.messages import ToPerson
from scheduler.messenger import Permanent
from storage.db import Database
from storage.delivery import OutboxStore
from tests.teams.connector import FakeConnector
from tests.teams.harness import ANA, APP_ID, BEN, CHANNEL, CHEN, DARA, HOME, TEAM, TeamsBot
from tests.teams.tokens import Issuer, serving

PASSWORD = "not-a-real-secret"


async def count(engine: Database, table: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


@pytest.fixture
async def locked(sqlite_engine: Database) -> AsyncIterator[TeamsBot]:
    """The bot with MICROSOFT_APP_ID set: tokens are required."""
    teams = TeamsBot(
        sqlite_engine, FakeConnector(), config=TeamsConfig(app_id=APP_ID, app_password=PASSWORD)
    )
    await teams.start()
    yield teams
    await teams.close()


# --- who may call it --------------------------------------------------------------------


async def test_without_an_app_id_every_request_is_refused(sqlite_engine: Database) -> None:
    teams = TeamsBot(sqlite_engine, FakeConnector(), config=TeamsConfig())
    await teams.start()
    try:
        status = await teams.post(
            teams.activity("personal_message", ANA, text="help", conversation=teams.chat(ANA))
        )
        assert status == 401
        assert await count(sqlite_engine, "people") == 0
        assert await count(sqlite_engine, "teams_references") == 0
    finally:
        await teams.close()


async def test_with_an_app_id_a_request_without_a_valid_token_gets_401_and_changes_nothing(
    locked: TeamsBot,
) -> None:
    activity = locked.activity("personal_message", ANA, text="help", conversation=locked.chat(ANA))
    assert await locked.post(activity) == 401
    for forged in ("Bearer not.a.jwt", "Basic YW5hOnNlY3JldA==", "Bearer", "Bearer a b"):
        assert await locked.post(activity, authorization=forged) == 401
    assert await count(locked.engine, "people") == 0
    assert await count(locked.engine, "teams_references") == 0
    assert await count(locked.engine, "outbox") == 0


async def test_a_valid_bot_framework_token_is_accepted_and_every_other_is_not(
    sqlite_engine: Database,
) -> None:
    with serving(Issuer()) as issuer:
        teams = TeamsBot(
            sqlite_engine,
            FakeConnector(),
            config=TeamsConfig(app_id=APP_ID, app_password=PASSWORD),
            authentication=issuer.authentication(app_id=APP_ID, password=PASSWORD),
        )
        await teams.start()
        try:
            activity = teams.activity(
                "personal_message", ANA, text="help", conversation=teams.chat(ANA)
            )
            url = teams.service_url
            other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            refused = {
                "another app": issuer.token(audience="0" * 8 + APP_ID[8:], service_url=url),
                "another key": issuer.token(audience=APP_ID, service_url=url, key=other_key),
                "another service": issuer.token(
                    audience=APP_ID, service_url="https://evil.example/"
                ),
                "expired": issuer.token(audience=APP_ID, service_url=url, expires_in=-3600),
            }
            for why, token in refused.items():
                assert await teams.post(activity, authorization=f"Bearer {token}") == 401, why
            assert await count(sqlite_engine, "outbox") == 0

            good = issuer.token(audience=APP_ID, service_url=url)
            assert await teams.post(activity, authorization=f"Bearer {good}") == 200
            assert await count(sqlite_engine, "outbox") == 1  # the help, on its way to Ana
        finally:
            await teams.close()


# --- bad input ----------------------------------------------------------------------------


async def test_malformed_requests_get_a_4xx_and_change_nothing(bot: TeamsBot) -> None:
    url = bot.server.make_url("/api/messages")
    cases: list[tuple[dict[str, Any], int]] = [
        ({"data": b"{not json", "headers": {"Content-Type": "application/json"}}, 400),
        ({"data": b"type=message", "headers": {"Content-Type": "text/plain"}}, 415),
        ({"json": ["a", "list"]}, 400),
        ({"json": {"text": "no type"}}, 400),
        ({"json": {"type": "message", "text": "no sender, no conversation"}}, 400),
        (
            {"json": {"type": "message", "id": "1", "from": {"id": "29:x"}, "conversation": "?"}},
            400,
        ),
        ({"data": b"x" * (1024**2 + 1), "headers": {"Content-Type": "application/json"}}, 413),
    ]
    for request, status in cases:
        async with bot.http.post(url, **request) as response:
            assert response.status == status, request
    assert await count(bot.engine, "people") == 0
    assert await count(bot.engine, "inbound_events") == 0


async def test_a_retried_activity_has_no_second_effect(bot: TeamsBot) -> None:
    activity = bot.activity("personal_message", ANA, text="help", conversation=bot.chat(ANA))
    await bot.send(activity)
    await bot.send(activity)
    assert len(bot.inbox(ANA)) == 1


async def test_channel_chatter_not_for_the_bot_is_acknowledged_and_ignored(bot: TeamsBot) -> None:
    await bot.send(bot.channel_post(ANA, "Lunch anyone?"))
    assert await count(bot.engine, "inbound_events") == 0
    assert bot.connector.requests == []


async def test_activities_the_bot_does_not_use_are_acknowledged(bot: TeamsBot) -> None:
    typing = {**bot.activity("personal_message", ANA, conversation=bot.chat(ANA)), "type": "typing"}
    assert await bot.post(typing) == 200
    assert await count(bot.engine, "inbound_events") == 0


# --- membership ---------------------------------------------------------------------------


async def test_installing_the_app_personally_welcomes_with_the_help(bot: TeamsBot) -> None:
    await bot.send(bot.activity("bot_installed_personal", ANA, conversation=bot.chat(ANA)))
    (welcome,) = bot.inbox(ANA)
    assert welcome.startswith("I run peer learning circles")
    assert "`help [<command>]`" in welcome  # in the 1:1 chat, commands need no @mention
    # The 1:1 chat was known from the install: no conversation had to be created.
    assert [r.path for r in bot.connector.requests if r.path == "/v3/conversations"] == []


async def test_every_activity_refreshes_the_stored_references(bot: TeamsBot) -> None:
    await bot.send(bot.activity("bot_added_to_team", ANA))
    await bot.command(ANA, "help")
    await bot.dm(BEN, "help")
    async with bot.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT address, kind, team FROM teams_references"))).all()
    addresses = {row[0]: (row[1], row[2]) for row in rows}
    assert addresses[HOME] == ("channel", "19:J2pAqUeTb4T2bqYXbNhY6a1CEVBkDGLh@thread.tacv2")
    assert addresses[f"teams|{ANA.key.workspace}|{BEN.user}"] == ("personal", None)
    # The team's General channel (where the install arrived) is known too.
    assert len([a for a in addresses if a.startswith("teams:")]) == 2
    assert CHANNEL in HOME


async def test_once_the_bot_is_removed_from_the_team_posts_there_fail_with_a_reason(
    bot: TeamsBot,
) -> None:
    await bot.send(bot.activity("bot_added_to_team", ANA))
    await bot.command(ANA, "create Growth Circle")
    await bot.command(ANA, "invite {0}", BEN)
    await bot.sim.run_until(bot.clock.now() + timedelta(hours=1))  # his welcome, at 09:00 UTC
    await bot.send(bot.activity("bot_removed_from_team", ANA))
    async with bot.engine.connect() as conn:
        kinds = (await conn.execute(text("SELECT kind FROM teams_references"))).scalars().all()
    assert sorted(kinds) == ["personal", "personal"]  # the 1:1 chats stay; the team's channels go

    # Ana opens a session from her 1:1 chat: the kickoff has nowhere to go.
    activity = bot.activity(
        "personal_message", ANA, text="open in Growth Circle", conversation=bot.chat(ANA)
    )
    assert await bot.post(activity) == 200
    outbox = OutboxStore(bot.engine)
    due = await outbox.due(bot.clock.now())
    (kickoff,) = [d for d in due if d.key.endswith(":kickoff")]
    with pytest.raises(Permanent, match="add the app to it again"):
        await bot.teams.messenger.send(kickoff)
    dm = next(d for d in due if isinstance(d.target, ToPerson))  # Ana's first one waiting
    assert await bot.teams.messenger.send(dm)  # DMs still reach people


async def test_first_messages_from_new_people_at_once_are_all_handled(bot: TeamsBot) -> None:
    """Each person's first activities race to add them; the loser is handled again."""
    people = (ANA, BEN, CHEN, DARA)
    requests = [
        bot.activity("personal_message", who, text="mine", conversation=bot.chat(who))
        for _ in range(5)
        for who in people
    ]
    statuses = await asyncio.gather(*(bot.post(activity) for activity in requests))
    assert statuses == [200] * len(requests)
    assert await count(bot.engine, "people") == len(people)
    assert await count(bot.engine, "inbound_events") == len(requests)


async def test_whoever_added_the_bot_is_named_from_the_roster_after_the_ack(bot: TeamsBot) -> None:
    """A conversationUpdate names the installer by id only; the name is asked for later."""
    await bot.send(bot.activity("bot_added_to_team", ANA))
    async with bot.engine.connect() as conn:
        names = (await conn.execute(text("SELECT name FROM people"))).scalars().all()
    assert names == ["Ana Lima"]
    lookup = next(r for r in bot.connector.requests if r.method == "GET")
    assert lookup.path == f"/v3/conversations/{TEAM}/members/{ANA.user}"


async def test_a_failed_roster_look_up_changes_nothing(bot: TeamsBot) -> None:
    del bot.connector.people[ANA.user]
    await bot.send(bot.activity("bot_added_to_team", ANA))
    assert len(bot.inbox(ANA)) == 1  # the welcome went out all the same
    await bot.dm(ANA, "hours 00:00-24:00 mon-sun")  # her first message names her
    async with bot.engine.connect() as conn:
        names = (await conn.execute(text("SELECT name FROM people"))).scalars().all()
    assert names == ["Ana Lima"]


async def test_ids_a_database_cannot_hold_are_refused(bot: TeamsBot) -> None:
    broken = bot.activity("personal_message", ANA, text="help", conversation=bot.chat(ANA))
    broken["conversation"]["tenantId"] = "tenant\x00"
    broken["channelData"]["tenant"]["id"] = "tenant\x00"
    assert await bot.post(broken) == 400
    named = bot.activity("personal_message", ANA, text="help", conversation=bot.chat(ANA))
    named["from"]["name"] = "Ana\x00 \ud800Lima"
    await bot.send(named)
    async with bot.engine.connect() as conn:
        names = (await conn.execute(text("SELECT name FROM people"))).scalars().all()
    assert names == ["Ana ?Lima"]


async def test_requests_the_core_never_sees_are_counted_for_teams(
    sqlite_engine: Database,
) -> None:
    metrics = Metrics()
    teams = TeamsBot(sqlite_engine, FakeConnector(), config=TeamsConfig(), metrics=metrics)
    await teams.start()
    try:
        await teams.post(teams.activity("personal_message", ANA, conversation=teams.chat(ANA)))
    finally:
        await teams.close()
    labels = {"platform": "teams", "outcome": "unauthorized"}
    assert metrics.registry.get_sample_value("circles_inbound_events_total", labels) == 1
