"""The SlackMessenger against the fake Web API: what goes where, and how failures are sorted."""

from __future__ import annotations

import asyncio
import itertools
import random
import shutil
import signal
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from adapters.slack.messenger import SLACK_LIMITS, SlackMessenger
from adapters.slack.workspaces import SingleWorkspace
from bot.messages import Block, Document, Message, Paragraph, Target, ToConversation, ToPerson
from bot.people import PersonKey
from scheduler.delivery import DeliveryWorker
from scheduler.messenger import Permanent, Transient
from storage import codec
from storage.db import Database, create_engine
from storage.delivery import OUTBOX, Delivery, OutboxStore
from storage.uow import SqlUnitOfWork
from tests.slack.driver import HOME, START, Workspace, workspace
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.test_leader import until

BEN = PersonKey("slack", "T0ACME", "U0BEN")
CHANNEL = f"slack:T0ACME:{HOME}"
_ids = itertools.count(1)


def delivery(
    target: Target,
    *blocks: Block,
    thread_ref: str | None = None,
    replaces_ref: str | None = None,
) -> Delivery:
    return Delivery(
        id=next(_ids),
        key=f"test:{next(_ids)}",
        target=target,
        blocks=blocks or (Paragraph(("Hello",)),),
        thread_ref=thread_ref,
        replaces_ref=replaces_ref,
        attempts=0,
        created_at=datetime(2026, 11, 24, tzinfo=UTC),
    )


async def test_a_dm_goes_to_the_user_id_and_its_channel_is_remembered(lite: Workspace) -> None:
    messenger = lite.adapter.messenger
    ts = await messenger.send(delivery(ToPerson(BEN)))
    [call] = lite.fake.calls_to("chat.postMessage")
    assert call.args["channel"] == "U0BEN"
    assert call.args["unfurl_links"] is False and call.args["parse"] == "none"
    assert lite.fake.dms("U0BEN")[0].ts == ts
    assert await lite.adapter.people.dm_channel("T0ACME", "U0BEN") == "D0BEN"
    await messenger.send(delivery(ToPerson(BEN), Paragraph(("Edited",)), replaces_ref=ts))
    [update] = lite.fake.calls_to("chat.update")
    assert (update.args["channel"], update.args["ts"]) == ("D0BEN", ts)
    assert lite.fake.dms("U0BEN")[0].text == "Edited"


async def test_a_thread_reply_carries_its_roots_ts(lite: Workspace) -> None:
    root = await lite.adapter.messenger.send(delivery(ToConversation(CHANNEL)))
    reply = await lite.adapter.messenger.send(
        delivery(ToConversation(CHANNEL, thread="k"), thread_ref=root)
    )
    assert root is not None and reply is not None
    assert [p.ts for p in lite.fake.thread(HOME, root)] == [reply]
    assert (
        lite.adapter.messenger.conversation_of(delivery(ToPerson(BEN))) == "slack:T0ACME:dm:U0BEN"
    )
    assert lite.adapter.messenger.bot_of(delivery(ToConversation(CHANNEL))) == "slack:T0ACME"
    assert SLACK_LIMITS.per_conversation == 1.0


