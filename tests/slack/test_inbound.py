"""`slack_to_event` on Slack's own payload shapes: pure, no server, no database."""

from __future__ import annotations

from adapters.slack.inbound import (
    Ignored,
    LookUp,
    OpenForm,
    Profile,
    ShowHome,
    from_slack_text,
    people_in,
    slack_to_event,
    well_formed,
)
from adapters.slack.render import Form, form_value
from bot.events import (
    Actor,
    ChoiceMade,
    CommandIssued,
    DirectMessage,
    DirectMessageDeleted,
    DirectMessageEdited,
    FormSubmitted,
    ThreadReply,
)
from bot.messages import TextInput
from bot.people import PersonKey
from tests.slack.driver import fixture

BEN = PersonKey("slack", "T0ACME", "U0BEN")
KNOWN = {"U0BEN": Profile(name="Ben", tz="America/New_York", admin=False)}


def test_a_slash_command_in_a_channel() -> None:
    body = fixture("command") | {"text": "invite <@U0BEN|ben> <@U0CHEN> &lt;3 &amp; more"}
    event = slack_to_event(body, profiles=KNOWN)
    assert event == CommandIssued(
        id="slack:T0ACME:command:13345224609.738474920.8088930838d88f008e0",
        actor=Actor(key=PersonKey("slack", "T0ACME", "U0ANA"), name="ana.lima"),
        text="invite <@U0BEN|ben> <@U0CHEN> <3 & more",
        conversation="slack:T0ACME:C0HOME",
        inline=True,
        modal=True,
        prefix="/circle ",
        names=(("U0BEN", "Ben"),),
    )
    assert people_in(body) == ("T0ACME", ("U0ANA", "U0BEN", "U0CHEN"))


def test_a_slash_command_in_the_dm_has_no_conversation() -> None:
    body = fixture("command") | {"channel_id": "D0ANA", "channel_name": "directmessage"}
    event = slack_to_event(body)
    assert isinstance(event, CommandIssued) and event.conversation is None


def test_dm_messages_edits_and_deletions() -> None:
    message = slack_to_event(fixture("event_message_im"), profiles=KNOWN)
    assert message == DirectMessage(
        id="slack:T0ACME:event:Ev0IM0001",
        actor=Actor(key=BEN, name="Ben", tz="America/New_York", admin=False),
        text="Shipped the first draft & asked for review",
        ref="1700000500.000200",
    )
    edited = slack_to_event(fixture("event_message_changed"))
    assert isinstance(edited, DirectMessageEdited)
    assert (edited.ref, edited.text) == (
        "1700000500.000200",
        "Shipped the first draft, reviewed by two people",
    )
    deleted = slack_to_event(fixture("event_message_deleted"))
    assert isinstance(deleted, DirectMessageDeleted)
    assert (deleted.actor.key.user, deleted.ref) == ("U0CHEN", "1700000700.000400")


def test_a_reply_in_the_thread_of_one_of_our_dms_names_the_message_it_replies_to() -> None:
    body = fixture("event_message_im")
    body["event"] |= {"thread_ts": "1700000400.000100"}  # the bot's check-in prompt
    reply = slack_to_event(body, profiles=KNOWN)
    assert isinstance(reply, DirectMessage)
    assert (reply.ref, reply.replying_to) == ("1700000500.000200", "1700000400.000100")
    # The root of a DM thread (thread_ts is its own ts) replies to nothing.
    body["event"] |= {"thread_ts": body["event"]["ts"]}
    root = slack_to_event(body, profiles=KNOWN)
    assert isinstance(root, DirectMessage) and root.replying_to is None


def test_a_thread_reply_in_a_channel() -> None:
    reply = slack_to_event(fixture("event_thread_reply"))
    assert isinstance(reply, ThreadReply)
    assert (reply.conversation, reply.thread, reply.ref) == (
        "slack:T0ACME:C0HOME",
        "1700000100.000100",
        "1700000900.000600",
    )


def test_what_is_deliberately_ignored() -> None:
    assert isinstance(slack_to_event(fixture("event_bot_message")), Ignored)
    top_level = fixture("event_thread_reply")
    del top_level["event"]["thread_ts"]
    assert slack_to_event(top_level) == Ignored("channel message outside a thread")
    same_text = fixture("event_message_changed")
    same_text["event"]["message"]["text"] = same_text["event"]["previous_message"]["text"]
    assert slack_to_event(same_text) == Ignored("edit without new text")
    joined = fixture("event_member_joined_channel")
    assert slack_to_event(joined) == LookUp(team="T0ACME", users=("U0BEN",))
    joined["event"]["user"] = "U0BOT"
    assert isinstance(slack_to_event(joined), Ignored)
    home = fixture("event_app_home_opened")
    assert slack_to_event(home) == ShowHome(team="T0ACME", user="U0ANA")
    home["event"]["tab"] = "messages"
    assert isinstance(slack_to_event(home), Ignored)


def test_a_mention_is_a_command_without_the_bots_name() -> None:
    event = slack_to_event(fixture("event_app_mention"))
    assert isinstance(event, CommandIssued)
    assert (event.text, event.inline, event.conversation) == (
        "status",
        False,
        "slack:T0ACME:C0HOME",
    )


def test_buttons_and_modals() -> None:
    agree = slack_to_event(fixture("block_actions"))
    assert isinstance(agree, ChoiceMade)
    assert (agree.action, agree.value, agree.actor.name) == ("agree", "1", "ben")
    body = fixture("block_actions")
    form = TextInput("hot_seat", "4", "Your challenge")
    body["actions"][0] |= {"action_id": "circles.form.1", "value": form_value(form)}
    opened = slack_to_event(body)
    assert opened == OpenForm(
        team="T0ACME",
        user="U0BEN",
        trigger_id=body["trigger_id"],
        form=Form(action="hot_seat", value="4", label="Your challenge"),
    )
    submitted = slack_to_event(fixture("view_submission"))
    assert isinstance(submitted, FormSubmitted)
    assert (submitted.id, submitted.action, submitted.value, submitted.text) == (
        "slack:T0ACME:view:V0FORM0001",
        "hot_seat",
        "1",
        "How do I say no to my manager?",
    )


def test_slack_markup_becomes_what_the_person_typed() -> None:
    text = "see <https://x.example/a|the doc>, <https://x.example/b>, <#C0HOME|growth>, <!here> &amp; <@U0BEN>"
    assert from_slack_text(text) == (
        "see the doc (https://x.example/a), https://x.example/b, #growth, @here & <@U0BEN>"
    )


def test_the_shapes_bolt_relies_on_are_checked_first() -> None:
    assert well_formed(fixture("block_actions"))
    assert not well_formed({"type": "block_actions", "actions": True})
    assert not well_formed({"type": "event_callback", "event": {"user": "U1"}})
    assert not well_formed([1, 2])
