"""The playground's forms through its HTTP API (SPEC §13, §15): `programme new`, the intake
button, the midpoint's "Anything in the way?" and the end survey's button show a `Form`,
its answers go to `/playground/api/fields`, a bad field is answered in the DM by its label
with nothing stored, and a request for a form nobody was shown gets a 400."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.pulses import PulseKind
from storage.db import Database
from storage.uow import SqlUnitOfWorkFactory
from tests.test_playground import inbox, playground

Json = dict[str, Any]
AREAS = "feedback, delegation, coaching"


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


async def test_the_midpoint_and_end_survey_forms_through_the_api(sqlite_engine: Database) -> None:
    """#cohort in a two-session programme: session 1 is the midpoint, session 2 the end."""
    async with playground(sqlite_engine) as visitor:
        await visitor.post("reset", member="ana", blank=True)
        await visitor.post("cohort", member="ana")
        for text in (
            f"programme new Spring Mentoring areas {AREAS} schedule weekly on tue at 10:00"
            " for 2 sessions",
            "programme invite #cohort",
        ):
            await visitor.post("command", member="ana", text=text)
        await visitor.post("intakes", member="ana")
        for text in ("programme match", "programme launch"):
            await visitor.post("command", member="ana", text=text)

        async def circle_one() -> Json:
            """Circle 1 as its home shows it: its members and its open session."""
            home = await visitor.client.get(
                "/playground/api/state", params={"member": "ana", "channel": "#spring-mentoring-1"}
            )
            state: Json = (await home.json())["state"]
            return state

        async def sees(text: str) -> bool:
            return any(text in t for t in inbox(await visitor.state(who)))

        async def step_until(step: str, done: Callable[[], Awaitable[bool]]) -> None:
            """Move the clock (the circles' zones differ) until `done()`."""
            for _ in range(60):
                if await done():
                    return
                await visitor.post("clock", member="ana", step=step)
            raise AssertionError(f"still waiting after stepping by {step!r}")

        async def open_session() -> int | None:
            number: int | None = (await circle_one())["channel"]["circle"]["open_session"]
            return number

        who = next(m["id"] for m in (await circle_one())["members"] if m["role"] == "member")
        assert await pulses(sqlite_engine, who) == []

        # Session 1, the midpoint: a check-in, then the pulse once it has closed.
        await step_until("open", lambda: _is(open_session(), 1))
        await visitor.post("command", member=who, where="dm", text="checkin Tried the model")
        await step_until("close", lambda: _is(open_session(), None))
        await step_until("hour", lambda: sees("Halfway · Spring Mentoring"))
        await visitor.click(who, "Anything in the way?")
        ref, form = newest_form(await visitor.state(who))
        assert (form["title"], form["action"]) == ("Halfway", "pulse")
        fields = {f["id"]: f for f in form["fields"]}
        assert [f["kind"] for f in fields.values()] == ["one", "long", "many"]
        assert [o["value"] for o in fields["score"]["options"]] == list("12345")
        assert fields["score"]["label"].startswith("How useful is Spring Mentoring 1 for you?")
        assert [o["label"] for o in fields["shared"]["options"]] == [
            "Share it anonymously with the programme team"
        ]
        good = {"score": ["4"], "note": ["Our slot clashes with planning"], "shared": ["shared"]}

        async def fill(ref: str, form: Json, answers: Json) -> str:
            sent = {"post": ref, "action": form["action"], "value": form["value"]}
            state = (await visitor.post("fields", member=who, **sent, answers=answers))["state"]
            return inbox(state)[-1]

        for bad in ({**good, "score": ["9"]}, {"note": good["note"]}):
            refused = await fill(ref, form, bad)
            assert refused.startswith("Nothing was saved; please check these answers.")
            assert f"{fields['score']['label']}: Pick how useful your circle is" in refused
            assert await pulses(sqlite_engine, who) == [(None, "", False)]
        assert "Thanks — noted 4/5 for Spring Mentoring 1 at its midpoint." in await fill(
            ref, form, good
        )
        assert await pulses(sqlite_engine, who) == [(4, "Our slot clashes with planning", True)]

        # Session 2 ends the circle: the end survey, by its button.
        await step_until("day", lambda: sees("Fill in the end survey"))
        await visitor.click(who, "Fill in the end survey")
        ref, form = newest_form(await visitor.state(who))
        assert (form["title"], form["action"]) == ("End survey", "survey")
        fields = {f["id"]: f for f in form["fields"]}
        assert list(fields) == [
            "rating:0",
            "rating:1",
            "rating:2",
            "changed",
            "shared",
            "recommend",
        ]
        assert [o["value"] for o in fields["recommend"]["options"]] == [str(n) for n in range(11)]
        survey = {
            "rating:0": ["4"],
            "rating:1": ["3"],
            "rating:2": ["5"],
            "changed": ["I ask before I advise"],
            "shared": ["shared"],
            "recommend": ["8"],
        }
        refused = await fill(ref, form, {**survey, "rating:2": ["6"], "recommend": []})
        assert refused.startswith("Nothing was saved; please check these answers.")
        assert f"{fields['rating:2']['label']}: " in refused and "numbers from 1 to 5" in refused
        assert f"{fields['recommend']['label']}: " in refused
        assert await surveys(sqlite_engine, who) == [(None, (), "")]
        assert "your end survey for Spring Mentoring is in" in await fill(ref, form, survey)
        assert await surveys(sqlite_engine, who) == [(8, (4, 3, 5), "I ask before I advise")]


async def _is(value: Awaitable[int | None], expected: int | None) -> bool:
    return await value == expected


async def person_id(uow: Any, member: str) -> int | None:
    people = await uow.people.find(platform="local")
    found: int | None = next(p.id for p in people if p.key.user == member)
    return found


async def pulses(engine: Database, member: str) -> list[tuple[int | None, str, bool]]:
    """The member's midpoint answers, as the managers' digest and the dashboard read them."""
    async with SqlUnitOfWorkFactory(engine)() as uow:
        found = await uow.pulses.find(
            person_id=await person_id(uow, member), kind=PulseKind.MIDPOINT
        )
    return [(p.score, p.note, p.shared) for p in found]


async def surveys(engine: Database, member: str) -> list[tuple[int | None, tuple[int, ...], str]]:
    async with SqlUnitOfWorkFactory(engine)() as uow:
        found = await uow.surveys.find(person_id=await person_id(uow, member))
    return [(s.recommend, s.ratings, s.changed) for s in found]