async def test_429_is_transient_with_slacks_retry_after(lite: Workspace) -> None:
    lite.fake.fail("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(Transient) as raised:
        await lite.adapter.messenger.send(delivery(ToConversation(CHANNEL)))
    assert raised.value.retry_after == 7.0


async def test_a_server_error_is_transient(lite: Workspace) -> None:
    lite.fake.fail("chat.postMessage", status=503)
    with pytest.raises(Transient):
        await lite.adapter.messenger.send(delivery(ToConversation(CHANNEL)))


@pytest.mark.parametrize(
    ("error", "note"),
    [
        ("not_in_channel", "Add it back with `/invite @Circles`"),
        ("channel_not_found", "could not be found"),
        ("is_archived", "archived"),
        ("user_not_found", "not in this Slack workspace"),
        ("account_inactive", "deactivated"),
        ("token_revoked", "Reinstall it"),
        ("invalid_blocks", "Slack refused the message (invalid_blocks)"),
    ],
)
async def test_what_retrying_cannot_fix_is_permanent_with_a_note_for_organisers(
    lite: Workspace, error: str, note: str
) -> None:
    lite.fake.fail("chat.postMessage", error=error)
    with pytest.raises(Permanent) as raised:
        await lite.adapter.messenger.send(delivery(ToConversation(CHANNEL)))
    assert note in raised.value.reason


async def test_an_unreachable_slack_is_transient(sqlite_engine: Database, fake: FakeSlack) -> None:
    async with workspace(sqlite_engine, fake) as ws:
        dead = "http://127.0.0.1:9/api/"  # the discard port: nothing listens
        messenger = SlackMessenger(
            client_for=lambda token: AsyncWebClient(token=token, base_url=dead, timeout=2),
            workspaces=SingleWorkspace(token=BOT_TOKEN, client=AsyncWebClient(base_url=dead)),
            people=ws.adapter.people,
        )
        with pytest.raises(Transient) as raised:
            await messenger.send(delivery(ToConversation(CHANNEL)))
        assert "could not be reached" in raised.value.reason


async def test_a_long_message_is_sent_in_parts_and_a_retry_does_not_repeat_them(
    lite: Workspace,
) -> None:
    blocks = tuple(Paragraph((f"line {i}",)) for i in range(120))
    long = delivery(ToConversation(CHANNEL), *blocks)
    # Part 2 of 3 hits a rate limit; the retry continues with part 2.
    lite.fake.fail("chat.postMessage", status=429, retry_after=1, after=1)
    with pytest.raises(Transient):
        await lite.adapter.messenger.send(long)
    ref = await lite.adapter.messenger.send(long)
    posted = lite.fake.top(HOME)
    assert [p.text.split("\n")[0] for p in posted] == ["line 0", "line 50", "line 100"]
    assert ref == posted[0].ts
    assert len(lite.fake.calls_to("chat.postMessage")) == 4  # part 1, the 429, parts 2 and 3


async def test_a_document_is_uploaded_when_the_bot_may_write_files(lite: Workspace) -> None:
    csv = "circle,session\nGrowth Circle,1\n"
    await lite.adapter.messenger.send(
        delivery(ToPerson(BEN), Paragraph(("Export of Growth Circle",)), Document("g.csv", csv))
    )
    [complete] = lite.fake.calls_to("files.completeUploadExternal")
    assert complete.args["channel_id"] == "D0BEN"
    assert list(lite.fake.uploads.values()) == [csv.encode()]
    assert "circle,session" not in lite.fake.dms("U0BEN")[0].mrkdwn


async def test_without_files_write_a_document_is_shown_as_code_blocks(
    sqlite_engine: Database, fake: FakeSlack
) -> None:
    fake.scopes = "chat:write,commands"
    async with workspace(sqlite_engine, fake) as ws:
        await ws.adapter.messenger.send(
            delivery(ToPerson(BEN), Document("g.csv", "circle,session\nGrowth Circle,1"))
        )
        assert fake.calls_to("files.getUploadURLExternal") == []
        assert "```\ncircle,session\nGrowth Circle,1\n```" in fake.dms("U0BEN")[0].mrkdwn


async def test_through_the_outbox_a_rate_limited_kickoff_is_retried_and_posted_once(
    lite: Workspace,
) -> None:
    await lite.command("U0ANA", "create Growth Circle")
    lite.fake.fail("chat.postMessage", status=429, retry_after=30)
    await lite.command("U0ANA", "open")
    await lite.settle()
    assert [t.retry_after for t in lite.outcomes.transient] == [30.0]
    assert lite.fake.top(HOME) == []
    lite.clock.advance(timedelta(seconds=31))
    await lite.deliver()
    assert len(lite.fake.top(HOME)) == 1
    assert lite.fake.top(HOME)[0].text.startswith("Session 1 · Growth Circle")


async def test_a_bot_removed_from_the_channel_is_shown_to_the_organiser(lite: Workspace) -> None:
    await lite.command("U0ANA", "create Growth Circle")
    lite.fake.member_of.discard(HOME)
    await lite.command("U0ANA", "open")
    await lite.settle()
    assert len(lite.outcomes.permanent) == 1
    status = await lite.command("U0ANA", "status", channel=HOME)
    assert (
        "Not delivered to the channel: Circles is not a member of the circle's channel any more"
        in status.text
    )


async def test_a_message_maybe_posted_is_looked_for_first_and_a_throttled_look_keeps_it_unknown(
    lite: Workspace,
) -> None:
    maybe = replace(delivery(ToConversation(CHANNEL)), maybe_delivered=True)
    lite.fake.fail("conversations.history", status=429, retry_after=30)
    with pytest.raises(Transient) as throttled:
        await lite.adapter.messenger.send(maybe)
    assert (throttled.value.retry_after, throttled.value.maybe_delivered) == (30.0, True)
    assert lite.fake.calls_to("chat.postMessage") == []
    ref = await lite.adapter.messenger.send(maybe)  # not found: posted, with its key
    [posted] = lite.fake.top(HOME)
    assert ref == posted.ts
    assert posted.metadata == {
        "event_type": "circles_outbox",
        "event_payload": {"key": maybe.key, "part": 0},
    }


# --- a Slack that takes a message and never answers ----------------------------------------

OTHERS = ("C0OTHER1", "C0OTHER2")
ROOT = Path(__file__).resolve().parents[2]
SECOND = timedelta(seconds=1)


async def queue(ws: Workspace, *messages: Message) -> None:
    async with SqlUnitOfWork(ws.engine) as uow:
        for message in messages:
            assert await uow.outbox.add(message, now=ws.clock.now())
        await uow.commit()


def post(key: str, target: Target) -> Message:
    return Message(key=key, target=target, blocks=(Paragraph((key,)),))


def slack_worker(ws: Workspace, **options: Any) -> DeliveryWorker:
    return DeliveryWorker(
        store=OutboxStore(ws.engine),
        messenger=ws.adapter.messenger,
        clock=ws.clock,
        rng=random.Random(1),
        **options,
    )


async def outbox(ws: Workspace) -> dict[str, dict[str, Any]]:
    async with ws.engine.connect() as conn:
        found = (await conn.execute(select(OUTBOX).order_by(OUTBOX.c.id))).mappings().all()
    return {str(r["key"]): dict(r) for r in found}


async def test_a_post_slack_never_answers_holds_up_its_own_channel_only_and_goes_out_once(
    lite: Workspace,
) -> None:
    fake, clock = lite.fake, lite.clock
    for channel in OTHERS:
        fake.join(channel)
    targets: dict[str, Target] = {
        HOME: ToConversation(CHANNEL),
        **{c: ToConversation(f"slack:T0ACME:{c}") for c in OTHERS},
        "ben": ToPerson(BEN),
    }
    await queue(lite, *(post(f"{name}:{n}", t) for n in (1, 2) for name, t in targets.items()))
    fake.hang(HOME)
    worker = slack_worker(lite, send_timeout=4 * SECOND, patience=SECOND)

    # The kickoff hangs; nothing waits on it.
    assert await worker.run_once() == clock.now() + SECOND
    clock.advance(SECOND)
    await worker.run_once()

    sent = await outbox(lite)
    for name in (*OTHERS, "ben"):  # one a second, on time, as if nothing hung
        assert [codec.utc(sent[f"{name}:{n}"]["sent_at"]) for n in (1, 2)] == [
            START,
            START + SECOND,
        ]
    assert [p.text for p in fake.top(OTHERS[0])] == [f"{OTHERS[0]}:1", f"{OTHERS[0]}:2"]
    assert sent[f"{HOME}:1"]["status"] == "sending"
    assert [p.text for p in fake.top(HOME)] == [f"{HOME}:1"]  # Slack has it; we don't know

    await worker.settle()  # its deadline passes: the outcome is unknown, not a failure
    assert (await outbox(lite))[f"{HOME}:1"]["error"] == "timed out"
    fake.release()
    while (wake := await worker.run_once()) is not None:
        clock.set(max(wake, clock.now()))

    sent = await outbox(lite)
    home = fake.top(HOME)
    assert [p.text for p in home] == [f"{HOME}:1", f"{HOME}:2"]  # the first adopted, not repeated
    assert sent[f"{HOME}:1"]["platform_ref"] == home[0].ts
    assert [c.args["channel"] for c in fake.calls_to("chat.postMessage")].count(HOME) == 2
    assert [c.args["channel"] for c in fake.calls_to("conversations.history")] == [HOME]


async def test_a_thread_reply_a_dead_worker_left_unrecorded_is_adopted_not_repeated(
    lite: Workspace,
) -> None:
    fake, clock = lite.fake, lite.clock
    kickoff = post("kickoff", ToConversation(CHANNEL))
    reply = Message(
        key="reply",
        target=ToConversation(CHANNEL, thread="kickoff"),
        blocks=tuple(Paragraph((f"line {i}",)) for i in range(60)),  # two parts
    )
    await queue(lite, kickoff, reply, post("after", ToConversation(CHANNEL)))
    first = slack_worker(lite, send_timeout=30 * SECOND, patience=SECOND)
    await first.run_once()
    clock.advance(SECOND)
    fake.hang(HOME)
    await first.run_once()  # posts the reply's first part; Slack never answers
    root = fake.top(HOME)[0]
    assert len(fake.thread(HOME, root.ts)) == 1

    # That worker is as good as dead: its lease runs out and another one takes over.
    clock.advance(timedelta(seconds=61))
    fake.hanging.clear()
    second = slack_worker(lite)
    while (wake := await second.run_once()) is not None:
        clock.set(max(wake, clock.now()))

    replies = fake.thread(HOME, root.ts)
    # The first part adopted, the second posted: each once.
    assert [r.text.split("\n")[0] for r in replies] == ["line 0", "line 50"]
    assert (await outbox(lite))["reply"]["platform_ref"] == replies[0].ts
    assert [p.text for p in fake.top(HOME)] == ["kickoff", "after"]
    [looked] = fake.calls_to("conversations.replies")
    assert looked.args["ts"] == root.ts
    fake.release()  # the dead worker's answer arrives at last: too late to be recorded
    await first.settle()
    assert first.tally.lost_claims == 1
    assert (await outbox(lite))["reply"]["platform_ref"] == replies[0].ts


async def test_a_worker_killed_mid_send_leaves_a_post_the_next_worker_adopts(
    fake: FakeSlack, sqlite_template: Path, tmp_path: Path
) -> None:
    """A real process posts the kickoff, Slack never answers, the process is SIGKILLed;
    once its lease has run out another worker finds the kickoff and posts nothing again."""
    path = tmp_path / "circles.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(url)
    async with workspace(engine, fake) as ws:
        await queue(ws, post("kickoff", ToConversation(CHANNEL)), post("next", ToPerson(BEN)))
        # Ben's DM is known (it is not his first), so a DM cut off by the kill is found too.
        fake.channels[fake.dm_channel("U0BEN")] = []
        await ws.adapter.people.remember_dm(ws.team, "U0BEN", fake.dm_channel("U0BEN"))
        fake.hang(HOME)
        doomed = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.delivery_process",
            url,
            fake.api_url,
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            await until(lambda: len(fake.top(HOME)) == 1, within=30, why="Slack got no post")
        finally:
            doomed.send_signal(signal.SIGKILL)
            await doomed.wait()
        [kickoff] = fake.top(HOME)
        assert (await outbox(ws))["kickoff"]["status"] == "sending"

        fake.hanging.clear()
        ws.clock.set(datetime.now(UTC) + timedelta(seconds=61))  # the dead worker's lease is over
        while (wake := await slack_worker(ws).run_once()) is not None:
            ws.clock.set(max(wake, ws.clock.now()))

        assert fake.top(HOME) == [kickoff]  # posted once
        assert (await outbox(ws))["kickoff"]["platform_ref"] == kickoff.ts
        assert [c.args["channel"] for c in fake.calls_to("chat.postMessage")].count(HOME) == 1
        assert len(fake.dms("U0BEN")) == 1
    await engine.dispose()
