"""The end survey on Slack (SPEC §15): its button opens a modal with the intake's rating
selects, a share tick and a 0–10 select; a bad answer is refused beside its field with
nothing stored, a good one is thanked by DM. Signed requests through the real server."""

from __future__ import annotations

from datetime import timedelta

from tests.slack.driver import Workspace
from tests.slack.test_forms import inputs
from tests.slack.test_programmes import ANA, ZOE, mentioned_and_launched

SURVEY = {
    "rating:0": ("4",),
    "rating:1": ("3",),
    "rating:2": ("5",),
    "changed": ("I say no kindly now",),
    "shared": ("yes",),
    "recommend": ("9",),
}


async def test_the_survey_button_opens_a_modal_that_refuses_bad_answers_then_stores_them(
    lite: Workspace,
) -> None:
    await mentioned_and_launched(lite)
    closed = await lite.command(ZOE, "programme close in New Leads")
    assert "Each participant gets the end survey" in closed.text
    lite.clock.advance(timedelta(days=1))  # inside Ana's working hours
    await lite.settle()
    invitation = next(m for m in lite.fake.dms(ANA) if "end survey" in m.text)

    await lite.click(ANA, invitation, "Fill in the end survey")
    view = lite.fake.opened[-1]
    assert view["title"]["text"] == "End survey"
    fields = inputs(view)
    assert list(fields) == ["rating:0", "rating:1", "rating:2", "changed", "shared", "recommend"]
    assert [o["value"] for o in fields["rating:2"]["element"]["options"]] == list("12345")
    assert [o["value"] for o in fields["recommend"]["element"]["options"]] == [
        str(n) for n in range(11)
    ]
    assert fields["changed"]["optional"] is True and fields["shared"]["optional"] is True
    before = await lite.table_counts()

    bad = await lite.fill(ANA, view, {**SURVEY, "rating:1": (), "recommend": ()})
    assert bad.json["response_action"] == "errors"
    assert set(bad.json["errors"]) == {"rating:1", "recommend"}
    assert "from 0 (not at all) to 10" in bad.json["errors"]["recommend"]
    await lite.settle()
    assert await lite.table_counts() == before

    assert (await lite.fill(ANA, view, SURVEY)).body == ""
    await lite.settle()
    assert "your end survey for New Leads is in" in lite.fake.dms(ANA)[-1].text
    await lite.click(ANA, invitation, "Fill in the end survey")  # prefilled, to change it
    prefilled = inputs(lite.fake.opened[-1])
    assert prefilled["recommend"]["element"]["initial_option"]["value"] == "9"
    assert prefilled["changed"]["element"]["initial_value"] == "I say no kindly now"
