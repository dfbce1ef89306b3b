"""What reaches `/slack/events`: verified or refused, handled once, answered privately.

Forged and stale signatures get 401 and change nothing; Slack's retries and
repeated event ids have no second effect; the bot's own messages, edits and
deletions are handled deliberately; malformed payloads get a 4xx; every
error answer of SPEC §6 is ephemeral and leaves the state as it was.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.slack.driver import HOME, SECRET, Workspace, fixture, sign
from tests.slack.fake_slack import BOT_USER

ANA, BEN, CHEN = "U0ANA", "U0BEN", "U0CHEN"
BOOKKEEPING = {"inbound_events", "slack_people"}  # event ids and the profile cache


def state(counts: dict[str, int]) -> dict[str, int]:
    return {table: n for table, n in counts.items() if table not in BOOKKEEPING}


async def circle(slack: Workspace, *members: str) -> None:
    """Ana's circle in #growth-circle, with `members` invited and agreed."""
    await slack.command(ANA, "create Growth Circle")
    if members:
        await slack.command(ANA, "invite " + " ".join(f"<@{m}>" for m in members))
    await slack.settle()
    for member in members:
        await slack.dm(member, "agree")
    await slack.settle()


async def open_session(slack: Workspace) -> str:
    """Session 1 open now, for members who take prompts any time; returns the kickoff ts."""
    for user in (ANA, BEN, CHEN):
        await slack.command(user, "hours 00:00-24:00 mon-sun", channel="D" + user[1:])
    await slack.command(ANA, "open")
    await slack.settle()
    return slack.fake.top(HOME)[-1].ts


# --- signatures ---------------------------------------------------------------------------


async def test_a_forged_signature_gets_401_and_changes_nothing(lite: Workspace) -> None:
    before = await lite.table_counts()
    raw = urlencode(lite.command_body(ANA, "create Growth Circle")).encode()
    forged = sign(raw, secret="not-the-signing-secret")
    sent = await lite.post(raw, content_type="application/x-www-form-urlencoded", headers=forged)
    assert sent.status == 401
    assert await lite.table_counts() == before
    assert [c.method for c in lite.fake.calls] == ["auth.test"]  # only the one at start


async def test_a_stale_signature_gets_401_and_changes_nothing(lite: Workspace) -> None:
    before = await lite.table_counts()
    body = lite.message_body(user=BEN, text="status", ts="1.1", channel="D0BEN")
    raw = json.dumps(body).encode()
    six_minutes_ago = int(time.time()) - 6 * 60
    sent = await lite.post(
        raw, content_type="application/json", headers=sign(raw, timestamp=six_minutes_ago)
    )
    assert sent.status == 401
    assert await lite.table_counts() == before


async def test_a_body_changed_after_signing_or_no_signature_gets_401(lite: Workspace) -> None:
    before = await lite.table_counts()
    raw = json.dumps(lite.message_body(user=BEN, text="hi", ts="1.1", channel="D0BEN")).encode()
    headers = sign(raw)
    tampered = raw.replace(b"hi", b"yo")
    assert (
        await lite.post(tampered, content_type="application/json", headers=headers)
    ).status == 401
    assert (await lite.post(raw, content_type="application/json", headers={})).status == 401
    garbage = b"{not json"
    assert (await lite.post(garbage, content_type="application/json", headers={})).status == 401
    assert await lite.table_counts() == before


def signed_bytes(raw: bytes, stamp: str) -> dict[str, str]:
    """Slack's signature over raw bytes, whatever they are (the SDK only signs text)."""
    digest = hmac.new(SECRET.encode(), b"v0:%s:%s" % (stamp.encode(), raw), hashlib.sha256)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + digest.hexdigest()}


