"""`circles demo`: a whole circle, simulated on a fake clock, printed as a transcript.

Five people in five time zones run a circle through the real core and a
temporary SQLite database. They answer their DMs a while after the prompts
reach them, inside their own working hours; one stays quiet in the first
session, so the nudges show. Every run prints the same transcript.
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from adapters.bootstrap import bootstrap
from adapters.clock import FakeClock
from adapters.local.simulation import Simulation
from adapters.local.transcript import Transcript
from adapters.local.world import Arrival, LocalWorld
from bot.circles import CircleStatus
from bot.events import (
    Actor,
    ChoiceMade,
    CommandIssued,
    DirectMessage,
    InboundEvent,
    ProfileUpdated,
    ThreadReply,
)
from bot.kinds import PRESETS, Kind
from bot.people import PersonKey
from bot.sessions import SessionStatus
from bot.working_hours import DEFAULT_HOURS, delivery_moment
from storage.db import Database, create_engine, upgrade
from storage.uow import SqlUnitOfWorkFactory

WORKSPACE = "demo"
CHANNEL = "local:demo:#growth-circle"
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin


@dataclass(frozen=True)
class Persona:
    user: str
    name: str
    tz: str
    delay: timedelta  # how long after a prompt arrives they answer

    @property
    def key(self) -> PersonKey:
        return PersonKey("local", WORKSPACE, self.user)

    @property
    def actor(self) -> Actor:
        return Actor(key=self.key, name=self.name, tz=self.tz)


CAST = (
    Persona("ana", "Ana", "Europe/Berlin", timedelta(minutes=45)),
    Persona("ben", "Ben", "America/New_York", timedelta(hours=2)),
    Persona("chen", "Chen", "Asia/Shanghai", timedelta(minutes=30)),
    Persona("dara", "Dara", "Australia/Sydney", timedelta(hours=3)),
    Persona("eli", "Eli", "America/Los_Angeles", timedelta(hours=1, minutes=30)),
)

CHECKINS = {
    "ana": (
        "I want to get better at giving feedback without softening it into mush.",
        "Gave two pieces of direct feedback; one landed, one didn't.",
        "Calmer week. Delegated the roadmap review for the first time.",
    ),
    "ben": (
        "New team lead, three weeks in. Mostly listening, a bit overwhelmed.",
        "One-to-ones are set up. The backlog still scares me.",
        "Said no to a project. It felt awful and then great.",
    ),
    "chen": (
        "Moving from engineering into product; I bring data skills, want storytelling.",
        "Presented the churn analysis. Too many charts, people said.",
        "Rewrote the deck around one story. Much better reception.",
    ),
    "dara": (
        "Freelancer, want accountability and a sounding board for pricing.",
        "Raised my rate for one new client. They said yes!",
        "Busy month; kept my pricing notes going though.",
    ),
    "eli": (
        "",
        "Sorry for going quiet, launch week. Back now and keen.",
        "Shipped the launch. Now learning to take a real break.",
    ),
}
# What each says to the closing question, in a circle's closing session.
CLOSINGS = {
    "ana": "Direct feedback lands better than I feared. I'll keep my weekly delegation log.",
    "ben": "Saying no is part of the job, not a failing. I'll keep two focus afternoons a week.",
    "chen": "One story beats ten charts. I'll keep pairing with a PM on discovery.",
    "dara": "A sounding board makes asking for my rate easier. I'll keep my pricing page current.",
    "eli": "Rest is part of the work. I'll keep writing a retro after every launch.",
}
COMMITS = {
    "ana": (
        "Give one piece of direct feedback in my next 1:1.",
        "Ask for feedback on my feedback from one report.",
        "Keep a weekly delegation log.",
    ),
    "ben": (
        "Book 1:1s with all five reports.",
        "Prune the backlog to the top 10 items with my PM.",
        "Block two focus afternoons a week.",
    ),
    "chen": (
        "Present the churn analysis to the product team.",
        "Rewrite the deck as a single narrative.",
        "Pair with a PM on one discovery interview.",
    ),
    "dara": (
        "Quote my new rate to the next new client.",
        "Write down my pricing rules on one page.",
        "Send the pricing page to two peers for critique.",
    ),
    "eli": ("", "Take one full day off after the launch.", "Write a launch retro for the team."),
}
REVIEWS = {
    "ana": (
        ("done", "It was easier than I feared."),
        ("partly", "One report answered, one didn't yet."),
    ),
    "ben": (
        ("done", "All five booked, two done already."),
        ("not yet", "Waiting for my PM to be back."),
    ),
    "chen": (("done", "Too many charts, but I did it."), ("done", "")),
    "dara": (("done", "They said yes!"), ("partly", "Half a page so far.")),
    "eli": (("", ""), ("done", "A whole Saturday offline.")),
}
HOT_SEATS = (
    "My best engineer wants to become a manager, and I'm not sure she'd enjoy it. How do I have that conversation honestly?",
    "I keep saying yes to every stakeholder request. How do you decide what to turn down, and how do you say it?",
    "How do you keep learning when work gets busy? I always drop it first.",
)
# Micro-group: the leader's topic and a link for each session.
TOPICS = (
    ("Feedback that lands", "https://example.org/feedback", "Radical candor, a summary"),
    ("Running a good 1:1", "https://example.org/one-to-ones", "A 1:1 agenda template"),
    ("Saying no", "https://example.org/saying-no", "Ten ways to decline kindly"),
)
RESPONSES = {
    "ana": (
        "Ask what she hopes management gives her; a tech-lead path may fit better.",
        "Try 'yes, and here is what moves'. It makes the trade-off visible.",
        "Fifteen minutes on Friday mornings, in the calendar.",
    ),
    "ben": (
        "I'd offer a trial: lead one project for a quarter, then look back together.",
        "I keep a 'not now' list and share it weekly. People take a no better with a when.",
        "I tie learning to the next project: pick it for what it teaches.",
    ),
    "chen": (
        "What does she love about her work today? Start there.",
        "Which requests move your main goal? Everything else waits.",
        "Audio courses on the commute saved my learning habit.",
    ),
    "dara": (
        "Be honest about the hard parts; she'll respect that.",
        "Say no to the request, not the person.",
        "A learning buddy keeps me going when I'd drop it.",
    ),
    "eli": (
        "Pair her with a manager she admires for a month.",
        "Ask your manager to rank the asks with you.",
        "Pair the learning with the work you already have.",
    ),
}


class Demo:
    """The scripted people of the demo, reacting to what reaches them."""

    def __init__(
        self, *, sim: Simulation, kind: Kind, members: tuple[Persona, ...], out: Transcript
    ) -> None:
        self.sim = sim
        self.kind = kind
        self.members = members
        self.out = out
        self._events = 0
        self._thread_of_session: dict[int, str] = {}
        self._number_of_session: dict[int, int] = {}
        self._closing_sessions: set[int] = set()
        self.by_key = {p.key: p for p in members}
        sim.listeners.append(self.react)

    def _id(self) -> str:
        self._events += 1
        return f"demo-{self._events}"

    async def command(self, who: Persona, text: str, *, conversation: str | None = CHANNEL) -> None:
        self.out.typed(self.sim.clock.now(), who.name, text, conversation)
        outcome = await self.sim.core.handle(
            CommandIssued(
                id=self._id(),
                actor=who.actor,
                text=text,
                conversation=conversation,
                inline=True,
                names=self._names(),
            )
        )
        self.out.private(who.name, outcome.answer)

    def _names(self) -> tuple[tuple[str, str], ...]:
        return tuple((p.user, p.name) for p in self.members)

    async def handle(self, event: InboundEvent) -> None:
        await self.sim.core.handle(event)

    def react(self, arrival: Arrival) -> None:
        """People respond to what reaches them, after their own delay."""
        self.out.arrival(arrival)
        parts = arrival.key.split(":")
        if parts[:1] == ["session"] and parts[2] == "summary" and self.kind is Kind.MICRO_GROUP:
            number = self._number_of_session.get(int(parts[1]), 1) + 1
            self.sim.at(arrival.at + timedelta(hours=2), self._set_topic(number))
        if parts[0] == "session" and parts[2] == "kickoff" and not arrival.edit:
            self._thread_of_session[int(parts[1])] = arrival.post.ref
            self._number_of_session[int(parts[1])] = len(self._number_of_session) + 1
            if arrival.post.body.startswith("Closing session"):
                self._closing_sessions.add(int(parts[1]))
        if (
            parts[0] == "session"
            and parts[2] == "hot_seat"
            and arrival.person is None
            and self.kind is Kind.MASTERMIND  # a presenter's hot seat is answered on the notice
        ):
            self._answer_ask(arrival, author=int(parts[3]), session_id=int(parts[1]))
        if arrival.person is not None and "as soon as you agree" in arrival.post.body:
            self._agree_later(arrival, circle_id="1", now=True)
        if arrival.person is None or arrival.edit or parts[0] != "session":
            if parts[0] == "circle" and parts[2] == "welcome" and arrival.person is not None:
                self._agree_later(arrival, circle_id=parts[1])
            return
        who = self.by_key[arrival.person]
        session_id, stage = int(parts[1]), parts[2]
        number = self._number_of_session.get(session_id, 1)
        quiet = who.user == "eli" and number == 1
        late_only = (
            who.user == "eli"
            and number == 2
            and stage not in ("reminder", "commitment", "hot_seat_notice", "last_call")
        )
        if quiet or late_only:
            return
        when = arrival.at + who.delay
        closing = session_id in self._closing_sessions
        text = (
            CLOSINGS[who.user]
            if closing and stage == "checkin"
            else self._answer(who, stage, number)
        )
        if stage == "hot_seat_notice":
            thread = self._thread_of_session.get(session_id)
            if thread is not None:
                respond = self._respond(who, thread, (number - 1) % 3)
                self.sim.at(when + timedelta(hours=1), respond)
        elif stage == "reminder" and who.user == "eli":
            late = CLOSINGS[who.user] if closing else CHECKINS[who.user][min(number, 3) - 1]
            self.sim.at(when, self._dm(who, late))
        elif text:
            self.sim.at(when, self._dm(who, text))

    def _answer(self, who: Persona, stage: str, number: int) -> str:
        i = min(number, 3) - 1
        match stage:
            case "checkin":
                return CHECKINS[who.user][i]
            case "commitment":
                return COMMITS[who.user][i]
            case "hot_seat_prompt" if self.kind is Kind.MASTERMIND:  # asks are optional
                return HOT_SEATS[self._topic(who, number)] if who in self._asking else ""
            case "hot_seat_prompt":
                return HOT_SEATS[i]
            case "review":
                outcome, reflection = REVIEWS[who.user][min(i, 2) - 1] if i else ("", "")
                return f"{outcome} {reflection}".strip()
        return ""

    @property
    def _asking(self) -> tuple[Persona, ...]:
        """Mastermind: every other member posts an ask each session."""
        return self.members[::2]

    def _topic(self, author: Persona, number: int) -> int:
        """Which of the three challenges a hot seat or an ask is about (`HOT_SEATS`)."""
        shift = self._asking.index(author) if self.kind is Kind.MASTERMIND else 0
        return (number - 1 + shift) % 3

    def _dm(self, who: Persona, text: str) -> Callable[[], Awaitable[None]]:
        async def act() -> None:
            now = self.sim.clock.now()
            ref = self.sim.world.dm_from(person=who.key, author=who.name, text=text, at=now)
            self.out.dm_reply(now, who.name, who.tz, text)
            await self.sim.core.handle(
                DirectMessage(id=self._id(), actor=who.actor, text=text, ref=ref)
            )

        return act

    def _set_topic(self, number: int) -> Callable[[], Awaitable[None]]:
        """Micro-group: the leader picks the next session's topic and attaches a reading."""

        async def act() -> None:
            if number > len(TOPICS):
                return
            topic, url, title = TOPICS[number - 1]
            await self.command(self.members[0], f"/circle topic {topic}")
            await self.command(self.members[0], f"/circle link {url} {title}")

        return act

    def _answer_ask(self, arrival: Arrival, *, author: int, session_id: int) -> None:
        """Mastermind: the next two members after the asker answer in the ask's own thread."""
        if arrival.edit:
            return
        number = self._number_of_session.get(session_id, 1)
        asker = self.members[author - 1]  # person ids follow the cast's order
        topic = self._topic(asker, number)
        helpers = [self.members[(author + step) % len(self.members)] for step in range(2)]
        for who in helpers:
            # They see the ask when they are at work: nobody answers at 03:00 their time.
            seen = delivery_moment(
                hours=DEFAULT_HOURS, tz=who.tz, due=arrival.at + who.delay, closes_at=None
            )
            assert seen is not None  # a moment not tied to a session is held, never dropped
            respond = self._respond(who, arrival.post.ref, topic, ask_of=asker.name)
            self.sim.at(seen + timedelta(hours=1), respond)

    def _respond(
        self, who: Persona, thread: str, topic: int, *, ask_of: str | None = None
    ) -> Callable[[], Awaitable[None]]:
        """A reply on the challenge `topic` (`HOT_SEATS`), in the hot seat's or an ask's thread."""

        async def act() -> None:
            now = self.sim.clock.now()
            text = RESPONSES[who.user][topic]
            ref = self.sim.world.say(
                author=who.name, conversation=CHANNEL, text=text, at=now, thread=thread
            )
            self.out.thread_reply(now, who.name, text, ask_of=ask_of)
            await self.sim.core.handle(
                ThreadReply(
                    id=self._id(), actor=who.actor, conversation=CHANNEL, thread=thread, ref=ref
                )
            )

        return act

    def _agree_later(self, arrival: Arrival, *, circle_id: str, now: bool = False) -> None:
        assert arrival.person is not None
        who = self.by_key[arrival.person]
        if who.user == "eli" and not now:  # agrees only when he checks in
            return

        async def act() -> None:
            now = self.sim.clock.now()
            if who.user == "ben":
                ref = self.sim.world.dm_from(person=who.key, author=who.name, text="agree", at=now)
                self.out.dm_reply(now, who.name, who.tz, "agree")
                await self.sim.core.handle(
                    DirectMessage(id=self._id(), actor=who.actor, text="agree", ref=ref)
                )
            else:
                self.out.clicked(now, who.name, "I agree")
                await self.sim.core.handle(
                    ChoiceMade(id=self._id(), actor=who.actor, action="agree", value=circle_id)
                )

        self.sim.at(arrival.at + (timedelta(minutes=5) if now else who.delay), act)


