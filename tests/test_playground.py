"""The playground through its HTTP API: a whole session, as a visitor would play it (SPEC §11).

A real aiohttp server on a loopback socket, the real core and database, the
local world and a fake clock: the visitor acts as Ana, Ben, Chen and Dara,
moves the clock, and reads what each of them sees. Bad requests get a 400
with a clear message and change nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import Table, func, insert, select

from adapters.local.playground import (
    BODY_LIMIT,
    START,
    STATIC,
    TEXT_LIMIT,
    Playground,
    block_to_json,
)
from adapters.server import create_app
from bot.messages import Authored, Choice, Choices, Name, Paragraph, Strong, TextInput
from storage.db import Database
from storage.tables import PersonRow

Json = dict[str, Any]


class Visitor:
    """The page's side of the API, with finders for what a member sees."""

    def __init__(self, client: TestClient[Any, Any]) -> None:
        self.client = client

    async def state(self, member: str = "ana") -> Json:
        response = await self.client.get("/playground/api/state", params={"member": member})
        assert response.status == 200, await response.text()
        state: Json = (await response.json())["state"]
        return state

    async def post(self, path: str, **body: Any) -> Json:
        response = await self.client.post(f"/playground/api/{path}", json=body)
        payload: Json = await response.json()
        assert response.status == 200, payload
        return payload

    async def refused(self, path: str, body: Any, *, raw: bool = False) -> str:
        if raw:
            response = await self.client.post(
                f"/playground/api/{path}", data=body, headers={"Content-Type": "application/json"}
            )
        else:
            response = await self.client.post(f"/playground/api/{path}", json=body)
        assert response.status == 400, await response.text()
        error: str = (await response.json())["error"]
        return error

    async def click(self, member: str, label: str) -> Json:
        """Press the newest button with this label in the member's DMs."""
        state = await self.state(member)
        for post in reversed(state["dms"]):
            for block in post["blocks"]:
                for choice in block.get("choices", []):
                    if choice["label"] == label:
                        return await self.post(
                            "choice",
                            member=member,
                            post=post["ref"],
                            action=choice["action"],
                            value=choice["value"],
                        )
        raise AssertionError(f"{member} has no {label!r} button")

    async def fill(self, member: str, action: str, text: str) -> Json:
        """Answer the newest text box of this kind in the member's DMs."""
        state = await self.state(member)
        for post in reversed(state["dms"]):
            for block in post["blocks"]:
                if block["type"] == "input" and block["action"] == action:
                    return await self.post(
                        "form",
                        member=member,
                        post=post["ref"],
                        action=action,
                        value=block["value"],
                        text=text,
                    )
        raise AssertionError(f"{member} has no {action!r} text box")


def words(post: Json) -> str:
    """A post as plain text: a person's words, or the bot's blocks run together."""
    if post.get("text") is not None:
        return str(post["text"])
    parts: list[str] = []
    for block in post["blocks"]:
        if "text" in block:
            parts.append(block["text"])
        parts.append("".join(run["text"] for run in block.get("spans", [])))
        for item in block.get("items", []):
            parts.append(item["label"] + ": " + "".join(r["text"] for r in item["spans"]))
        parts.extend(c["label"] for c in block.get("choices", []))
    return " ".join(parts)


def kickoffs(state: Json) -> list[Json]:
    return [p for p in state["channel"]["posts"] if p["kind"] == "kickoff"]


def inbox(state: Json) -> list[str]:
    return [words(p) for p in state["dms"] if p["author"] is None]


@asynccontextmanager
async def playground(engine: Database) -> AsyncIterator[Visitor]:
    app = create_app(mounts=[Playground.create(engine)])
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield Visitor(client)


async def test_the_page_and_its_files_are_served_with_a_strict_policy(
    sqlite_engine: Database,
) -> None:
    async with playground(sqlite_engine) as visitor:
        page = await visitor.client.get("/")
        assert page.status == 200
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        html = await page.text()
        assert "/playground/static/app.js" in html and "/playground/static/app.css" in html
        for name in ("app.js", "app.css"):
            asset = await visitor.client.get(f"/playground/static/{name}")
            assert asset.status == 200
    script = (STATIC / "app.js").read_text("utf-8")
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script


