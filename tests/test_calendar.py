"""Calendar feeds (SPEC §16), as a calendar app sees them: over HTTP, parsed back with icalendar.

Members ask for their link with `calendar`, and the feed is fetched from a
real aiohttp server on a socket, the way a calendar app polls it; what it
holds is read back with the same library a calendar app would use. Sessions
move, are skipped, pause and end through the same commands and jobs as
everywhere else, on the fake clock.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import icalendar
import pytest
from aiohttp.test_utils import TestServer

from adapters.calendar_feed import CalendarFeeds
from adapters.server import create_app
from bot.context import Config
from storage.db import Database
from tests.harness import ANA, BEN, CHEN, ELI, Harness, Member, later
from tests.test_serve import Server, api
from tests.test_sessions import FOUR, OPENS, WEEK, WINDOW, scheduled_circle

PUBLIC = "https://circles.example.org"
LINK = re.compile(r"https://circles\.example\.org/calendar/([0-9a-f]{64})\.ics")


@dataclass(frozen=True)
class Shown:
    """A VEVENT as a calendar app keeps it."""

    uid: str
    sequence: int
    starts: datetime
    ends: datetime
    summary: str
    description: str
    status: str


class Calendars:
    """The harness's circles, and their feeds served on a socket as `circles serve` does."""

    def __init__(self, h: Harness, server: TestServer, http: aiohttp.ClientSession) -> None:
        self.h, self._server, self._http = h, server, http

    async def link(self, who: Member, command: str = "calendar") -> str:
        """The secret in the link that `command` answers `who` with."""
        answer = await self.h.command(who, command)
        found = LINK.search(answer)
        assert found, answer
        return found.group(1)

    async def fetch(self, secret: str) -> tuple[aiohttp.ClientResponse, bytes]:
        async with self._http.get(self._server.make_url(f"/calendar/{secret}.ics")) as response:
            return response, await response.read()

    async def events(self, secret: str) -> list[Shown]:
        response, body = await self.fetch(secret)
        assert response.status == 200, response.status
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert response.headers["Cache-Control"] == "private, no-store"
        calendar = icalendar.Calendar.from_ical(body)
        assert str(calendar["X-WR-CALNAME"]) == "Circles"
        return [
            Shown(
                uid=str(e["UID"]),
                sequence=int(str(e["SEQUENCE"])),
                starts=e.decoded("DTSTART"),
                ends=e.decoded("DTEND"),
                summary=str(e["SUMMARY"]),
                description=str(e["DESCRIPTION"]),
                status=str(e["STATUS"]),
            )
            for e in calendar.walk("VEVENT")
        ]

    async def planned(self, who: Member) -> tuple[str, Shown]:
        """The weekly circle of `tests.test_sessions`, `who`'s link, and its one planned event."""
        await scheduled_circle(self.h)
        secret = await self.link(who)
        (planned,) = await self.events(secret)
        return secret, planned


@pytest.fixture
async def cal(engine: Database) -> AsyncIterator[Calendars]:
    h = Harness(engine, config=Config(public_url=PUBLIC))
    server = TestServer(create_app(mounts=[CalendarFeeds(h.core, public_url=PUBLIC)]))
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        yield Calendars(h, server, http)
    await server.close()


def by_summary(events: list[Shown], summary: str) -> Shown:
    (found,) = [e for e in events if e.summary == summary]
    return found


async def test_a_session_is_an_event_from_open_to_close_that_follows_reschedules(
    cal: Calendars,
) -> None:
    h = cal.h
    secret, first = await cal.planned(ANA)
    assert first.summary == "Growth Circle: session 1"
    assert (first.starts, first.ends) == (OPENS, OPENS + WINDOW)
    assert first.status == "CONFIRMED"
    assert re.fullmatch(r"session-[0-9]+@circles\.example\.org", first.uid)

    await h.command(ANA, "topic Saying no")
    await h.command(ANA, "schedule weekly on tue at 10:00 tz Europe/Berlin window 2d")
    (moved,) = await cal.events(secret)
    assert moved.uid == first.uid, "the same event moves"
    assert moved.sequence > first.sequence
    assert (moved.starts, moved.ends) == (OPENS + timedelta(days=1), OPENS + later(days=3))
    assert moved.summary == "Growth Circle: session 1 · Saying no"
    assert "Saying no" in moved.description and moved.status == "CONFIRMED"


async def test_a_skip_cancels_the_event_and_the_next_slot_appears(cal: Calendars) -> None:
    h = cal.h
    secret, planned = await cal.planned(BEN)
    await h.command(ANA, "skip")
    skipped, following = await cal.events(secret)
    assert (skipped.uid, skipped.starts) == (planned.uid, planned.starts)
    assert skipped.status == "CANCELLED" and skipped.sequence > planned.sequence
    assert skipped.description.startswith("Skipped")
    assert following.uid != planned.uid and following.status == "CONFIRMED"
    assert following.starts == OPENS + WEEK


