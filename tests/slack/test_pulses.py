"""Pulses through Slack (SPEC §15): a launched programme's circle meets twice; after
session 1 those who checked in get the one-tap pulse as buttons, and a tap is stored;
after session 2 (half of four) the midpoint's button opens a modal whose answers are
stored, the note shared only when its author ticks it, and a note too long is refused
beside it with nothing stored. Signed requests over a socket, Web API calls on the fake
Slack.
"""

from __future__ import annotations

from bot.pulses import Pulse, PulseKind
from storage.uow import SqlUnitOfWorkFactory
from tests.slack.driver import Workspace
from tests.slack.test_programmes import ANA, BEN, CHEN, DARA, mentioned_and_launched
from tests.slack.test_story import last_dm


async def held(slack: Workspace, number: int, checking_in: tuple[str, ...]) -> None:
    """Session `number` opens, these members check in by DM, and it closes."""
    session = await slack.session(number)
    assert session.id is not None
    slack.clock.set(session.opens_at)
    await slack.core.open_session(session.id)
    await slack.settle()
    for user in checking_in:
        await slack.dm(user, f"Session {number}: tried delegating the release notes")
    slack.clock.set(session.closes_at)
    await slack.core.close_session(session.id)
    await slack.settle()


async def pulse_of(slack: Workspace, user: str) -> Pulse:
    person = await slack.person(user)
    async with SqlUnitOfWorkFactory(slack.engine)() as uow:
        return (await uow.pulses.find(person_id=person.id, order_by="-id"))[0]


async def test_a_tap_and_the_midpoint_modal_are_recorded(slack: Workspace) -> None:
    assert "Launched New Leads" in await mentioned_and_launched(slack)
    for user in (ANA, BEN, CHEN, DARA):
        await slack.dm(user, "agree")
    await held(slack, 1, (ANA, BEN, CHEN))

    asked = last_dm(slack, ANA, "How useful was session 1 of New Leads 1?")
    assert [b["text"]["text"] for b in asked.buttons()] == ["1", "2", "3", "4", "5"]
    assert not [p for p in slack.fake.dms(DARA) if p.text.startswith("How useful")]
    await slack.click(ANA, asked, "4")
    await slack.settle()
    assert "Thanks — noted 4/5 for session 1 of New Leads 1" in slack.fake.dms(ANA)[-1].text
    assert (await pulse_of(slack, ANA)).score == 4

    await held(slack, 2, (ANA, BEN, CHEN, DARA))
    halfway = last_dm(slack, DARA, "Halfway · New Leads")
    assert [b["text"]["text"] for b in halfway.buttons()][-1] == "Anything in the way?"
    await slack.click(DARA, halfway, "Anything in the way?")
    [modal] = slack.fake.opened
    assert modal["title"]["text"] == "Halfway"
    score, note, shared = (b["block_id"] for b in modal["blocks"] if b["type"] == "input")
    bad = await slack.fill(DARA, modal, {score: ("2",), note: ("x" * 501,)})
    assert bad.json["response_action"] == "errors"  # beside the note, not the score
    assert bad.json["errors"] == {note: "Please keep it to 500 characters; this is 501."}
    assert (await pulse_of(slack, DARA)).answered_at is None
    await slack.fill(
        DARA,
        modal,
        {score: ("2",), note: ("Our slot clashes with planning",), shared: ("shared",)},
    )
    await slack.settle()
    pulse = await pulse_of(slack, DARA)
    assert pulse.kind is PulseKind.MIDPOINT and pulse.programme_id is not None
    assert (pulse.score, pulse.note, pulse.shared) == (2, "Our slot clashes with planning", True)
