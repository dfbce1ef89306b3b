"""The bot's access token for the Bot Connector: one login shared, renewed, refused, or late.

The issuer in `tokens` is the login endpoint (on a thread, as Microsoft's is
elsewhere) and the fake Bot Connector records the `Authorization` header of
every request, so what is asserted is what Teams would receive.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from adapters.teams.config import TeamsConfig
from bot.messages import Paragraph, ToPerson
from scheduler.messenger import Transient
from storage.db import Database
from storage.delivery import Delivery
from tests.teams.connector import FakeConnector
from tests.teams.harness import ANA, APP_ID, TeamsBot
from tests.teams.tokens import Issuer, serving

PASSWORD = "not-a-real-secret"


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    with serving(Issuer()) as serving_issuer:
        yield serving_issuer


async def signed_in(engine: Database, issuer: Issuer, *, password: str = PASSWORD) -> TeamsBot:
    """A bot with an app id and `password`, which Ana has written to (so it can DM her)."""
    issuer.apps[APP_ID] = PASSWORD
    bot = TeamsBot(
        engine,
        FakeConnector(),
        config=TeamsConfig(app_id=APP_ID, app_password=password, token_timeout=2.0),
        authentication=issuer.authentication(app_id=APP_ID, password=password),
    )
    await bot.start()
    hello = bot.activity("personal_message", ANA, text="hello", conversation=bot.chat(ANA))
    token = issuer.token(audience=APP_ID, service_url=bot.service_url)
    assert await bot.post(hello, authorization=f"Bearer {token}") == 200
    return bot


@pytest.fixture
async def bot(sqlite_engine: Database, issuer: Issuer) -> AsyncIterator[TeamsBot]:
    bot = await signed_in(sqlite_engine, issuer)
    yield bot
    await bot.close()


def to_ana(text: str) -> Delivery:
    return Delivery(
        id=1,
        key=text,
        target=ToPerson(ANA.key),
        blocks=(Paragraph((text,)),),
        thread_ref=None,
        replaces_ref=None,
        attempts=0,
        created_at=datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
    )


def bearers(bot: TeamsBot) -> list[str | None]:
    return [request.authorization for request in bot.connector.requests]


async def test_sends_share_one_login_and_carry_its_token(bot: TeamsBot, issuer: Issuer) -> None:
    messenger = bot.teams.messenger
    await asyncio.gather(*(messenger.send(to_ana(f"at once {n}")) for n in range(3)))
    await messenger.send(to_ana("later"))
    assert issuer.issued == ["access-token-1"]
    assert set(bearers(bot)) == {"Bearer access-token-1"}
    assert sorted(bot.inbox(ANA)) == ["at once 0", "at once 1", "at once 2", "later"]


async def test_a_token_close_to_its_expiry_is_renewed_before_it_is_sent(
    bot: TeamsBot, issuer: Issuer
) -> None:
    issuer.token_lifetime = 50  # less than the margin: never sent again after the first use
    await bot.teams.messenger.send(to_ana("one"))
    await bot.teams.messenger.send(to_ana("two"))
    assert issuer.issued == ["access-token-1", "access-token-2"]
    assert bearers(bot)[-1] == "Bearer access-token-2"
    assert bot.inbox(ANA) == ["one", "two"]


async def test_while_a_token_lasts_a_login_that_hangs_delays_only_one_send(
    bot: TeamsBot, issuer: Issuer
) -> None:
    issuer.token_lifetime = 200  # due for renewal at once, good for two more minutes
    await bot.teams.messenger.send(to_ana("one"))
    issuer.hang_logins()
    await bot.teams.messenger.send(to_ana("two"))  # waits out the timeout, then uses the old one
    assert issuer.login_waiting.is_set()
    issuer.login_waiting.clear()
    await bot.teams.messenger.send(to_ana("three"))  # no new login for a while
    assert not issuer.login_waiting.is_set()
    assert issuer.issued == ["access-token-1"]
    assert set(bearers(bot)) == {"Bearer access-token-1"}
    assert bot.inbox(ANA) == ["one", "two", "three"]


async def test_a_refused_login_is_retried_later_and_names_the_credentials(
    sqlite_engine: Database, issuer: Issuer
) -> None:
    bot = await signed_in(sqlite_engine, issuer, password="a-wrong-password")
    try:
        with pytest.raises(Transient, match="MICROSOFT_APP_PASSWORD"):
            await bot.teams.messenger.send(to_ana("hello"))
        assert bot.connector.requests == []
        assert issuer.issued == []
    finally:
        await bot.close()


async def test_a_login_that_never_answers_fails_the_send_as_transient_in_time(
    bot: TeamsBot, issuer: Issuer
) -> None:
    issuer.hang_logins()
    with pytest.raises(Transient, match="could not be reached"):
        await asyncio.wait_for(bot.teams.messenger.send(to_ana("hello")), timeout=30)
    assert issuer.login_waiting.is_set()
    assert bot.connector.requests == []
    issuer.answer_logins()
    await bot.teams.messenger.send(to_ana("hello"))
    assert bot.inbox(ANA) == ["hello"]
    assert bearers(bot) == ["Bearer access-token-1"] * len(bot.connector.requests)
