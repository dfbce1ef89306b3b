"""Programme and intake forms on Teams (SPEC §13): a `Form` as Adaptive Card 1.5 inputs, and
its Action.Submit through the real endpoint; bad fields answered in the chat, nothing stored."""

from __future__ import annotations

from typing import Any

from adapters.teams.cards import message_to_card
from bot.messages import Field, Form, Message, ToPerson
from bot.programmes.manage import FORM
from tests.teams.harness import ANA, BEN, CHEN, EVERYONE, TeamsBot, card_elements

INPUT_TEXT = {
    "type",
    "id",
    "label",
    "isRequired",
    "errorMessage",
    "isMultiline",
    "placeholder",
    "value",
}
CHOICE_SET = {"type", "id", "label", "isRequired", "errorMessage", "choices", "isMultiSelect", "style", "value"}  # fmt: skip


def check_inputs(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each input of the card, by id, once its shape is Adaptive Card 1.5's."""
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    found: dict[str, dict[str, Any]] = {}
    for element in card_elements(card):
        if element["type"] == "Input.Text":
            assert set(element) <= INPUT_TEXT and isinstance(element["isMultiline"], bool)
        elif element["type"] == "Input.ChoiceSet":
            assert set(element) <= CHOICE_SET and element["style"] in ("compact", "expanded")
            assert all(set(c) == {"title", "value"} for c in element["choices"])
            assert all(isinstance(c["value"], str) for c in element["choices"])
        else:
            continue
        assert isinstance(element["id"], str) and element["id"] not in found
        assert isinstance(element["label"], str) and isinstance(element["isRequired"], bool)
        assert isinstance(element.get("value", ""), str)
        found[element["id"]] = element
    return found


PEOPLE = tuple(
    (f"29:{n}", name) for n, name in enumerate(("Ben", "Chen", "Dara", "Eli", "Fay", "Gus"))
)


def test_a_form_is_inputs_under_one_submit_button() -> None:
    form = Form(
        title="Your intake",
        submit="Save",
        action="intake",
        value="7",
        fields=(
            *FORM.fields[:3],
            Field(id="many", label="Areas", kind="many", options=(("a", "A"), ("b", "B"))),
            Field(id="who", label="Not with", kind="people", options=PEOPLE),
            Field(id="rate", label="Rate", kind="one", options=tuple((n, n) for n in "12345")),
            Field(id="own", label="Own words", kind="long", initial=("x",), required=False),
        ),
    )
    card = message_to_card(Message(key="k", target=ToPerson(ANA.key), blocks=(form,)))
    inputs = check_inputs(card)
    assert list(inputs) == [
        "field:name",
        "field:areas",
        "field:kind",
        "field:many",
        "field:who",
        "field:rate",
        "field:own",
    ]
    assert inputs["field:areas"]["isMultiline"] is True
    assert inputs["field:kind"]["style"] == "expanded" and not inputs["field:kind"]["isMultiSelect"]
    assert inputs["field:many"]["isMultiSelect"] and inputs["field:many"]["style"] == "expanded"
    who = inputs["field:who"]
    assert who["isMultiSelect"] and who["style"] == "compact"  # six people: a drop-down
    assert who["choices"][0] == {"title": "Ben", "value": "29:0"}
    assert inputs["field:rate"]["style"] == "expanded"
    assert inputs["field:own"]["value"] == "x" and inputs["field:own"]["isRequired"] is False
    (submit,) = [a for e in card_elements(card) for a in e.get("actions", [])]
    assert submit["type"] == "Action.Submit" and submit["title"] == "Save"
    assert submit["data"] == {
        "circles": "fields",
        "action": "intake",
        "value": "7",
        "fields": ["name", "areas", "kind", "many", "who", "rate", "own"],
        "multi": ["many", "who"],
    }


async def programmes(bot: TeamsBot) -> list[Any]:
    async with bot.uow() as uow:
        return await uow.programmes.find()


async def test_the_programme_and_intake_forms_through_the_endpoint(bot: TeamsBot) -> None:
    for member in EVERYONE:
        await bot.dm(member, "hours 00:00-24:00 mon-sun")
    await bot.dm(ANA, "programme new")
    good = {
        "field:name": "New Leads",
        "field:areas": "feedback, delegation, hiring",
        "field:kind": "mastermind",
        "field:emphasis": "balanced",
    }
    card = await bot.fill_form(ANA, {**good, "field:kind": "quartet", "field:size": "1"})
    assert "field:name" in check_inputs(card)
    refused = bot.inbox(ANA)[-1]
    assert refused.startswith("Nothing was saved; please check these answers.")
    assert "Kind: “quartet” is not a kind of circle" in refused
    assert "Circle size: “1”: sizes go from 2" in refused
    assert await programmes(bot) == []

    await bot.fill_form(ANA, good)
    assert bot.inbox(ANA)[-1].startswith("Created the programme New Leads: circles of")
    assert [p.name for p in await programmes(bot)] == ["New Leads"]

    await bot.command(ANA, "programme invite {0} {1}", BEN, CHEN)
    managers = len(bot.inbox(ANA))
    await bot.press(BEN, "Fill in your intake")
    intake = {
        "field:wants": "delegation,hiring",
        "field:offers": "",
        "field:function": "Sales",
        "field:experience": "5-10y",
        "field:preference": "none",
        "field:not_with": CHEN.user,
        "field:rating:0": "2",
        "field:rating:1": "3",
        "field:rating:2": "9",
    }
    card = await bot.fill_form(BEN, intake)
    inputs = check_inputs(card)
    assert [c["title"] for c in inputs["field:not_with"]["choices"]] == ["Chen Wei"]
    assert "numbers from 1 to 5" in bot.inbox(BEN)[-1]
    await bot.fill_form(BEN, {**intake, "field:rating:2": "4"})
    assert "your intake for New Leads is complete" in bot.inbox(BEN)[-1]
    async with bot.uow() as uow:
        (enrolment, _) = sorted(await uow.enrolments.find(), key=lambda e: e.id or 0)
        chen = await uow.people.by_key(CHEN.key)
    assert chen is not None and enrolment.not_with == frozenset({chen.id})
    assert enrolment.wants == ("delegation", "hiring") and enrolment.offers == ()
    assert enrolment.ratings == (2, 3, 4)
    # Changing it: the card comes prefilled, the private list for its author alone.
    await bot.press(BEN, "Fill in your intake")
    again = check_inputs(await bot.fill_form(BEN, {}))
    assert again["field:not_with"]["value"] == CHEN.user
    assert again["field:wants"]["value"] == "delegation,hiring"
    assert len(bot.inbox(ANA)) == managers  # nothing of Ben's intake reaches the manager
    assert all("Ben" not in text for text in bot.inbox(CHEN)[1:])
