"""The playground's forms through its HTTP API (SPEC §13): `programme new` and the intake
button show a `Form`, its answers go to `/playground/api/fields`, a bad field is answered
in the DM with nothing stored, and a request for a form nobody was shown gets a 400."""

from __future__ import annotations

from typing import Any

from storage.db import Database
from storage.uow import SqlUnitOfWorkFactory
from tests.test_playground import inbox, playground

Json = dict[str, Any]


def newest_form(state: Json) -> tuple[str, Json]:
    for post in reversed(state["dms"]):
        for block in post["blocks"]:
            if block["type"] == "form":
                return post["ref"], block
    raise AssertionError("no form in the DMs")


async def programme_names(engine: Database) -> list[str]:
    async with SqlUnitOfWorkFactory(engine)() as uow:
        return [p.name for p in await uow.programmes.find()]


async def test_programme_and_intake_forms_through_the_api(sqlite_engine: Database) -> None:
    async with playground(sqlite_engine) as visitor:
        state = (await visitor.post("command", member="ana", where="dm", text="programme new"))[
            "state"
        ]
        ref, form = newest_form(state)
        assert form["title"] == "New programme" and form["action"] == "programme"
        kinds = {f["id"]: f["kind"] for f in form["fields"]}
        assert kinds["name"] == "short" and kinds["kind"] == "one" and kinds["areas"] == "long"
        good = {"name": ["New Leads"], "areas": ["feedback, delegation, hiring"]}

        async def fill(member: str, ref: str, form: Json, answers: Json) -> Json:
            sent = {"post": ref, "action": form["action"], "value": form["value"]}
            state: Json = (await visitor.post("fields", member=member, **sent, answers=answers))[
                "state"
            ]
            return state

        state = await fill("ana", ref, form, {**good, "emphasis": ["luck"]})
        assert "Nothing was saved" in inbox(state)[-1] and "not an emphasis" in inbox(state)[-1]
        assert await programme_names(sqlite_engine) == []
        state = await fill("ana", ref, form, good)
        assert "Created the programme New Leads" in inbox(state)[-1]
        assert await programme_names(sqlite_engine) == ["New Leads"]

        # A form that was never shown, or answers for fields it does not have: 400.
        fake = {"post": ref, "action": "intake", "value": "1", "answers": {}}
        assert "no such form" in await visitor.refused("fields", {"member": "ana", **fake})
        wrong = {"post": ref, "action": "programme", "value": "new", "answers": {"x": ["1"]}}
        assert "field ids" in await visitor.refused("fields", {"member": "ana", **wrong})
        assert "no message" in await visitor.refused("fields", {"member": "ben", **wrong})

        await visitor.post("command", member="ana", text="programme invite @Ben @Chen")
        await visitor.post("clock", member="ana", step="day")
        state = await visitor.click("ben", "Fill in your intake")
        ref, form = newest_form(await visitor.state("ben"))
        fields = {f["id"]: f for f in form["fields"]}
        assert [o["label"] for o in fields["not_with"]["options"]] == ["Chen"]
        intake = {
            "wants": ["delegation"],
            "function": ["Sales"],
            "experience": ["2-5y"],
            "preference": ["none"],
            "not_with": ["chen"],
            "rating:0": ["2"],
            "rating:1": ["3"],
            "rating:2": ["4"],
        }
        state = await fill("ben", ref, form, {**intake, "experience": ["ancient"]})
        assert "“ancient” is not one of" in inbox(state)[-1]
        state = await fill("ben", ref, form, intake)
        assert "your intake for New Leads is complete" in inbox(state)[-1]
        await visitor.click("ben", "Fill in your intake")
        _, again = newest_form(await visitor.state("ben"))
        assert {f["id"]: f["initial"] for f in again["fields"]}["not_with"] == ["chen"]