async def test_the_seed_is_a_circle_ready_to_start(engine: Database) -> None:
    async with playground(engine) as visitor:
        state = await visitor.state("ana")
        assert [m["name"] for m in state["members"]] == ["Ana", "Ben", "Chen", "Dara"]
        assert [m["role"] for m in state["members"]] == [
            "organiser",
            "member",
            "member",
            "member",
        ]
        assert state["clock"]["utc"] == START.isoformat()
        assert state["clock"]["local_label"] == "Mon 23 Nov, 09:00"
        assert state["clock"]["zone"] == "Europe/Berlin"
        assert state["clock"]["next_open"] == "Tue 24 Nov, 09:00"
        assert state["channel"]["circle"]["name"] == "Growth Circle"
        typed = [p["typed"] for p in state["channel"]["posts"] if p["kind"] == "ephemeral"]
        assert typed[1] == "/circle invite @Ben @Chen @Dara"
        ben = await visitor.state("ben")
        assert ben["clock"]["local_label"] == "Mon 23 Nov, 03:00"
        assert ben["clock"]["working"] is False
        assert inbox(ben) == [], "03:00 in New York: his welcome waits for his morning"
        assert ben["channel"]["posts"] == [], "Ana's private answers are hers alone"
        for _ in range(6):
            await visitor.post("clock", member="ben", step="hour")
        ben = await visitor.state("ben")
        assert ben["clock"]["local_label"] == "Mon 23 Nov, 09:00"
        assert any("Welcome to Growth Circle" in text for text in inbox(ben))
        assert "in America/New_York" in inbox(ben)[0]  # the profile's zone, not UTC


async def test_a_whole_session_and_the_next_review_through_the_api(engine: Database) -> None:
    async with playground(engine) as visitor:
        # Everyone agrees to the ground rules: the welcome's button (it reaches Chen at
        # 17:00 in Tokyo), or a plain `agree` by DM before theirs has arrived in the night.
        await visitor.post("dm", member="ben", text="agree")
        await visitor.click("chen", "I agree")
        await visitor.post("dm", member="dara", text="agree")
        assert "Thank you for agreeing" in inbox(await visitor.state("chen"))[-1]

        moved = await visitor.post("clock", member="ana", step="open")
        state = moved["state"]
        assert state["clock"]["local_label"] == "Tue 24 Nov, 09:00"
        kickoff = kickoffs(state)[0]
        assert "Session 1 · Growth Circle" in words(kickoff)
        assert any(
            {"to": "channel", "title": "Session 1 · Growth Circle"}.items() <= item.items()
            for item in moved["happened"]
        )
        ben_now = await visitor.state("ben")
        assert not any("in the hot seat" in t for t in inbox(ben_now)), "03:00 in New York: held"

        # Ana answers her check-in in the text box; it appears in the thread.
        await visitor.fill("ana", "checkin", "I want to give clearer feedback.")
        thread = kickoffs(await visitor.state("ana"))[0]["replies"]
        assert "I want to give clearer feedback." in words(thread[-1])

        # The clock moves to New York's morning: Ben's prompts arrive then.
        for _ in range(6):
            await visitor.post("clock", member="ben", step="hour")
        ben_now = await visitor.state("ben")
        assert ben_now["clock"]["local_label"] == "Tue 24 Nov, 09:00"
        assert any("You're in the hot seat" in t for t in inbox(ben_now))
        await visitor.post("dm", member="ben", text="Three weeks as a lead; still listening.")
        await visitor.fill("ben", "hot_seat", "How do I say no to my own manager?")
        thread = kickoffs(await visitor.state("chen"))[0]["replies"]
        assert any("Hot seat: Ben" in words(p) for p in thread)
        assert any("Ben is in the hot seat" in t for t in inbox(await visitor.state("ana")))
        assert not any("Ben is in the hot seat" in t for t in inbox(await visitor.state("chen")))

        await visitor.post(
            "reply", member="chen", thread=kickoff["ref"], text="Offer a trade-off, not a no."
        )
        await visitor.post(
            "dm", member="chen", text="Moving into product; learning to tell stories."
        )
        await visitor.post("command", member="dara", text="/circle checkin Raised my rate once.")
        await visitor.post(
            "command", member="ana", where="dm", text="commit Give one direct piece of feedback"
        )
        await visitor.post("dm", member="ben", text="commit Book 1:1s with all five reports")

        # Commitment prompts arrive at 0.6 of the window; Chen answers hers in the box.
        await visitor.post("clock", member="chen", step="day")
        await visitor.post("clock", member="chen", step="day")
        await visitor.fill("chen", "commit", "Present the churn analysis.")

        closed = await visitor.post("clock", member="ana", step="close")
        thread = kickoffs(closed["state"])[0]["replies"]
        summary = words(thread[-1])
        assert "Summary · Growth Circle, session 1" in summary
        assert "Checked in: 4 of 4" in summary
        assert "Hot seat: Ben · 1 response" in summary
        assert "Give one direct piece of feedback" in summary
        assert "Present the churn analysis." in summary
        assert any(item["to"] == "thread" for item in closed["happened"])

        # Session 2: the review asks about last time's commitment, with choices.
        await visitor.post("clock", member="ana", step="open")
        assert any(
            "Give one direct piece of feedback" in t for t in inbox(await visitor.state("ana"))
        )
        await visitor.click("ana", "Done")
        ana = await visitor.state("ana")
        # The answered review shows its outcome where its buttons were.
        assert any("Marked ✅ done. Thanks!" in t for t in inbox(ana))
        [review] = [p for p in ana["dms"] if "Review · Growth Circle" in words(p)]
        assert not [c for b in review["blocks"] for c in b.get("choices", [])]
        await visitor.fill("ana", "checkin", "Feedback went well.")
        second = kickoffs(await visitor.state("ben"))[1]["replies"]
        assert any("Feedback went well." in words(p) and "✅" in words(p) for p in second)