async def test_a_pause_puts_the_session_on_hold_and_resume_brings_it_back(
    cal: Calendars,
) -> None:
    h = cal.h
    secret, planned = await cal.planned(CHEN)
    await h.command(ANA, "pause")
    (held,) = await cal.events(secret)
    assert held.uid == planned.uid and held.status == "CANCELLED"
    assert held.sequence > planned.sequence and "paused" in held.description
    await h.run(later(days=10))  # its slot passes while paused
    await h.command(ANA, "resume")
    (back,) = await cal.events(secret)
    assert back.uid == planned.uid and back.status == "CONFIRMED"
    assert back.sequence > held.sequence
    assert back.starts == OPENS + 2 * WEEK, "moved to the first slot after resuming"


async def test_held_sessions_stay_with_their_real_times_and_an_end_moves_the_next_to_now(
    cal: Calendars,
) -> None:
    h = cal.h
    secret, _ = await cal.planned(ANA)
    await h.run_until(OPENS + later(hours=1))
    await h.command(ANA, "close")
    closed, planned = await cal.events(secret)
    assert closed.summary == "Growth Circle: session 1" and closed.status == "CONFIRMED"
    assert (closed.starts, closed.ends) == (OPENS, OPENS + later(hours=1)), "closed early"
    assert planned.summary == "Growth Circle: session 2" and planned.starts == OPENS + WEEK
    await h.command(ANA, "end confirm")  # the next session becomes the closing one, now
    closed_again, closing = await cal.events(secret)
    assert closed_again == closed
    assert closing.uid == planned.uid and closing.status == "CONFIRMED"
    assert closing.sequence > planned.sequence and closing.starts == h.clock.now()


async def test_sessions_closed_over_ninety_days_ago_drop_out(cal: Calendars) -> None:
    h = cal.h
    await h.form_circle(FOUR)
    await h.command(
        ANA, "schedule weekly on mon at 10:00 tz Europe/Berlin window 2d for 1 sessions"
    )
    secret = await cal.link(ANA)
    await h.run_until(OPENS + WINDOW + later(days=89))
    assert [e.summary for e in await cal.events(secret)] == ["Growth Circle: session 1"]
    await h.run(later(days=2))
    assert await cal.events(secret) == []


async def test_a_feed_shows_its_owners_circles_only_and_none_they_left(cal: Calendars) -> None:
    h = cal.h
    await scheduled_circle(h)
    await h.command(ELI, "create Night Owls", conversation="local:acme:#owls")
    await h.command(
        ELI,
        "schedule weekly on wed at 20:00 tz America/Los_Angeles",
        conversation="local:acme:#owls",
    )
    ana, eli, ben = await cal.link(ANA), await cal.link(ELI), await cal.link(BEN)
    assert [e.summary for e in await cal.events(ana)] == ["Growth Circle: session 1"]
    assert [e.summary for e in await cal.events(eli)] == ["Night Owls: session 1"]
    await h.command(BEN, "leave")
    assert await cal.events(ben) == [], "a circle left drops out of the feed"


async def test_reset_replaces_the_link_and_the_old_one_is_not_found_at_once(
    cal: Calendars,
) -> None:
    h = cal.h
    old, _ = await cal.planned(ANA)
    again = await h.command(ANA, "calendar")
    assert not LINK.search(again), "the secret is kept only as a hash: it is shown once"
    assert "calendar reset" in again
    new = await cal.link(ANA, "calendar reset")
    assert new != old
    assert (await cal.fetch(old))[0].status == 404
    assert len(await cal.events(new)) == 1
    for wrong in ("0" * 64, "short", new.upper(), new[:-1] + ("a" if new[-1] != "a" else "b")):
        response, body = await cal.fetch(wrong)
        assert (response.status, body) == (404, b"") and "Cache-Control" in response.headers
    async with h.uow() as uow:
        stored = await uow.calendar_feeds.find()
    assert [f.secret_hash for f in stored] == [hashlib.sha256(new.encode()).hexdigest()]


async def test_forget_me_makes_the_link_stop_working(cal: Calendars) -> None:
    h = cal.h
    secret, _ = await cal.planned(ANA)
    answer = await h.command(ANA, "forget me confirm")
    assert "calendar link no longer works" in answer
    assert (await cal.fetch(secret))[0].status == 404
    async with h.uow() as uow:
        assert await uow.calendar_feeds.find() == []
    assert LINK.search(await cal.h.command(ANA, "calendar")), "asked again, a new link is made"


async def test_the_link_is_answered_privately_and_its_secret_is_never_logged(
    tmp_path: Path,
) -> None:
    """Through `circles serve` (here the playground): the link in the answer works over HTTP."""
    server = Server(tmp_path)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            state = await api(http, server, "command", member="ana", text="calendar")
            found = re.search(rf"{server.base}/calendar/[0-9a-f]{{64}}\.ics", str(state))
            assert found, "the answer names a working local link"
            async with http.get(found.group(0)) as response:
                assert response.status == 200
                calendar = icalendar.Calendar.from_ical(await response.read())
            summaries = [str(e["SUMMARY"]) for e in calendar.walk("VEVENT")]
            assert any(s.startswith("Growth Circle: session") for s in summaries), summaries
            async with http.get(f"{server.base}/playground/api/state?member=ben") as response:
                assert found.group(0) not in await response.text(), "nobody else sees it"
    finally:
        _, _, log = await server.stop()
    assert found.group(0).rsplit("/", 1)[1] not in log
