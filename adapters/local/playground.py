"""The local playground: the real core in a web page, on a simulated clock (SPEC §11).

`circles serve` without platform credentials mounts this at `/`. A visitor acts
as any of four people, sees the circle's channel with its session threads and
each person's DMs, types commands and replies, clicks the same choices Slack
and Teams show, and moves the clock on to watch prompts, nudges and summaries
arrive. For a programme (SPEC §13), #cohort brings two dozen more people; the
core's `Spaces` are the world's channels, so `programme invite #cohort` reads
its members and `programme launch` opens a channel per circle, which the page
lists and opens like #circle. It is the local adapter's two translations, like the Slack and Teams
ones: a JSON request becomes a neutral event (`request_to_event`-style
handlers below), and a delivered neutral message becomes a small JSON tree
(`message_to_json`) that the page turns into DOM nodes with `textContent`
only, so member text can never become markup.

The playground owns its database: it starts from an empty one and `reset`
empties it again (the in-memory `LocalWorld` holds the platform ids the
outbox refers to, so a database cannot outlive it). Give it an engine of its
own, already migrated, and run no scheduler or delivery worker on it: the
`Simulation` does their work on the fake clock.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import delete, func, select

from adapters.bootstrap import bootstrap
from adapters.clock import FakeClock
from adapters.local.personas import CAST, COHORT, COHORT_CHANNEL, WORKSPACE, Persona
from adapters.local.simulation import Simulation
from adapters.local.spaces import LocalSpaces
from adapters.local.world import Arrival, LocalWorld, Post
from bot.circles import Circle, CircleStatus
from bot.context import Config
from bot.core import Core, Outcome
from bot.events import (
    ChoiceMade,
    CommandIssued,
    DirectMessage,
    FormFilled,
    FormSubmitted,
    InboundEvent,
    ProfileUpdated,
    ThreadReply,
)
from bot.keys import thread_root
from bot.messages import (
    Authored,
    Block,
    Choices,
    Context,
    Document,
    Fields,
    Form,
    Heading,
    Name,
    Paragraph,
    Quote,
    Span,
    Strong,
    TextInput,
    plain_text,
)
from bot.programmes.model import ProgrammeStatus
from bot.sessions import SessionStatus
from storage.db import Database
from storage.tables import PersonRow, metadata
from storage.uow import SqlUnitOfWorkFactory

log = logging.getLogger(__name__)

CHANNEL_NAME = "#circle"
CHANNEL = f"local:{WORKSPACE}:{CHANNEL_NAME}"
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday, 09:00 in Berlin
STATIC = Path(__file__).parent / "static"
API = "/playground/api"
PEOPLE = PersonRow.__table__  # type: ignore[attr-defined]

TEXT_LIMIT = 4000  # above the core's 3,000, so its own kind refusal can be seen
BODY_LIMIT = 16 * 1024
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


ORGANISER = CAST[0]

# The seeded circle, typed by Ana as a visitor would (the answers stay in her view).
SEED_COMMANDS = (
    "create Growth Circle",
    "invite @Ben @Chen @Dara",
    "schedule weekly on tue at 09:00 tz Europe/Berlin starting 2026-11-24",
)
STEPS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
MENTION = re.compile(r"(?<![\w<])@([A-Za-z]+)\b")
COMMAND_PREFIX = re.compile(r"^\s*/?circle\b\s*", re.IGNORECASE)


class BadRequest(Exception):
    """A request the playground refuses before it reaches the core: nothing changes."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, kw_only=True)
class Ephemeral:
    """A command's private answer, shown in the channel to its caller only (Slack's way)."""

    ref: str
    at: datetime
    user: str
    channel: str
    typed: str
    blocks: tuple[Block, ...]


# --- neutral message -> JSON (`message_to_json`) ---------------------------------------------