async def test_a_dm_can_reply_to_one_of_the_bots_dms(sqlite_engine: Database) -> None:
    """As in a Slack DM thread or a Teams quote: the reply answers that DM's prompt."""
    async with playground(sqlite_engine) as visitor:
        await visitor.post("dm", member="ben", text="agree")  # before his welcome arrives
        await visitor.post("clock", member="ana", step="open")
        for _ in range(6):  # to 09:00 in New York, when Ben's prompts arrive
            await visitor.post("clock", member="ben", step="hour")
        state = await visitor.state("ben")
        [hot_seat] = [
            p["ref"]
            for p in state["dms"]
            if "You're in the hot seat" in words(p) and not p["author"]
        ]

        text = "How do I say no to my own manager?"
        state = (await visitor.post("dm", member="ben", text=text, replying_to=hot_seat))["state"]
        [mine] = [p for p in state["dms"] if p["text"] == text]
        assert mine["replying_to"] == hot_seat
        posted = words(kickoffs(state)[0]["replies"][-1])
        assert posted.startswith("🔥 Hot seat: Ben") and text in posted  # not his check-in


async def test_commands_in_the_channel_are_answered_to_the_caller_only(
    sqlite_engine: Database,
) -> None:
    async with playground(sqlite_engine) as visitor:
        state = (await visitor.post("command", member="ben", text="status"))["state"]
        answer = state["channel"]["posts"][-1]
        assert answer["kind"] == "ephemeral" and answer["typed"] == "/circle status"
        assert "Growth Circle" in words(answer)
        assert not any(
            p["typed"] == "/circle status"
            for p in (await visitor.state("ana"))["channel"]["posts"]
            if p["kind"] == "ephemeral"
        )

        # A command typed in the DM is answered there, through the outbox.
        state = (await visitor.post("command", member="ben", where="dm", text="mine"))["state"]
        assert state["dms"][-2]["text"] == "mine"
        assert state["dms"][-1]["author"] is None

        # `@Name` is a mention; not allowed is answered privately and changes nothing.
        state = (await visitor.post("command", member="ben", text="remove @Dara"))["state"]
        assert "organiser" in words(state["channel"]["posts"][-1])
        roles = [m["role"] for m in (await visitor.state("ana"))["members"]]
        assert roles == ["organiser", "member", "member", "member"]


async def test_dara_administers_the_playground_so_health_answers_her_alone(
    sqlite_engine: Database,
) -> None:
    async with playground(sqlite_engine) as visitor:
        state = (await visitor.post("command", member="dara", text="health"))["state"]
        assert "Growth Circle" in words(state["channel"]["posts"][-1])
        state = (await visitor.post("command", member="chen", text="health"))["state"]
        assert "admins" in words(state["channel"]["posts"][-1])


async def test_member_text_travels_as_inert_authored_runs(sqlite_engine: Database) -> None:
    hostile = '<img src=x onerror="alert(1)"> <!channel> **bold** `code`'
    async with playground(sqlite_engine) as visitor:
        await visitor.click("chen", "I agree")
        await visitor.post("clock", member="ana", step="open")
        await visitor.fill("ana", "checkin", hostile)
        post = kickoffs(await visitor.state("ben"))[0]["replies"][-1]
        runs = [run for block in post["blocks"] for run in block.get("spans", [])]
        assert {"kind": "authored", "text": hostile} in runs
        assert {"kind": "name", "text": "Ana"} in runs