async def test_unreadable_timestamps_and_bodies_are_refused_in_one_log_line(
    slack: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    """A timestamp that is not a whole number, or a body that is not UTF-8, once cost a 500
    with a traceback of every local variable: now it is refused like a wrong signature."""
    caplog.set_level(logging.DEBUG)
    before = await slack.table_counts()
    raw = json.dumps(slack.message_body(user=BEN, text="hi", ts="1.1", channel="D0BEN")).encode()
    now = str(int(time.time()))
    not_utf8 = raw.replace(b"hi", b"h\xff")
    cases = [
        (raw, signed_bytes(raw, "abc"), 401),
        (raw, signed_bytes(raw, "12.5"), 401),
        (raw, {**signed_bytes(raw, now), "X-Slack-Request-Timestamp": "\u00b2"}, 401),
        (not_utf8, signed_bytes(not_utf8, now), 400),  # signed by Slack, yet unreadable
        (not_utf8, {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": "v0=" + "0" * 64}, 401),
    ]
    for body, headers, status in cases:
        caplog.clear()
        sent = await slack.post(body, content_type="application/json", headers=headers)
        assert sent.status == status, (headers, sent)
        ours = [r for r in caplog.records if r.name != "aiohttp.access"]
        assert len(ours) == 1 and ours[0].levelno <= logging.INFO, [r.getMessage() for r in ours]
        assert not any(r.exc_info for r in caplog.records)
    assert await slack.table_counts() == before


async def test_a_body_declared_too_large_is_refused_before_it_is_sent(lite: Workspace) -> None:
    """10 MB announced, a few bytes sent: the 413 comes without waiting for the rest."""
    reader, writer = await asyncio.open_connection(lite.server.host, lite.server.port)
    try:
        writer.write(
            b"POST /slack/events HTTP/1.1\r\nHost: circles\r\n"
            b"Content-Type: application/json\r\nContent-Length: 10485760\r\n\r\n{"
        )
        await writer.drain()
        answer = await asyncio.wait_for(reader.readline(), timeout=10)
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:80]


# --- retries and repeats -------------------------------------------------------------------------


async def test_slack_retries_and_repeated_event_ids_have_no_second_effect(lite: Workspace) -> None:
    await circle(lite, BEN)
    await open_session(lite)
    body = lite.message_body(user=BEN, text="My week went well", ts="1700009999.000100")
    body["event"]["channel"] = "D0BEN"
    assert (await lite.event(body)).status == 200
    await lite.settle()
    after_first = await lite.table_counts()
    thread_posts = len(lite.fake.channels[HOME])
    for retry in (1, 2, 3):
        assert (await lite.event(body, retry=retry)).status == 200
    assert (await lite.event(body)).status == 200  # the same event id once more, no retry header
    await lite.settle()
    assert await lite.table_counts() == after_first
    assert len(lite.fake.channels[HOME]) == thread_posts


async def test_url_verification_answers_the_challenge(lite: Workspace) -> None:
    challenge = fixture("url_verification")
    sent = await lite.event(challenge)
    assert sent.status == 200
    assert challenge["challenge"] in sent.body


# --- messages handled deliberately ------------------------------------------------------------------


async def test_the_bots_own_messages_and_channel_chatter_change_nothing(lite: Workspace) -> None:
    await circle(lite, BEN)
    kickoff = await open_session(lite)
    before = await lite.table_counts()
    bodies = [
        lite.message_body("event_bot_message"),  # our own DM, echoed back by Slack
        lite.message_body("event_thread_reply", user=BOT_USER, bot_id="B0BOT", thread_ts=kickoff),
        lite.message_body("event_thread_reply", user=BEN, ts="1700009000.1", thread_ts=None),
        lite.message_body(
            "event_thread_reply", user=BEN, ts="1700009000.2", thread_ts="1700009000.2"
        ),
        lite.message_body("event_message_im", user=BEN, subtype="channel_join", text="joined"),
    ]
    edit_in_channel = lite.message_body(
        "event_message_changed", channel=HOME, channel_type="channel"
    )
    delete_bot_message = lite.message_body("event_message_deleted", channel="D0BEN")
    delete_bot_message["event"]["previous_message"].update(user=BOT_USER, bot_id="B0BOT")
    for body in [*bodies, edit_in_channel, delete_bot_message]:
        assert (await lite.event(body)).status == 200
    await lite.settle()
    assert await lite.table_counts() == before


async def test_a_deleted_dm_withdraws_the_check_in_it_carried(lite: Workspace) -> None:
    await circle(lite, BEN, CHEN)
    kickoff = await open_session(lite)
    ts = await lite.dm(CHEN, "Struggling with focus this week")
    await lite.settle()
    post = lite.fake.thread(HOME, kickoff)[-1]
    assert post.text.startswith("Chen Wei checked in")
    await lite.delete_dm(CHEN, ts)
    await lite.settle()
    assert post.edits == 1
    assert post.text == "Chen Wei withdrew their check-in."
    assert "Struggling" not in json.dumps(post.blocks)


async def test_a_mention_in_the_channel_is_a_command_answered_by_dm(lite: Workspace) -> None:
    await circle(lite, BEN)
    body = lite.message_body("event_app_mention", user=BEN, text=f"<@{BOT_USER}> status")
    assert (await lite.event(body)).status == 200
    await lite.settle()
    answer = lite.fake.dms(BEN)[-1]
    assert answer.text.startswith("Growth Circle")
    assert "Members:" in answer.text
    # In a thread, a mention that is not a command is conversation, not a command.
    body = lite.message_body(
        "event_app_mention", user=BEN, text=f"<@{BOT_USER}> great point!", thread_ts="1.0"
    )
    before = len(lite.fake.dms(BEN))
    assert (await lite.event(body)).status == 200
    await lite.settle()
    assert len(lite.fake.dms(BEN)) == before


# --- malformed payloads -------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
SHAPES = st.sampled_from(
    [
        "event_message_im",
        "event_app_mention",
        "event_message_changed",
        "event_app_home_opened",
        "block_actions",
        "view_submission",
        "command",
    ]
)

KEYS = st.sampled_from(
    [
        "user",
        "team",
        "text",
        "ts",
        "type",
        "subtype",
        "actions",
        "team_id",
        "event",
        "channel",
        "authorizations",
        "enterprise",
        "message",
        "previous_message",
        "thread_ts",
        "trigger_id",
        "view",
        "function",
        "is_ext_shared_channel",
        "id",
        "callback_id",
        "private_metadata",
        "state",
        "action_id",
        "value",
        "tab",
    ]
)


def _mangle(base: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    mangled = dict(base)
    mangled[key] = value
    for inner in ("event", "view", "user", "team"):
        if isinstance(base.get(inner), dict) and inner != key:
            mangled[inner] = {**base[inner], key: value}
    if isinstance(base.get("actions"), list) and key != "actions":
        mangled["actions"] = [{**base["actions"][0], key: value}]
    return mangled


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(shape=SHAPES, key=KEYS, value=JSON)
async def test_malformed_signed_payloads_get_a_clear_status_and_change_nothing(
    lite: Workspace, shape: str, key: str, value: Any
) -> None:
    before = state(await lite.table_counts())
    body = _mangle(fixture(shape), key, value)
    if shape in ("block_actions", "view_submission"):
        sent = await lite.interaction(body)
    elif shape == "command":
        sent = await lite.form(
            {k: json.dumps(v) if not isinstance(v, str) else v for k, v in body.items()}
        )
    else:
        sent = await lite.event(body)
    assert sent.status in (200, 400, 404), sent
    await lite.adapter.drain()
    after = state(await lite.table_counts())
    # Commands still answer (help, a usage line); whatever happens, no circle or outbox row appears.
    assert after["circles"] == before["circles"] and after["checkins"] == before["checkins"]


# --- every error answer of SPEC §6, privately, changing nothing ---------------------------------------------


async def test_every_kind_of_error_is_answered_ephemerally_and_changes_nothing(
    lite: Workspace,
) -> None:
    await circle(lite, BEN)
    before = state(await lite.table_counts())
    cases = {
        # unknown command -> the help
        "dance": ["I don't know the command “dance”", "For everyone", "/circle help"],
        # missing argument -> the usage line
        "invite": ["Usage: `invite &lt;@person&gt;"],
        # bad argument -> the usage line, naming the bad token
        "schedule weekly on funday at 09:00": ["funday", "Usage: `schedule"],
        "away until someday": ["someday", "Usage: `away until &lt;YYYY-MM-DD&gt;`"],
        # not allowed -> who may
        "pause": [],  # asked by Ben below
        # unknown time zone -> the closest valid names
        "tz Europe/Berlinn": ["“Europe/Berlinn” is not a time zone I know", "Europe/Berlin"],
    }
    for text, expected in cases.items():
        user = BEN if text == "pause" else ANA
        sent = await lite.command(user, text)
        assert sent.status == 200
        assert sent.json["response_type"] == "ephemeral", text
        shown = sent.mrkdwn
        for words in expected:
            assert words in shown, (text, words, shown)
        if text == "pause":
            assert "Only the circle's organiser can pause" in sent.text
    # Errors from a DM and from a button are private too: they come back by DM, not in the channel.
    await lite.dm(BEN, "done 7 it went fine")
    await lite.settle()
    assert "You have no open commitments to review" in lite.fake.dms(BEN)[-1].text
    assert state(await lite.table_counts()) == {**before, "outbox": before["outbox"] + 1}
    assert lite.fake.top(HOME) == []  # nothing ever appeared in the channel
