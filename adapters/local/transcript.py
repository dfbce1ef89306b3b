"""The demo's transcript: what each person sees, when, in their own time zone."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol, TextIO
from zoneinfo import ZoneInfo

from adapters.local.world import Arrival
from bot.kinds import Kind
from bot.messages import Block, plain_text
from bot.people import PersonKey

RULE = "─" * 72


class Named(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def tz(self) -> str: ...


class Transcript:
    def __init__(self, out: TextIO, *, people: Mapping[PersonKey, Named], channel: str) -> None:
        self._out = out
        self._people = people
        self._channel = channel
        self._day: str | None = None

    def title(self, kind: Kind, members: tuple[Named, ...], sessions: int) -> None:
        self._line(
            f"Circles demo · a {kind.value.replace('-', ' ')} of {len(members)} · {sessions} session(s)"
        )
        for person in members:
            self._line(f"  {person.name:<6} {person.tz}")
        self._line("Times in the left margin are UTC; each DM also shows the member's local time.")

    def footer(self) -> None:
        self._line(RULE)
        self._line("End of demo. Try it yourself: `circles serve` opens the playground.")

    def typed(self, at: datetime, who: str, text: str, conversation: str | None) -> None:
        self._stamp(at)
        where = self._channel if conversation else "DM"
        self._line(f"{_hhmm(at)}  {who} in {where}: {text}")

    def private(self, who: str, blocks: tuple[Block, ...]) -> None:
        if blocks:
            self._body(plain_text(blocks), prefix=f"        ↳ only {who} sees: ")

    def dm_reply(self, at: datetime, who: str, tz: str, text: str) -> None:
        self._stamp(at)
        self._line(f"{_hhmm(at)}  {who} replies by DM ({_local(at, tz)}): {text}")

    def clicked(self, at: datetime, who: str, label: str) -> None:
        self._stamp(at)
        self._line(f"{_hhmm(at)}  {who} clicks [{label}]")

    def thread_reply(self, at: datetime, who: str, text: str, *, ask_of: str | None = None) -> None:
        """A reply in the session's thread, or (`ask_of`) in that member's ask's own thread."""
        self._stamp(at)
        where = f"in {ask_of}'s ask thread" if ask_of else "in the thread"
        self._line(f"{_hhmm(at)}  {who} replies {where}: {text}")

    def arrival(self, arrival: Arrival) -> None:
        self._stamp(arrival.at)
        edited = " (edited)" if arrival.edit else ""
        if arrival.person is not None:
            person = self._people.get(arrival.person)
            name = person.name if person else arrival.person.user
            local = f" · {_local(arrival.at, person.tz)}" if person else ""
            head = f"{_hhmm(arrival.at)}  DM → {name}{local}{edited}"
        elif arrival.thread is not None:
            head = f"{_hhmm(arrival.at)}  {self._channel} thread{edited}"
        else:
            head = f"{_hhmm(arrival.at)}  {self._channel}{edited}"
        self._line(head)
        self._body(plain_text(arrival.post.blocks), prefix="        │ ")

    def _stamp(self, at: datetime) -> None:
        day = f"{at:%A} {at.day} {at:%B %Y}"
        if day != self._day:
            self._day = day
            self._line(RULE)
            self._line(day)

    def _body(self, text: str, *, prefix: str) -> None:
        pad = " " * len(prefix) if not prefix.strip().startswith("│") else prefix
        for i, line in enumerate(text.splitlines()):
            self._line((prefix if i == 0 else pad) + line)

    def _line(self, text: str) -> None:
        self._out.write(text.rstrip() + "\n")


def _hhmm(at: datetime) -> str:
    return f"{at:%H:%M}"


def _local(at: datetime, tz: str) -> str:
    local = at.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local:%H:%M} {tz}"