def test_blocks_become_small_json_trees() -> None:
    assert block_to_json(
        Paragraph(("Hi ", Name("Ana"), ", ", Strong("look"), Authored("<b>")))
    ) == {
        "type": "paragraph",
        "spans": [
            {"kind": "plain", "text": "Hi "},
            {"kind": "name", "text": "Ana"},
            {"kind": "plain", "text": ", "},
            {"kind": "strong", "text": "look"},
            {"kind": "authored", "text": "<b>"},
        ],
    }
    assert block_to_json(Choices((Choice("Done", "review", "3:done", "primary"),))) == {
        "type": "choices",
        "choices": [{"label": "Done", "action": "review", "value": "3:done", "style": "primary"}],
    }
    assert block_to_json(TextInput("checkin", "1", "Your check-in"))["type"] == "input"


async def test_a_too_long_answer_reaches_the_core_and_is_refused_kindly(
    sqlite_engine: Database,
) -> None:
    async with playground(sqlite_engine) as visitor:
        await visitor.post("clock", member="ana", step="open")
        long = "x" * 3001
        state = (await visitor.post("dm", member="ana", text=long))["state"]
        answer = words(state["dms"][-1])
        assert "3,000" in answer and long in answer  # echoed back so nothing is lost


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("dm", {"member": "zoe", "text": "hi"}, "Unknown member 'zoe'"),
        ("dm", {"member": "ana"}, '"text" must be a non-empty string'),
        ("dm", {"member": "ana", "text": "   "}, '"text" must be a non-empty string'),
        ("dm", {"member": "ana", "text": 42}, '"text" must be a non-empty string'),
        ("dm", {"member": "ana", "text": "x" * (TEXT_LIMIT + 1)}, "at most 4,000"),
        (
            "dm",
            {"member": "ana", "text": "hi", "replying_to": "local-999"},
            "no message 'local-999' to reply to",
        ),
        ("command", {"member": "ana", "text": "status", "where": "space"}, '"where" must be'),
        ("reply", {"member": "ana", "thread": "local-999", "text": "hi"}, "no thread"),
        (
            "choice",
            {"member": "chen", "post": "local-2", "action": "forget", "value": "confirm"},
            "no such button",
        ),
        (
            "choice",
            {"member": "ana", "post": "local-999", "action": "agree", "value": "1"},
            "no message",
        ),
        (
            "form",
            {"member": "ana", "post": "local-2", "action": "checkin", "value": "1", "text": "hi"},
            "no message",
        ),
        ("clock", {"member": "ana", "step": "week"}, '"step" must be one of'),
        ("clock", {"member": "ana", "step": "close"}, "No session is open"),
        ("reset", {"blank": "yes"}, '"blank" must be true or false'),
    ],
)
async def test_bad_requests_get_400_and_change_nothing(
    sqlite_engine: Database, path: str, body: Json, message: str
) -> None:
    async with playground(sqlite_engine) as visitor:
        await visitor.state("chen")  # reading marks Chen's DMs as read: done before the snapshot
        before = {m: await visitor.state(m) for m in ("ana", "chen")}
        assert message in await visitor.refused(path, body)
        assert {m: await visitor.state(m) for m in ("ana", "chen")} == before


async def test_malformed_bodies_and_unknown_members_get_400(sqlite_engine: Database) -> None:
    async with playground(sqlite_engine) as visitor:
        before = await visitor.state("ana")
        assert "not valid JSON" in await visitor.refused("dm", b"{not json", raw=True)
        assert "JSON object" in await visitor.refused("dm", b"[1, 2]", raw=True)
        huge = b'{"member": "ana", "text": "' + b"x" * BODY_LIMIT + b'"}'
        assert "over 16,384 bytes" in await visitor.refused("dm", huge, raw=True)
        plain = await visitor.client.post("/playground/api/dm", data="member=ana&text=hi")
        assert plain.status == 400
        assert "Content-Type: application/json" in (await plain.json())["error"]
        unknown = await visitor.client.get("/playground/api/state", params={"member": "eve"})
        assert unknown.status == 400
        assert "Unknown member 'eve'" in (await unknown.json())["error"]
        assert await visitor.state("ana") == before


async def test_reset_brings_back_the_start_or_a_blank_workspace(sqlite_engine: Database) -> None:
    async with playground(sqlite_engine) as visitor:
        await visitor.click("chen", "I agree")
        await visitor.post("clock", member="ana", step="open")
        await visitor.post("clock", member="ana", step="day")
        state = (await visitor.post("reset", member="chen"))["state"]
        assert state["member"] == "chen"
        assert state["clock"]["utc"] == START.isoformat()
        assert kickoffs(state) == []
        assert len(state["dms"]) == 1  # the welcome again, and nothing else
        blank = (await visitor.post("reset", blank=True))["state"]
        assert blank["channel"]["circle"] is None and blank["channel"]["posts"] == []
        assert "No session is scheduled" in await visitor.refused(
            "clock", {"member": "ana", "step": "open"}
        )
        created = (await visitor.post("command", member="dara", text="create Night Owls"))["state"]
        assert created["channel"]["circle"]["name"] == "Night Owls"