def spans_to_json(spans: Iterable[Span]) -> list[dict[str, str]]:
    """Spans as text runs; the page sets each with `textContent`, marking member words."""
    runs: list[dict[str, str]] = []
    for span in spans:
        match span:
            case Authored(text=text):
                runs.append({"kind": "authored", "text": text})
            case Name(text=text):
                runs.append({"kind": "name", "text": text})
            case Strong(text=text):
                runs.append({"kind": "strong", "text": text})
            case str():
                runs.append({"kind": "plain", "text": span})
    return runs


def block_to_json(block: Block) -> dict[str, Any]:
    match block:
        case Heading(text=text):
            return {"type": "heading", "text": text}
        case Paragraph(spans=spans):
            return {"type": "paragraph", "spans": spans_to_json(spans)}
        case Quote(spans=spans):
            return {"type": "quote", "spans": spans_to_json(spans)}
        case Context(spans=spans):
            return {"type": "context", "spans": spans_to_json(spans)}
        case Fields(items=items):
            return {
                "type": "fields",
                "items": [{"label": label, "spans": spans_to_json(v)} for label, v in items],
            }
        case Choices(choices=choices):
            return {
                "type": "choices",
                "choices": [
                    {"label": c.label, "action": c.action, "value": c.value, "style": c.style}
                    for c in choices
                ],
            }
        case TextInput():
            return {
                "type": "input",
                "action": block.action,
                "value": block.value,
                "label": block.label,
                "placeholder": block.placeholder,
                "initial": block.initial,
            }
        case Form():
            return {
                "type": "form",
                **{k: getattr(block, k) for k in ("title", "submit", "action", "value", "intro")},
                "fields": [
                    {
                        "id": f.id,
                        "label": f.label,
                        "kind": f.kind,
                        "options": [{"value": v, "label": label} for v, label in f.options],
                        "initial": list(f.initial),
                        "required": f.required,
                        "hint": f.hint,
                    }
                    for f in block.fields
                ],
            }
        case Document(filename=filename, content=content):
            return {"type": "document", "filename": filename, "content": content}


def message_to_json(blocks: Iterable[Block]) -> list[dict[str, Any]]:
    return [block_to_json(block) for block in blocks]


def _order(ref: str) -> int:
    """World ids are `local-<n>`, handed out in order: they sort posts and private answers."""
    return int(ref.rsplit("-", 1)[1])


def _stamp(moment: datetime, tz: str) -> str:
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"


