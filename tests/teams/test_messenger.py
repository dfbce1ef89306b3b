"""`TeamsMessenger` against the fake Bot Connector: where messages go, limits and failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from adapters.teams.cards import MAX_BYTES
from adapters.teams.references import Reference
from bot.keys import kickoff as kickoff_key
from bot.messages import Block, Document, Paragraph, ToConversation, ToPerson
from bot.people import PersonKey
from scheduler.messenger import Permanent, Transient
from storage.delivery import Delivery, OutboxStore
from tests.teams.harness import ANA, BEN, CHANNEL, HOME, TENANT, TeamsBot

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def delivery(
    target: ToPerson | ToConversation,
    *blocks: Block,
    thread_ref: str | None = None,
    replaces_ref: str | None = None,
) -> Delivery:
    return Delivery(
        id=1,
        key="test",
        target=target,
        blocks=blocks or (Paragraph(("Hello",)),),
        thread_ref=thread_ref,
        replaces_ref=replaces_ref,
        attempts=0,
        created_at=NOW,
    )


async def known(bot: TeamsBot) -> None:
    """The bot is in the team and Ana has talked to it: references exist."""
    await bot.send(bot.activity("bot_added_to_team", ANA))
    bot.connector.requests.clear()


async def test_teams_limits_are_seven_a_second_per_conversation_and_thirty_per_bot(
    bot: TeamsBot,
) -> None:
    messenger = bot.teams.messenger
    assert (messenger.limits.per_conversation, messenger.limits.per_bot) == (7.0, 30.0)
    to_ana, to_home = delivery(ToPerson(ANA.key)), delivery(ToConversation(HOME, thread="x"))
    assert messenger.conversation_of(to_ana) == f"teams|{TENANT}|{ANA.user}"
    assert messenger.conversation_of(to_home) == HOME
    assert messenger.bot_of(to_ana) == messenger.bot_of(to_home)


async def test_a_dm_opens_the_1_1_chat_once_then_reuses_it(bot: TeamsBot) -> None:
    await known(bot)
    messenger = bot.teams.messenger
    await messenger.send(delivery(ToPerson(BEN.key)))
    await messenger.send(delivery(ToPerson(BEN.key)))
    paths = [r.path for r in bot.connector.requests]
    chat = bot.connector.chat_of[BEN.user]
    assert paths == ["/v3/conversations", *[f"/v3/conversations/{chat}/activities"] * 2]
    create = bot.connector.requests[0].body
    assert create["members"] == [{"id": BEN.user}]
    assert create["channelData"]["tenant"] == {"id": TENANT}
    assert bot.inbox(BEN) == ["Hello", "Hello"]


async def test_a_person_nobody_in_their_organisation_reached_cannot_be_messaged(
    bot: TeamsBot,
) -> None:
    stranger = PersonKey("teams", "another-tenant", "29:1stranger")
    with pytest.raises(Permanent, match="nobody in their organisation"):
        await bot.teams.messenger.send(delivery(ToPerson(stranger)))


async def test_a_root_post_starts_a_thread_and_replies_and_edits_go_into_it(bot: TeamsBot) -> None:
    await known(bot)
    await bot.command(ANA, "help")  # the channel is known now
    messenger = bot.teams.messenger
    root = await messenger.send(delivery(ToConversation(HOME)))
    reply = await messenger.send(
        delivery(
            ToConversation(HOME, thread=kickoff_key(1)), Paragraph(("A reply",)), thread_ref=root
        )
    )
    await messenger.send(
        delivery(
            ToConversation(HOME, thread=kickoff_key(1)),
            Paragraph(("An edited reply",)),
            thread_ref=root,
            replaces_ref=reply,
        )
    )
    (post,) = bot.connector.roots(CHANNEL)
    assert post.id == root and post.text == "Hello"
    assert [(r.text, r.edits) for r in post.replies] == [("An edited reply", 1)]
    update = bot.connector.requests[-1]
    assert update.method == "PUT"
    assert update.path == f"/v3/conversations/{CHANNEL};messageid={root}/activities/{reply}"


async def test_a_message_too_big_for_one_goes_as_several_in_order(bot: TeamsBot) -> None:
    await known(bot)
    rows = "\n".join(f"{n},session {n},done" for n in range(4000))
    await bot.teams.messenger.send(delivery(ToPerson(ANA.key), Document("export.csv", rows)))
    sent = [r.body for r in bot.connector.requests if r.method == "POST"]
    assert len(sent) > 1
    assert all(len(json.dumps(body)) <= MAX_BYTES + 200 for body in sent)
    assert "\n".join(p.text for p in bot.connector.dm(ANA.user)[1:]).count("session") == 4000


@pytest.mark.parametrize("status", [429, 412, 502, 504])
async def test_throttling_and_gateway_errors_are_transient(bot: TeamsBot, status: int) -> None:
    await known(bot)
    bot.connector.fail_next(status)
    with pytest.raises(Transient) as failure:
        await bot.teams.messenger.send(delivery(ToPerson(ANA.key)))
    assert failure.value.retry_after is None
    assert len(bot.connector.requests) == 1  # not retried behind the worker's back
    assert await bot.teams.messenger.send(delivery(ToPerson(ANA.key)))


async def test_a_429_is_retried_after_retry_after_and_nothing_is_lost(bot: TeamsBot) -> None:
    await known(bot)
    help_request = bot.activity("personal_message", ANA, text="help", conversation=bot.chat(ANA))
    assert await bot.post(help_request) == 200  # the answer waits in the outbox
    outbox, messenger = OutboxStore(bot.engine), bot.teams.messenger
    (answer,) = await outbox.due(bot.clock.now())

    bot.connector.fail_next(429, retry_after="7", code="TooManyRequests")
    with pytest.raises(Transient) as throttled:
        await messenger.send(answer)
    assert throttled.value.retry_after == 7.0
    # What the delivery worker does with a transient failure: back in the queue until then.
    later = bot.clock.now() + timedelta(seconds=throttled.value.retry_after)
    await outbox.retry_at(answer.id, when=later, reason=throttled.value.reason)
    assert await outbox.due(bot.clock.now()) == []

    bot.clock.set(later)
    (again,) = await outbox.due(bot.clock.now())
    ref = await messenger.send(again)
    await outbox.mark_sent(again.id, ref=ref, now=bot.clock.now())
    assert await outbox.due(bot.clock.now()) == []
    assert len(bot.inbox(ANA)) == 2  # the welcome on install, and this help: once
    assert bot.inbox(ANA)[-1].startswith("I run peer learning circles")


async def test_a_blocked_or_removed_bot_is_a_permanent_failure_with_a_note(bot: TeamsBot) -> None:
    await known(bot)
    await bot.command(ANA, "help")
    messenger = bot.teams.messenger
    bot.connector.fail_next(403, code="ConversationBlockedByUser")
    with pytest.raises(Permanent) as to_person:
        await messenger.send(delivery(ToPerson(ANA.key)))
    assert "blocked Circles" in to_person.value.reason
    assert "ConversationBlockedByUser" in to_person.value.reason
    bot.connector.fail_next(403, code="BotNotInConversationRoster")
    with pytest.raises(Permanent, match="removed from this channel"):
        await messenger.send(delivery(ToConversation(HOME)))
    bot.connector.fail_next(404, code="ConversationNotFound")
    with pytest.raises(Permanent, match="no longer knows this conversation"):
        await messenger.send(delivery(ToConversation(HOME)))


async def test_an_unreachable_bot_connector_is_transient(bot: TeamsBot) -> None:
    await known(bot)
    gone = Reference(
        service_url="http://127.0.0.1:9/",  # the discard port: nothing listens
        tenant=TENANT,
        conversation="a:1chat-gone",
        kind="personal",
        bot="28:bot",
        user=BEN.user,
    )
    await bot.teams.adapter._references.remember(f"teams|{TENANT}|{BEN.user}", gone)
    with pytest.raises(Transient, match="could not be reached"):
        await bot.teams.messenger.send(delivery(ToPerson(BEN.key)))


async def test_a_conversation_without_a_reference_is_a_permanent_failure(bot: TeamsBot) -> None:
    with pytest.raises(Permanent, match="add the app to it again"):
        await bot.teams.messenger.send(delivery(ToConversation(f"teams:{TENANT}:19:unknown")))