async def test_it_refuses_to_empty_a_database_that_holds_platform_data(
    sqlite_engine: Database,
) -> None:
    people: Table = PersonRow.__table__  # type: ignore[attr-defined]
    async with sqlite_engine.begin() as conn:
        await conn.execute(
            insert(people).values(
                platform="slack", workspace="T1", user="U1", name="Real", tz="UTC", hours="x"
            )
        )
    with pytest.raises(RuntimeError, match="give it one of its own"):
        await Playground.create(sqlite_engine).reset()
    async with sqlite_engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(people)) == 1


def test_the_static_files_are_where_the_server_looks() -> None:
    assert {p.name for p in Path(STATIC).iterdir()} >= {"index.html", "app.css", "app.js"}


async def test_a_programme_runs_in_the_playground_through_its_channels(
    sqlite_engine: Database,
) -> None:
    """#cohort, invited by channel after a reset (the core's `Spaces` follow the new world),
    matched, launched into channels of their own that the page lists and opens."""
    async with playground(sqlite_engine) as visitor:
        await visitor.post("reset", member="ana", blank=True)
        added = await visitor.post("cohort", member="ana")
        assert added["state"]["channels"] == [
            {"name": "#circle", "members": 4},
            {"name": "#cohort", "members": 24},
        ]
        assert len(added["state"]["members"]) == 28
        assert "already here" in await visitor.refused("cohort", {"member": "ana"})
        assert "invite it first" in await visitor.refused("intakes", {"member": "ana"})

        async def run(text: str, channel: str = "#circle") -> str:
            state = (await visitor.post("command", member="ana", text=text, channel=channel))[
                "state"
            ]
            return words(state["channel"]["posts"][-1])

        await run("programme new Spring Mentoring areas feedback, delegation, coaching, strategy")
        assert "Invited Amara, Bruno" in await run("programme invite #cohort")
        assert (await visitor.state())["cohort"] == {"here": True, "intakes": 24}
        waiting = await visitor.post("intakes", member="ana")
        assert waiting["state"]["cohort"] == {"here": True, "intakes": 0}
        assert (
            "your intake for Spring Mentoring is complete" in inbox(await visitor.state("yara"))[-1]
        )
        proposal = await run("programme match")
        assert "A random grouping of the same people" in proposal
        assert "shared working hours a week" in proposal
        launched = await run("programme launch")
        assert "Launched Spring Mentoring" in launched

        state = await visitor.state()
        homes = [c["name"] for c in state["channels"] if c["name"].startswith("#spring")]
        assert homes == [f"#spring-mentoring-{n}" for n in range(1, len(homes) + 1)]
        assert sum(c["members"] for c in state["channels"] if c["name"] in homes) == 24
        for _ in homes:
            await visitor.post("clock", member="ana", step="open")
        for home in homes:
            response = await visitor.client.get(
                "/playground/api/state", params={"member": "ana", "channel": home}
            )
            seen = (await response.json())["state"]
            assert seen["channel"]["name"] == home
            assert seen["channel"]["circle"]["name"] == f"Spring Mentoring {home[-1]}"
            assert [words(k)[:30] for k in kickoffs(seen)] == [
                f"Session 1 · Spring Mentoring {home[-1]}"[:30]
            ]
        refused = await visitor.refused(
            "command", {"member": "ana", "text": "status", "channel": "#nowhere"}
        )
        assert refused.startswith("There is no channel '#nowhere' here")

        # Reset, pressed as Yara, takes her and the launched channels away: the page
        # falls back to Ana in #circle.
        reset = await visitor.post("reset", member="yara", channel=homes[0])
        assert (reset["state"]["member"], reset["state"]["channel"]["name"]) == ("ana", "#circle")
        assert "Unknown member 'yara'" in await visitor.refused(
            "dm", {"member": "yara", "text": "hi"}
        )
        response = await visitor.client.get(
            "/playground/api/state", params={"member": "ana", "channel": homes[0]}
        )
        after = (await response.json())["state"]
        assert after["channel"]["name"] == "#circle"
        assert [c["name"] for c in after["channels"]] == ["#circle"]
