"""`GET /calendar/<secret>.ics`: a person's circle sessions as an iCalendar feed (SPEC §16).

Calendar apps subscribe to the address and poll it (hourly, or as their
owner set), so an answer is one query (`Core.calendar`) and is never cached
on the way: it is private to whoever holds the link. Which sessions, and what
each says, the core decides (`bot.calendars`); here they are written with the
`icalendar` library. Each session keeps one UID for life and a SEQUENCE that
goes up when it moves, so a calendar app updates the event it holds instead of
adding another. An address that is malformed, unknown or reset gets a bare 404:
nothing tells a guesser whether a feed was ever there.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Protocol
from urllib.parse import urlsplit

from aiohttp import web
from icalendar import Calendar, Event

from bot.calendars import Feed

# What `bot.calendars` makes (32 random bytes in hex): anything else is not worth a query.
SECRET = re.compile(r"[0-9a-f]{64}")
REFRESH = timedelta(hours=1)  # how often we ask calendar apps to look again
HEADERS = {
    "Cache-Control": "private, no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class Feeds(Protocol):
    async def calendar(self, secret: str) -> Feed | None: ...


def feed_to_ical(feed: Feed, *, host: str) -> bytes:
    """The feed as an iCalendar document; every event's UID is `session-<id>@<host>`."""
    calendar = Calendar()
    calendar.add("prodid", "-//Circles//Calendar feed//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", feed.name)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", REFRESH)
    for item in feed.events:
        event = Event()
        event.add("uid", f"session-{item.session_id}@{host}")
        event.add("dtstamp", feed.made_at)
        event.add("dtstart", item.starts)
        event.add("dtend", item.ends)
        event.add("sequence", item.sequence)
        event.add("status", "CANCELLED" if item.cancelled else "CONFIRMED")
        event.add("summary", item.summary)
        event.add("description", item.description)
        event.add("transp", "TRANSPARENT")  # an open session is not a meeting: nobody is busy
        calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical


class CalendarFeeds:
    """The mount that serves feeds from `core`; links and UIDs name `public_url`'s host."""

    def __init__(self, core: Feeds, *, public_url: str) -> None:
        self._core = core
        self._host = urlsplit(public_url).hostname or "circles"

    def mount(self, app: web.Application) -> None:
        app.router.add_get("/calendar/{secret}.ics", self._feed)

    async def _feed(self, request: web.Request) -> web.Response:
        secret = request.match_info["secret"]
        feed = await self._core.calendar(secret) if SECRET.fullmatch(secret) else None
        if feed is None:
            return web.Response(status=404, headers=HEADERS)
        return web.Response(
            body=feed_to_ical(feed, host=self._host),
            content_type="text/calendar",
            charset="utf-8",
            headers=HEADERS,
        )
