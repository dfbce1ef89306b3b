"""`activity_to_event`: Teams activities (the recorded shapes in fixtures/) to neutral events."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.teams.inbound import MalformedActivity, activity_to_event, bot_removed
from adapters.teams.references import reference_of
from bot import commands as cmd
from bot import grammar
from bot.errors import UserError
from bot.events import (
    ChoiceMade,
    CommandIssued,
    DirectMessage,
    DirectMessageDeleted,
    DirectMessageEdited,
    FormSubmitted,
    ThreadReply,
)
from tests.teams.harness import (
    ANA,
    BEN,
    BOT_MENTION,
    CHANNEL,
    CHEN,
    HOME,
    TENANT,
    activity,
    client_info,
    mention,
)

CHAT = "a:1chat-ana"


def channel(text: str, *entities: dict[str, Any], root: str | None = None) -> dict[str, Any]:
    message = "1763712000999"
    return activity(
        "channel_message",
        ANA,
        id=message,
        text=text,
        entities=[*entities, client_info(ANA.tz)],
        conversation=f"{CHANNEL};messageid={root or message}",
    )


def personal(text: str, **values: Any) -> dict[str, Any]:
    return activity("personal_message", ANA, text=text, conversation=CHAT, **values)


def test_a_mention_of_the_bot_in_the_channel_is_a_command_with_the_mention_removed() -> None:
    event = activity_to_event(channel("<at>Circles</at> status", BOT_MENTION))
    assert isinstance(event, CommandIssued)
    assert event.text == "status"
    assert event.conversation == HOME
    assert event.inline is False  # answered through the outbox, never before the acknowledgement
    assert event.prefix == "@Circles "
    assert event.actor.key == ANA.key
    assert event.actor.name == "Ana Lima"


def test_mentioned_people_become_the_cores_mentions_with_their_names() -> None:
    text = "<at>Circles</at> invite <at>Ben Okafor</at> and <at>Chen Wei</at>"
    event = activity_to_event(channel(text, BOT_MENTION, mention(BEN), mention(CHEN)))
    assert isinstance(event, CommandIssued)
    assert event.text == f"invite <@{BEN.user}|Ben Okafor> and <@{CHEN.user}|Chen Wei>"
    assert dict(event.names) == {BEN.user: "Ben Okafor", CHEN.user: "Chen Wei"}
    parsed = cmd.parse_command(event.text.replace(" and", ""))
    assert isinstance(parsed, grammar.Invite)
    assert [m.user for m in parsed.people] == [BEN.user, CHEN.user]


def test_a_mention_split_into_first_and_last_name_is_one_person() -> None:
    first = {
        "type": "mention",
        "text": "<at>Ben</at>",
        "mentioned": {"id": BEN.user, "name": "Ben"},
    }
    last = {
        "type": "mention",
        "text": "<at>Okafor</at>",
        "mentioned": {"id": BEN.user, "name": "Okafor"},
    }
    event = activity_to_event(
        channel("<at>Circles</at> hotseat <at>Ben</at> <at>Okafor</at>", BOT_MENTION, first, last)
    )
    assert isinstance(event, CommandIssued)
    assert event.text == f"hotseat <@{BEN.user}|Ben Okafor>"
    assert dict(event.names) == {BEN.user: "Ben Okafor"}


def test_typed_mention_syntax_and_stray_at_tags_name_nobody() -> None:
    text = "<at>Circles</at> invite <@29:someone-else|Mallory> <at>General</at>"
    channel_tag = {
        "type": "mention",
        "text": "<at>General</at>",
        "mentioned": {"id": CHANNEL, "name": "General"},
    }
    event = activity_to_event(channel(text, BOT_MENTION, channel_tag))
    assert isinstance(event, CommandIssued)
    assert "<@29:someone-else" not in event.text
    assert event.text.endswith("General")
    assert event.names == ()
    with pytest.raises(UserError, match="is not a mention"):
        cmd.parse_command(event.text)


def test_a_leading_circle_is_left_for_the_grammar_which_accepts_it() -> None:
    for text in ("<at>Circles</at> circle status", "<at>Circles</at> /circle status"):
        event = activity_to_event(channel(text, BOT_MENTION))
        assert isinstance(event, CommandIssued)
        assert isinstance(cmd.parse_command(event.text), grammar.Status)


def test_a_reply_in_a_channel_thread_is_a_thread_reply_to_its_root() -> None:
    event = activity_to_event(channel("Try a not-now list.", root="1763712000100"))
    assert isinstance(event, ThreadReply)
    assert (event.conversation, event.thread, event.ref) == (HOME, "1763712000100", "1763712000999")
    assert event.actor.key == ANA.key


def test_in_a_thread_a_mention_is_a_command_only_when_it_reads_as_one() -> None:
    command = activity_to_event(
        channel("<at>Circles</at> status", BOT_MENTION, root="1763712000100")
    )
    assert isinstance(command, CommandIssued)
    reply = activity_to_event(
        channel("<at>Circles</at> great question, thanks", BOT_MENTION, root="1763712000100")
    )
    assert isinstance(reply, ThreadReply)


def test_a_new_channel_post_without_the_bot_is_not_for_us() -> None:
    assert activity_to_event(channel("Lunch anyone?")) is None


def test_a_personal_message_is_a_direct_message_for_the_core_to_read() -> None:
    event = activity_to_event(personal("Shipped the beta!"))
    assert isinstance(event, DirectMessage)
    assert event.text == "Shipped the beta!"
    assert event.ref == "1763712000123"


def test_a_quoted_reply_in_the_personal_chat_names_the_message_it_replies_to() -> None:
    quote = {"type": "quotedReply", "quotedReply": {"messageId": "1763711000555"}}
    text = '<quoted messageId="1763711000555"/> Quiet week, mostly planning.'
    event = activity_to_event(personal(text, entities=[quote]))
    assert isinstance(event, DirectMessage)
    assert (event.text, event.replying_to) == ("Quiet week, mostly planning.", "1763711000555")
    # Without the entity, `replyToId` says it; a plain message replies to nothing.
    event = activity_to_event(personal("Quiet week.") | {"replyToId": "1763711000444"})
    assert isinstance(event, DirectMessage) and event.replying_to == "1763711000444"
    event = activity_to_event(personal("Quiet week."))
    assert isinstance(event, DirectMessage) and event.replying_to is None


def test_an_empty_personal_message_asks_nothing() -> None:
    assert activity_to_event(personal("")) is None


def test_the_time_zone_comes_from_client_info_then_local_timezone_and_must_be_real() -> None:
    assert activity_to_event(personal("hi")).actor.tz == "Europe/Berlin"  # type: ignore[union-attr]
    made_up = personal("hi", entities=[client_info("Mars/Olympus_Mons")], tz="Asia/Tokyo")
    assert activity_to_event(made_up).actor.tz == "Asia/Tokyo"  # type: ignore[union-attr]
    neither = personal("hi", entities=[client_info("nowhere")], tz="nowhere")
    assert activity_to_event(neither).actor.tz is None  # type: ignore[union-attr]


def test_admins_are_recognised_by_user_id_or_aad_object_id() -> None:
    assert activity_to_event(personal("hi")).actor.admin is False  # type: ignore[union-attr]
    by_aad = activity_to_event(personal("hi"), admins=frozenset({ANA.aad}))
    assert by_aad is not None and by_aad.actor.admin is True
    by_id = activity_to_event(personal("hi"), admins=frozenset({ANA.user}))
    assert by_id is not None and by_id.actor.admin is True


def test_card_buttons_and_forms_come_back_as_choices_and_form_answers() -> None:
    choice = activity_to_event(
        activity(
            "card_submit",
            ANA,
            conversation=CHAT,
            value={"circles": "choice", "action": "review", "value": "7:done"},
        )
    )
    assert isinstance(choice, ChoiceMade)
    assert (choice.action, choice.value) == ("review", "7:done")
    form = activity_to_event(
        activity(
            "card_submit",
            ANA,
            conversation=CHAT,
            value={
                "circles": "form",
                "action": "checkin",
                "value": "3",
                "input": "circles_text_1",
                "circles_text_1": "A good week.",
            },
        )
    )
    assert isinstance(form, FormSubmitted)
    assert (form.action, form.value, form.text) == ("checkin", "3", "A good week.")


def test_a_tampered_card_payload_still_gets_an_answer() -> None:
    event = activity_to_event(
        activity("card_submit", ANA, conversation=CHAT, value={"circles": "choice", "action": 3})
    )
    assert isinstance(event, ChoiceMade)
    assert (event.action, event.value) == ("", "")


def test_edits_and_deletions_in_the_personal_chat() -> None:
    edit = activity_to_event(
        activity("message_update", ANA, conversation=CHAT, message="1763712000500", text="Better.")
    )
    assert isinstance(edit, DirectMessageEdited)
    assert (edit.ref, edit.text) == ("1763712000500", "Better.")
    again = activity_to_event(
        activity(
            "message_update",
            ANA,
            conversation=CHAT,
            message="1763712000500",
            text="Best.",
            timestamp="2026-11-23T09:00:00.000Z",
        )
    )
    assert again is not None and again.id != edit.id  # each edit is its own event
    deletion = activity_to_event(
        activity("message_delete", ANA, conversation=CHAT, message="1763712000500")
    )
    assert isinstance(deletion, DirectMessageDeleted)
    assert deletion.ref == "1763712000500"


def test_the_same_message_id_in_two_conversations_is_two_events() -> None:
    one = activity_to_event(personal("hi"))
    other = activity_to_event(
        activity("personal_message", BEN, text="hi", conversation="a:1chat-ben")
    )
    assert one is not None and other is not None and one.id != other.id


def test_the_bot_added_to_a_team_welcomes_whoever_added_it() -> None:
    event = activity_to_event(activity("bot_added_to_team", ANA))
    assert isinstance(event, CommandIssued)
    assert event.text == "help"
    assert event.actor.key == ANA.key
    assert event.conversation is not None and event.conversation.startswith(f"teams:{TENANT}:")


def test_a_personal_install_welcomes_in_the_chat() -> None:
    event = activity_to_event(activity("bot_installed_personal", ANA, conversation=CHAT))
    assert isinstance(event, CommandIssued)
    assert (event.text, event.conversation, event.prefix) == ("help", None, "")


def test_the_bot_removed_is_recognised() -> None:
    removed = activity("bot_removed_from_team", ANA)
    assert bot_removed(removed)
    assert activity_to_event(removed) is None
    assert not bot_removed(activity("bot_added_to_team", ANA))


@pytest.mark.parametrize("missing", ["from", "conversation", "id"])
def test_a_message_without_its_essentials_is_malformed(missing: str) -> None:
    broken = personal("hi")
    del broken[missing]
    with pytest.raises(MalformedActivity):
        activity_to_event(broken)


def test_a_message_without_a_tenant_is_malformed() -> None:
    broken = personal("hi")
    del broken["conversation"]["tenantId"]
    del broken["channelData"]["tenant"]
    with pytest.raises(MalformedActivity):
        activity_to_event(broken)


def test_activities_we_do_not_use_ask_nothing() -> None:
    for kind in ("typing", "invoke", "event", "messageReaction", "installationUpdate"):
        assert activity_to_event({**personal("hi"), "type": kind}) is None


def test_ids_longer_than_teams_uses_are_malformed() -> None:
    for field, value in (("id", "9" * 129), ("conversation", {"id": "a:" + "x" * 300})):
        broken = personal("hi")
        if isinstance(value, dict):
            broken[field] = {**broken[field], **value}
        else:
            broken[field] = value
        with pytest.raises(MalformedActivity):
            activity_to_event(broken)


def test_a_reference_is_kept_only_for_a_web_service_url() -> None:
    assert reference_of(personal("hi")) is not None
    for url in ("file:///etc/passwd", "", None, "ftp://smba.example/"):
        assert reference_of({**personal("hi"), "serviceUrl": url}) is None