async def run_demo(*, kind: Kind = Kind.MENTORING_CIRCLE, sessions: int = 3, out: TextIO) -> None:
    with tempfile.TemporaryDirectory(prefix="circles-demo-") as folder:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(folder) / 'demo.db'}")
        try:
            await upgrade(engine)
            await _run(engine=engine, kind=kind, sessions=sessions, out=out)
        finally:
            await engine.dispose()


async def _run(*, engine: Database, kind: Kind, sessions: int, out: TextIO) -> None:
    clock = FakeClock(START)
    circles = bootstrap(engine, clock=clock)
    world = LocalWorld()
    sim = Simulation(core=circles.core, uow=circles.uow, clock=clock, world=world)
    preset = PRESETS[kind]
    sessions = preset.sessions or sessions  # a kind with a built-in end keeps it
    members = CAST[: min(len(CAST), preset.max_size)]
    transcript = Transcript(out, people={p.key: p for p in members}, channel="#growth-circle")
    demo = Demo(sim=sim, kind=kind, members=members, out=transcript)
    ana = members[0]
    transcript.title(kind, members, sessions)
    focus = " focus Saying no without losing goodwill" if kind is Kind.PEER_LEARNING_GROUP else ""
    await demo.command(ana, f"/circle create Growth Circle kind {kind.value}{focus}")
    invitees = " ".join(f"<@{p.user}>" for p in members[1:])
    await demo.command(ana, f"/circle invite {invitees}")
    for invitee in members[1:]:  # as on Slack: their profiles (zones) are looked up just after
        await sim.core.handle(ProfileUpdated(id=f"profile-{invitee.user}", actor=invitee.actor))
    weeks = {
        Kind.MENTORING_CIRCLE: "fortnightly",
        Kind.MENTORING_PAIR: "fortnightly",
        Kind.MASTERMIND: "weekly",
        Kind.PEER_LEARNING_GROUP: "every 4 weeks",
        Kind.MICRO_GROUP: "weekly",
    }[kind]
    await demo.command(
        ana,
        f"/circle schedule {weeks} on tue at 09:00 tz Europe/Berlin for {sessions} sessions starting 2026-11-24",
    )
    if kind is Kind.MICRO_GROUP:
        await demo._set_topic(1)()
    await sim.settle()
    while not await _finished(circles.uow, sessions):
        await sim.run_until(clock.now() + timedelta(days=1))
    await demo.command(ana, "/circle status")
    transcript.footer()


async def _finished(uow: SqlUnitOfWorkFactory, sessions: int) -> bool:
    """The circle has ended, or held the sessions asked for."""
    async with uow() as work:
        circle = await work.circles.get(1)
        closed = await work.sessions.find(circle_id=1, status=SessionStatus.CLOSED)
    return circle.status is CircleStatus.ENDED or len(closed) >= sessions