def _first_line(text: str, limit: int = 90) -> str:
    line = next((line for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


# --- the playground ----------------------------------------------------------------------------


class Playground:
    """The local adapter as a web page: JSON requests in, neutral events to the core."""

    def __init__(
        self,
        *,
        core: Core,
        uow: SqlUnitOfWorkFactory,
        clock: FakeClock,
        spaces: LocalSpaces,
        start: datetime = START,
    ) -> None:
        self.core = core
        self.uow = uow
        self.clock = clock
        self.spaces = spaces  # the core's channels: they follow the world a reset makes
        self._start = start
        self._lock = asyncio.Lock()  # one visitor action at a time: the simulation is sequential
        self._ids = itertools.count(1)  # event ids; never reused, even across resets
        self._new_world()

    @classmethod
    def create(
        cls, engine: Database, *, start: datetime = START, config: Config | None = None
    ) -> Playground:
        """A playground on its own (migrated) database; it is seeded when the app starts."""
        clock = FakeClock(start)
        spaces = LocalSpaces(LocalWorld())
        circles = bootstrap(engine, clock=clock, config=config, spaces=spaces)
        return cls(core=circles.core, uow=circles.uow, clock=clock, spaces=spaces, start=start)

    def _new_world(self) -> None:
        """An empty workspace: the four people in #circle, and the core's `Spaces` on it
        (the core is built once, so its channels must follow the world, not keep the first)."""
        self.world = LocalWorld()
        self.spaces.world = self.world
        self.sim = Simulation(core=self.core, uow=self.uow, clock=self.clock, world=self.world)
        self.people: dict[str, Persona] = {}
        self._by_name: dict[str, Persona] = {}
        self._join(CHANNEL, CAST)
        self._forget()

    def _join(self, channel: str, people: Iterable[Persona]) -> None:
        for persona in people:
            self.people[persona.user] = persona
            self._by_name[persona.name] = persona
            self.world.join(channel, persona.key, persona.name)

    def _forget(self) -> None:
        """What only the page knows: private answers, pressed buttons, sent forms, read DMs."""
        self._ephemeral: list[Ephemeral] = []
        self._chosen: dict[tuple[str, str], str] = {}  # (user, post) -> "action:value"
        self._sent: dict[tuple[str, str, str, str], str] = {}  # (user, post, action, value) -> text
        self._read: dict[str, int] = {}  # user -> DMs seen

    # --- aiohttp ---------------------------------------------------------------------------

    def mount(self, app: web.Application) -> None:
        app.router.add_get("/", self._index)
        app.router.add_static("/playground/static", STATIC, append_version=True)
        app.router.add_get(f"{API}/state", self._get_state)
        for name, action in (
            ("command", self.command),
            ("dm", self.dm),
            ("reply", self.reply),
            ("choice", self.choose),
            ("form", self.submit),
            ("fields", self.fill),
            ("clock", self.advance),
            ("reset", self.reset_request),
            ("cohort", self.add_cohort),
            ("intakes", self.cohort_intakes),
        ):
            app.router.add_post(f"{API}/{name}", self._post(action))
        app.cleanup_ctx.append(self._lifespan)

    async def _lifespan(self, _app: web.Application) -> AsyncIterator[None]:
        await self.reset()
        yield

    async def _index(self, _request: web.Request) -> web.StreamResponse:
        html = (STATIC / "index.html").read_text(encoding="utf-8")
        return web.Response(text=html, content_type="text/html", headers=SECURITY_HEADERS)

    async def _get_state(self, request: web.Request) -> web.Response:
        try:
            user = self._member({"member": request.query.get("member", ORGANISER.user)})
        except BadRequest as error:
            return _error(error)
        async with self._lock:
            channel = self._viewing(request.query.get("channel"))
            return _json({"state": await self.state(user, channel), "happened": []})

    def _post(
        self, action: Callable[[dict[str, Any]], Awaitable[str]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            try:
                body = await _read_json(request)
                async with self._lock:
                    seen = len(self.world.arrivals)
                    user = await action(body)
                    happened = self._happened(self.world.arrivals[seen:], viewer=user)
                    channel = self._viewing(body.get("channel"))
                    return _json({"state": await self.state(user, channel), "happened": happened})
            except BadRequest as error:
                return _error(error)

        return handler

    # --- actions: each validates first, so a refused request changes nothing ------------------

    async def command(self, body: dict[str, Any]) -> str:
        """A command, typed in the channel (answered privately there) or in the DM."""
        user = self._member(body)
        typed = _text(body)
        where = body.get("where", "channel")
        if where not in ("channel", "dm"):
            raise BadRequest('"where" must be "channel" or "dm".')
        channel = self._channel(body) if where == "channel" else None
        who = self.people[user]
        bare = COMMAND_PREFIX.sub("", typed, count=1).strip()
        text = self._mentions(bare)
        if where == "dm":
            self.world.dm_from(person=who.key, author=who.name, text=typed, at=self.clock.now())
        outcome = await self._send(
            CommandIssued(
                id=self._id(),
                actor=who.actor,
                text=text,
                conversation=channel,
                inline=channel is not None,
                names=tuple((p.user, p.name) for p in self.people.values()),
            )
        )
        if channel is not None:
            self._ephemeral.append(
                Ephemeral(
                    ref=self.world.new_ref(),
                    at=self.clock.now(),
                    user=user,
                    channel=channel,
                    typed=f"/circle {bare}",
                    blocks=outcome.answer,
                )
            )
        return user

    async def dm(self, body: dict[str, Any]) -> str:
        """A plain message in the DM with the bot: an answer, or a command (SPEC §6); with
        `replying_to`, a reply to one of the bot's DMs (a Slack DM thread, a Teams quote)."""
        user, text = self._member(body), _text(body)
        who = self.people[user]
        replying_to = body.get("replying_to")
        if replying_to is not None and not any(
            post.ref == replying_to and post.author is None
            for post in self.world.dms.get(who.key, [])
        ):
            raise BadRequest(f"Circles sent {who.name} no message {replying_to!r} to reply to.")
        ref = self.world.dm_from(
            person=who.key, author=who.name, text=text, at=self.clock.now(), replying_to=replying_to
        )
        await self._send(
            DirectMessage(
                id=self._id(), actor=who.actor, text=text, ref=ref, replying_to=replying_to
            )
        )
        return user

    async def reply(self, body: dict[str, Any]) -> str:
        """A reply in a thread of the channel: hot-seat responses."""
        user, text = self._member(body), _text(body)
        channel = self._channel(body)
        thread = _string(body, "thread")
        if thread not in {post.ref for post in self.world.channels[channel]}:
            raise BadRequest(f"There is no thread {thread!r} in {_name(channel)}.")
        who = self.people[user]
        ref = self.world.say(
            author=who.name, conversation=channel, text=text, at=self.clock.now(), thread=thread
        )
        await self._send(
            ThreadReply(
                id=self._id(), actor=who.actor, conversation=channel, thread=thread, ref=ref
            )
        )
        return user

    async def choose(self, body: dict[str, Any]) -> str:
        """A button pressed: only one the bot actually showed this person."""
        user = self._member(body)
        post, action, value = _string(body, "post"), _string(body, "action"), _string(body, "value")
        if not any(
            isinstance(b, Choices)
            and any(c.action == action and c.value == value for c in b.choices)
            for b in self._offered(user, post)
        ):
            raise BadRequest("That message has no such button.")
        self._chosen[(user, post)] = f"{action}:{value}"
        await self._send(
            ChoiceMade(id=self._id(), actor=self.people[user].actor, action=action, value=value)
        )
        return user

    async def submit(self, body: dict[str, Any]) -> str:
        """A `TextInput` filled in and sent: a form submission, as from a Slack modal."""
        user, text = self._member(body), _text(body)
        post, action, value = _string(body, "post"), _string(body, "action"), _string(body, "value")
        if not any(
            isinstance(b, TextInput) and b.action == action and b.value == value
            for b in self._offered(user, post)
        ):
            raise BadRequest("That message has no such text box.")
        self._sent[(user, post, action, value)] = text
        await self._send(
            FormSubmitted(
                id=self._id(), actor=self.people[user].actor, action=action, value=value, text=text
            )
        )
        return user

    async def fill(self, body: dict[str, Any]) -> str:
        """A `Form` filled in and sent: `answers` maps each field's id to its values."""
        user = self._member(body)
        post, action, value = _string(body, "post"), _string(body, "action"), _string(body, "value")
        form = next(
            (
                b
                for b in self._offered(user, post)
                if isinstance(b, Form) and b.action == action and b.value == value
            ),
            None,
        )
        if form is None:
            raise BadRequest("That message has no such form.")
        answers = body.get("answers")
        ids = {f.id for f in form.fields}
        if (
            not isinstance(answers, dict)
            or not set(answers) <= ids
            or not all(
                isinstance(v, list) and all(isinstance(x, str) and len(x) <= TEXT_LIMIT for x in v)
                for v in answers.values()
            )
        ):
            raise BadRequest('"answers" must map the form\'s field ids to lists of strings.')
        await self._send(
            FormFilled(
                id=self._id(),
                actor=self.people[user].actor,
                action=action,
                value=value,
                answers=tuple((f, tuple(v)) for f, v in answers.items()),
            )
        )
        return user

    async def advance(self, body: dict[str, Any]) -> str:
        """Move the simulated clock: by an hour or a day, or to the next open or close."""
        user = self._member(body)
        step = body.get("step")
        target: datetime | None
        if step in STEPS:
            target = self.clock.now() + STEPS[step]
        elif step == "open":
            target = await self._next_open()
            if target is None:
                raise BadRequest(
                    "No session is scheduled. Schedule one first, e.g. `schedule weekly on tue at 09:00`."
                )
        elif step == "close":
            target = await self._next_close()
            if target is None:
                raise BadRequest("No session is open right now.")
        else:
            raise BadRequest('"step" must be one of "hour", "day", "open", "close".')
        await self.sim.run_until(target)
        return user

    async def reset_request(self, body: dict[str, Any]) -> str:
        user = self._member(body) if "member" in body else ORGANISER.user
        blank = body.get("blank", False)
        if not isinstance(blank, bool):
            raise BadRequest('"blank" must be true or false.')
        await self.reset(seed=not blank)
        return user if user in self.people else ORGANISER.user  # #cohort's people are gone

    async def reset(self, *, seed: bool = True) -> None:
        """Start over: an empty database, a new world, the clock back at the start."""
        async with self.uow.engine.begin() as conn:
            foreign = await conn.scalar(
                select(func.count()).select_from(PEOPLE).where(PEOPLE.c.platform != "local")
            )
            if foreign:
                raise RuntimeError(
                    "The playground's database holds Slack or Teams people; it empties its "
                    "database on start and on reset, so give it one of its own."
                )
            for table in reversed(metadata.sorted_tables):
                await conn.execute(delete(table))
        log.info("playground reset", extra={"seeded": seed})
        self.clock.restart(self._start)  # the core keeps this clock: time starts over
        self._new_world()
        await self._introduce(CAST)
        if seed:
            for typed in SEED_COMMANDS:
                await self.command({"member": ORGANISER.user, "text": typed})

    async def add_cohort(self, body: dict[str, Any]) -> str:
        """#cohort: twenty-four more people over twelve time zones, for a programme's first try."""
        user = self._member(body)
        if _address(COHORT_CHANNEL) in self.world.channels:
            raise BadRequest(f"{COHORT_CHANNEL} is already here: invite it to a programme.")
        self._join(_address(COHORT_CHANNEL), COHORT)
        await self._introduce(COHORT)
        return user

    async def cohort_intakes(self, body: dict[str, Any]) -> str:
        """Everyone in #cohort with an unfinished intake answers it by DM, question by question,
        as they would type it (the four of the cast answer their own)."""
        user = self._member(body)
        waiting = await self._waiting_intakes()
        if not waiting:
            raise BadRequest(
                f"Nobody in {COHORT_CHANNEL} has an intake to fill in: invite it first, e.g. "
                f"`programme invite {COHORT_CHANNEL}`."
            )
        for persona, name, areas in waiting:
            await self.command({"member": persona.user, "text": f"intake in {name}", "where": "dm"})
            for answer in persona.intake_answers(areas):
                await self.dm({"member": persona.user, "text": answer})
            self._read[persona.user] = len(self.world.dms.get(persona.key, []))  # they wrote it
        return user

    async def _waiting_intakes(self) -> list[tuple[Persona, str, tuple[str, ...]]]:
        """Each unfinished intake in #cohort: who, and the programme's name and areas."""
        waiting: list[tuple[Persona, str, tuple[str, ...]]] = []
        if _address(COHORT_CHANNEL) not in self.world.channels:
            return waiting
        cohort = {persona.key: persona for persona in COHORT}
        async with self.uow() as uow:
            people = {
                p.id: cohort[p.key]
                for p in await uow.people.find(platform="local", workspace=WORKSPACE)
                if p.key in cohort
            }
            for programme in await uow.programmes.find(platform="local", workspace=WORKSPACE):
                if programme.status not in (ProgrammeStatus.DRAFT, ProgrammeStatus.ENROLLING):
                    continue
                for enrolment in await uow.enrolments.find(programme_id=programme.id):
                    if (
                        enrolment.person_id in people
                        and enrolment.active
                        and enrolment.intake_done_at is None
                    ):
                        persona = people[enrolment.person_id]
                        waiting.append((persona, programme.name, programme.areas))
        return waiting

    # --- helpers ----------------------------------------------------------------------------

    async def _introduce(self, people: Iterable[Persona]) -> None:
        """What Slack's users.info would tell the bot (names and zones), and each person's
        working hours, set with the core's own `hours` command (its answer is not shown)."""
        for persona in people:
            await self._send(ProfileUpdated(id=self._id(), actor=persona.actor))
            if persona.hours is not None:
                await self._send(
                    CommandIssued(
                        id=self._id(),
                        actor=persona.actor,
                        text=f"hours {persona.hours}",
                        conversation=None,
                        inline=True,
                    )
                )

    def _member(self, body: dict[str, Any]) -> str:
        user = body.get("member")
        if not isinstance(user, str) or user not in self.people:
            names = ", ".join(self.people)
            raise BadRequest(f"Unknown member {user!r}: choose one of {names}.")
        return user

    def _channels(self) -> list[str]:
        """The workspace's channels: #circle first, then as they were made."""
        return list(self.world.channels)

    def _channel(self, body: dict[str, Any]) -> str:
        name = body.get("channel", CHANNEL_NAME)
        if not isinstance(name, str) or _address(name) not in self.world.channels:
            names = ", ".join(_name(c) for c in self._channels())
            raise BadRequest(f"There is no channel {name!r} here: choose one of {names}.")
        return _address(name)

    def _viewing(self, name: Any) -> str:
        """The channel the page shows: the one it asked for, or #circle once that is gone."""
        if isinstance(name, str) and _address(name) in self.world.channels:
            return _address(name)
        return CHANNEL

    def _mentions(self, text: str) -> str:
        """`@Ben` as typed in the page becomes the platform mention `<@ben>`, as Slack sends."""

        def mention(match: re.Match[str]) -> str:
            persona = self.people.get(match.group(1).lower())
            return f"<@{persona.user}>" if persona else match.group(0)

        return MENTION.sub(mention, text)

    def _id(self) -> str:
        return f"playground-{next(self._ids)}"

    async def handle(self, event: InboundEvent) -> Outcome:
        """An event from beside the page (the dashboard's actions), handled as the page's own
        are: one at a time, then delivered to the simulated workspace."""
        async with self._lock:
            outcome: Outcome = await self._send(event)
            return outcome

    async def _send(self, event: InboundEvent) -> Any:
        outcome = await self.core.handle(event)
        await self.sim.settle()
        return outcome

    def _offered(self, user: str, ref: str) -> tuple[Block, ...]:
        """The blocks of a bot message this person can see: a DM, a channel post, a private answer."""
        for post in self.world.dms.get(self.people[user].key, []):
            if post.ref == ref and post.author is None:
                return post.blocks
        for posts in self.world.channels.values():
            for post in posts:
                for candidate in (post, *post.replies):
                    if candidate.ref == ref and candidate.author is None:
                        return candidate.blocks
        for answer in self._ephemeral:
            if answer.ref == ref and answer.user == user:
                return answer.blocks
        raise BadRequest(f"There is no message {ref!r} for {self.people[user].name}.")

    async def _next_open(self) -> datetime | None:
        async with self.uow() as uow:
            scheduled = await uow.sessions.find(status=SessionStatus.SCHEDULED, order_by="opens_at")
            live = [
                c.id
                for c in await uow.circles.find()
                if c.status in (CircleStatus.ACTIVE, CircleStatus.FORMING)
            ]
        upcoming = [s.opens_at for s in scheduled if s.circle_id in live]
        return min(upcoming) if upcoming else None

    async def _next_close(self) -> datetime | None:
        async with self.uow() as uow:
            opened = await uow.sessions.find(status=SessionStatus.OPEN)
        return min((s.closes_at for s in opened), default=None)

    def _kinds(self) -> dict[str, str]:
        """Each delivered post's kind: the thread roots a session starts, from outbox keys."""
        kinds: dict[str, str] = {}
        for arrival in self.world.arrivals:
            root = thread_root(arrival.key)
            if root is not None and not arrival.edit:
                kinds[arrival.post.ref] = root[0]  # "kickoff" or "ask"
        return kinds

    def _happened(self, arrivals: Iterable[Arrival], *, viewer: str) -> list[dict[str, Any]]:
        """What the bot delivered during one action, for the page's activity feed."""
        tz = self.people[viewer].tz
        happened = []
        for arrival in arrivals:
            if arrival.person is not None:
                persona = self.people.get(arrival.person.user)
                where = {
                    "to": "dm",
                    "member": arrival.person.user,
                    "name": persona and persona.name,
                }
            else:
                where = {
                    "to": "thread" if arrival.thread else "channel",
                    "member": None,
                    "channel": arrival.conversation and _name(arrival.conversation),
                }
            happened.append(
                {
                    **where,
                    "ref": arrival.post.ref,
                    "at": arrival.at.isoformat(),
                    "time": _stamp(arrival.at, tz),
                    "edit": arrival.edit,
                    "title": _first_line(plain_text(arrival.post.blocks)),
                }
            )
        return happened

    # --- the page's view of the world -----------------------------------------------------

    async def state(self, user: str, channel: str = CHANNEL) -> dict[str, Any]:
        """Everything the page shows to `user` in `channel`; reading it marks their DMs read."""
        async with self.uow() as uow:
            people = {
                p.key.user: p for p in await uow.people.find(platform="local", workspace=WORKSPACE)
            }
            circle = await uow.circles.first(
                platform="local", workspace=WORKSPACE, home=channel, order_by="-id"
            )
            roles: dict[int, str] = {}
            session = None
            if circle is not None:
                for m in await uow.memberships.find(circle_id=circle.id):
                    if m.active:
                        roles[m.person_id] = m.role.value
                session = await uow.sessions.first(
                    circle_id=circle.id, status=SessionStatus.OPEN, order_by="-id"
                )
        tz = people[user].tz if user in people else self.people[user].tz
        now = self.clock.now()
        dms = self.world.dms.get(self.people[user].key, [])
        self._read[user] = len(dms)
        members = []
        for persona in self.people.values():
            person = people.get(persona.user)
            count = len(self.world.dms.get(persona.key, []))
            members.append(
                {
                    "id": persona.user,
                    "name": persona.name,
                    "tz": person.tz if person else persona.tz,
                    "role": roles.get(person.id) if person and person.id is not None else None,
                    "local": _stamp(now, person.tz if person else persona.tz),
                    "unread": count - self._read.get(persona.user, 0),
                    "cast": persona in CAST,
                }
            )
        person = people.get(user)
        next_open, next_close = await self._next_open(), await self._next_close()
        kinds = self._kinds()
        return {
            "member": user,
            "members": members,
            "clock": {
                "utc": now.isoformat(),
                "utc_label": _stamp(now, "UTC"),
                "local_label": _stamp(now, tz),
                "zone": tz,
                "working": person.hours.contains(person.local(now)) if person else None,
                "hours": person.hours.to_text() if person else None,
                "next_open": next_open and _stamp(next_open, tz),
                "next_close": next_close and _stamp(next_close, tz),
            },
            "channel": {
                "name": _name(channel),
                "circle": _circle_json(circle, session.number if session else None),
                "posts": self._channel_json(channel, user, tz, kinds),
            },
            "channels": [
                {"name": _name(address), "members": len(self.world.members.get(address, {}))}
                for address in self._channels()
            ],
            "cohort": {
                "here": _address(COHORT_CHANNEL) in self.world.channels,
                "intakes": len(await self._waiting_intakes()),
            },
            "dms": [self._post_json(post, user, tz, kinds) for post in dms],
        }

    def _channel_json(
        self, channel: str, user: str, tz: str, kinds: dict[str, str]
    ) -> list[dict[str, Any]]:
        posts = [
            (_order(p.ref), self._post_json(p, user, tz, kinds))
            for p in self.world.channels.get(channel, [])
        ]
        posts += [
            (
                _order(e.ref),
                {
                    "ref": e.ref,
                    "kind": "ephemeral",
                    "time": _stamp(e.at, tz),
                    "author": None,
                    "typed": e.typed,
                    "blocks": self._blocks_json(e.blocks, user, e.ref),
                    "replies": [],
                },
            )
            for e in self._ephemeral
            if e.user == user and e.channel == channel
        ]
        return [post for _, post in sorted(posts, key=lambda pair: pair[0])]

    def _post_json(self, post: Post, user: str, tz: str, kinds: dict[str, str]) -> dict[str, Any]:
        author = self._by_name.get(post.author) if post.author is not None else None
        return {
            "ref": post.ref,
            "kind": kinds.get(post.ref, "message"),
            "time": _stamp(post.at, tz),
            "author": (
                {"id": author.user if author else None, "name": post.author}
                if post.author is not None
                else None
            ),
            "text": post.text,
            "replying_to": post.replying_to,
            "edited": post.edited,
            "blocks": self._blocks_json(post.blocks, user, post.ref),
            "replies": [self._post_json(reply, user, tz, kinds) for reply in post.replies],
        }

    def _blocks_json(self, blocks: tuple[Block, ...], user: str, ref: str) -> list[dict[str, Any]]:
        """The message as JSON, with the button this person pressed and the text they sent."""
        rendered = message_to_json(blocks)
        for block in rendered:
            if block["type"] == "choices":
                chosen = self._chosen.get((user, ref))
                for choice in block["choices"]:
                    choice["chosen"] = chosen == f"{choice['action']}:{choice['value']}"
            if block["type"] == "input":
                block["sent"] = self._sent.get((user, ref, block["action"], block["value"]))
        return rendered


def _circle_json(circle: Circle | None, open_session: int | None) -> dict[str, Any] | None:
    if circle is None:
        return None
    return {
        "name": circle.name,
        "kind": circle.kind.value,
        "status": circle.status.value,
        "rhythm": f"{circle.rhythm.describe()} ({circle.tz})" if circle.rhythm else None,
        "open_session": open_session,
    }


# --- requests -> validated values --------------------------------------------------------------


async def _read_json(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise BadRequest("Send a JSON body with Content-Type: application/json.")
    if request.content_length is not None and request.content_length > BODY_LIMIT:
        raise BadRequest(f"The request body is over {BODY_LIMIT:,} bytes.")
    raw = await request.content.read(BODY_LIMIT + 1)
    if len(raw) > BODY_LIMIT:
        raise BadRequest(f"The request body is over {BODY_LIMIT:,} bytes.")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest("The request body is not valid JSON.") from error
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body


def _string(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value or len(value) > 255:
        raise BadRequest(f'"{field}" must be a non-empty string of at most 255 characters.')
    return value


def _text(body: dict[str, Any]) -> str:
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest('"text" must be a non-empty string.')
    if len(text) > TEXT_LIMIT:
        raise BadRequest(
            f"The text is {len(text):,} characters; the playground takes at most {TEXT_LIMIT:,}."
        )
    return text


def _address(name: str) -> str:
    """A channel as the page names it (`#cohort`) -> its address in the world."""
    return f"local:{WORKSPACE}:{name}"


def _name(address: str) -> str:
    return address.rsplit(":", 1)[1]


def _json(payload: dict[str, Any]) -> web.Response:
    return web.json_response(payload, headers={"Cache-Control": "no-store"})


def _error(error: BadRequest) -> web.Response:
    return web.json_response({"error": error.message}, status=400)
