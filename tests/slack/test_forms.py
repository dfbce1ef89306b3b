"""Programme and intake forms on Slack (SPEC §13): modals opened with the request's trigger
id, submitted as signed view_submission requests through the real server, refused beside
the bad fields (`response_action: errors`) with nothing changed, the answer by DM."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from adapters.slack.modals import FIELDS_CALLBACK, form_to_modal
from bot.programmes.manage import FORM
from tests.slack.driver import Workspace

MIA, ANA, BEN = "U0ZOE", "U0ANA", "U0BEN"
PROGRAMME = {
    "name": ("New Leads",),
    "areas": ("feedback, delegation, hiring",),
    "kind": ("mastermind",),
    "size": ("3-4",),
    "emphasis": ("complement",),
}
INTAKE = {
    "wants": ("delegation",),
    "offers": ("feedback",),
    "function": ("Engineering",),
    "experience": ("2-5y",),
    "preference": ("same",),
    "not_with": (BEN,),
    "rating:0": ("3",),
    "rating:1": ("2",),
    "rating:2": ("4",),
}


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def test_the_programme_form_as_a_modal() -> None:
    view = form_to_modal(FORM)
    assert view["type"] == "modal" and view["callback_id"] == FIELDS_CALLBACK
    assert view["title"] == {"type": "plain_text", "text": "New programme"}
    assert view["submit"]["text"] == "Create" and len(view["blocks"]) <= 100
    fields = inputs(view)
    assert list(fields) == ["name", "areas", "kind", "size", "emphasis", "schedule", "focus"]
    assert fields["name"]["element"]["type"] == "plain_text_input"
    assert fields["name"]["optional"] is False and fields["size"]["optional"] is True
    assert fields["areas"]["element"]["multiline"] is True
    kind = fields["kind"]["element"]
    assert kind["type"] == "static_select" and kind["initial_option"]["value"] == "mentoring-circle"
    assert {o["value"] for o in kind["options"]} >= {"mastermind", "mentoring-pair"}
    assert all(b["element"]["action_id"] == "value" for b in fields.values())


async def test_programme_new_opens_a_modal_that_refuses_bad_fields_and_then_creates_it(
    lite: Workspace,
) -> None:
    answer = await lite.command(MIA, "programme new")
    assert answer.status == 200 and answer.body == ""  # the modal is the answer
    (opened,) = lite.fake.opened
    assert opened["callback_id"] == FIELDS_CALLBACK
    before = await lite.table_counts()

    bad = await lite.fill(MIA, opened, {**PROGRAMME, "areas": ("a, b",), "size": ("9-3",)})
    assert bad.json["response_action"] == "errors"
    assert set(bad.json["errors"]) == {"areas", "size"}
    assert "3 to 8 capability areas" in bad.json["errors"]["areas"]
    assert "sizes go from 2" in bad.json["errors"]["size"]
    await lite.settle()
    assert await lite.table_counts() == before  # nothing stored, not even an answer by DM
    assert lite.fake.dms(MIA) == []

    done = await lite.fill(MIA, opened, PROGRAMME)
    assert done.body == ""  # the modal closes
    await lite.settle()
    (created,) = lite.fake.dms(MIA)
    assert "Created the programme New Leads: circles of 3–4, mastermind." in created.text

    # The same name again, in a new modal: refused on the form's first field.
    await lite.command(MIA, "programme new")
    again = await lite.fill(MIA, lite.fake.opened[-1], PROGRAMME)
    assert "already a programme called" in again.json["errors"]["name"]


async def test_the_intake_button_opens_the_intake_modal_prefilled_until_matching(
    lite: Workspace,
) -> None:
    await lite.command(MIA, "programme new New Leads areas feedback, delegation, hiring")
    await lite.command(MIA, f"programme invite <@{ANA}|ana> <@{BEN}|ben>")
    lite.clock.advance(timedelta(days=1))  # invitations arrive inside working hours
    await lite.settle()
    invitation = lite.fake.dms(ANA)[-1]
    await lite.click(ANA, invitation, "Fill in your intake")
    view = lite.fake.opened[-1]
    fields = inputs(view)
    assert fields["not_with"]["element"]["type"] == "multi_users_select"
    assert fields["wants"]["element"]["type"] == "multi_static_select"
    assert fields["rating:1"]["element"]["type"] == "static_select"
    assert [o["value"] for o in fields["rating:1"]["element"]["options"]] == list("12345")
    before = await lite.table_counts()

    bad = await lite.fill(ANA, view, {**INTAKE, "function": ("<!channel>",), "wants": ()})
    assert set(bad.json["errors"]) == {"function", "wants"}
    assert "plain words" in bad.json["errors"]["function"]
    assert await lite.table_counts() == before

    assert (await lite.fill(ANA, view, INTAKE)).body == ""
    await lite.settle()
    assert "your intake for New Leads is complete" in lite.fake.dms(ANA)[-1].text
    assert all(BEN not in m.text and "Ben" not in m.text for m in lite.fake.dms(ANA))

    # Changing it: the modal opens with the answers given, the private list to its author.
    await lite.click(ANA, invitation, "Fill in your intake")
    prefilled = inputs(lite.fake.opened[-1])
    assert prefilled["not_with"]["element"]["initial_users"] == [BEN]
    assert [o["value"] for o in prefilled["wants"]["element"]["initial_options"]] == ["delegation"]
    assert prefilled["rating:2"]["element"]["initial_option"]["value"] == "4"
    await lite.click(BEN, lite.fake.dms(BEN)[-1], "Fill in your intake")
    assert "initial_users" not in inputs(lite.fake.opened[-1])["not_with"]["element"]
