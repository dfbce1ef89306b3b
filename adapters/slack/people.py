"""What we know about Slack users: names, time zones, admin rights, DM channels (SPEC §8).

`users.info` is called between a request and its acknowledgement only for
the one person a command comes from, and only when we have never looked
them up: a workspace admin's first command needs their admin flag (a
bounded wait, `FIRST_LOOK_UP`). Otherwise a request is translated with what
is cached (in memory, backed by the `slack_people` table); a person not yet
known, or last looked up more than a day ago, is looked up in the
background, and what Slack says is reported to the core as a
`ProfileUpdated` event, which stores the name, time zone and admin flag on
the person. Admins are Slack workspace admins and owners (`CIRCLES_ADMINS`
is applied by the core).

Slack rate-limits `users.info` per workspace: a 429 pauses every look-up in
that workspace for its `Retry-After`; the ones that wanted to run meanwhile
run once it is over, each person once however many requests named them.

A person's DM channel id (`D…`) is remembered from the first
`chat.postMessage` that reaches them: `chat.update` and file uploads need it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.events import Actor, ProfileUpdated
from bot.people import PersonKey
from bot.ports import Clock
from scheduler.messenger import retry_after
from storage.db import Database
from storage.slack_store import PeopleRows, PersonRecord

from .inbound import PLATFORM, Profile
from .workspaces import Workspaces

log = logging.getLogger(__name__)

REFRESH_AFTER = timedelta(days=1)
FIRST_LOOK_UP = 1.5  # seconds a command waits for its author's first look-up (Slack allows 3)
PAUSE = 30.0  # seconds to pause after a 429 without a readable Retry-After
MEMORY = 100_000  # people whose first look-up this process remembers having tried

Report = Callable[[ProfileUpdated], Awaitable[object]]
ClientFor = Callable[[str], AsyncWebClient]


@dataclass(frozen=True, kw_only=True)
class _Known:
    profile: Profile | None  # None: looked up, and Slack does not know them
    fetched_at: datetime | None
    dm_channel: str | None = None


class _Later(Exception):
    """Slack asked us to wait before the next `users.info` in this workspace."""


def _known(record: PersonRecord) -> _Known:
    found = record.found and record.fetched_at is not None
    return _Known(
        profile=Profile(name=record.name, tz=record.tz, admin=record.admin) if found else None,
        fetched_at=record.fetched_at,
        dm_channel=record.dm_channel,
    )


class PeopleDirectory:
    def __init__(
        self,
        *,
        engine: Database,
        clock: Clock,
        workspaces: Workspaces,
        client_for: ClientFor,
        report: Report,
        concurrency: int = 4,
    ) -> None:
        self._rows = PeopleRows(engine)
        self._clock = clock
        self._workspaces = workspaces
        self._client_for = client_for
        self._report = report
        self._known: dict[tuple[str, str], _Known] = {}
        self._pending: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self._paused: dict[str, datetime] = {}  # team -> when users.info may be called again
        self._waiting: dict[str, set[str]] = {}  # team -> users to look up once the pause ends
        self._wake: dict[str, asyncio.TimerHandle] = {}
        self._first_tried: set[tuple[str, str]] = set()

    # --- on the request path: memory, then one indexed read ------------------------------

    async def profiles(
        self, team: str, users: Iterable[str]
    ) -> tuple[dict[str, Profile], list[str]]:
        """What we know of these users, and who to look up (unknown, or older than a day).

        The caller starts the look-ups once its request is handled, so they
        never compete with it.
        """
        wanted = [u for u in dict.fromkeys(users) if u]
        missing = [u for u in wanted if (team, u) not in self._known]
        if missing:
            await self._load(team, missing)
        found: dict[str, Profile] = {}
        stale: list[str] = []
        now = self._clock.now()
        for user in wanted:
            known = self._known.get((team, user))
            if known is None or known.fetched_at is None or now - known.fetched_at > REFRESH_AFTER:
                stale.append(user)
            if known is not None and known.profile is not None:
                found[user] = known.profile
        return found, stale

    async def first_look(self, team: str, user: str) -> Profile | None:
        """Someone we never looked up sent a command: ask Slack now, briefly.

        Their admin flag decides what the command may do. Slack allows three
        seconds until the acknowledgement; after `FIRST_LOOK_UP`, or while
        Slack has us paused, the command goes on with what we know and the
        look-up happens in the background. Each person gets one such try per
        process: while Slack is slow or down, commands do not each wait for it.
        """
        known = self._known.get((team, user))
        if (known is not None and known.fetched_at is not None) or self._pause_of(team):
            return None
        if (team, user) in self._first_tried or (team, user) in self._pending:
            return None
        if len(self._first_tried) >= MEMORY:
            self._first_tried.clear()
        self._first_tried.add((team, user))
        try:
            profile = await asyncio.wait_for(self._ask(team, user), timeout=FIRST_LOOK_UP)
        except Exception as error:  # _Later, a timeout, Slack unreachable: the background tries
            log.info(
                "first slack profile look-up deferred",
                extra={"team": team, "user": user, "error": type(error).__name__},
            )
            return None
        if profile is None:
            return None
        await self._store(team, user, profile.profile)
        if profile.profile is not None:  # the core hears of it as of a background look-up
            self._start(team, user, self._report(self._updated(team, user, profile.profile)))
        return profile.profile

    async def _load(self, team: str, users: list[str]) -> None:
        for record in await self._rows.load(team, users):
            self._known[(team, record.user)] = _known(record)

    async def resolve(self, team: str, users: Iterable[str]) -> dict[str, Profile | None]:
        """Many people now (a channel's members for `programme invite #channel`): cached
        profiles, else `users.info`, each person once and `concurrency` at a time. None: a
        bot, a deactivated account or someone Slack does not know; absent: Slack could not
        say (paused or failing), and nothing was cached."""
        wanted = [u for u in dict.fromkeys(users) if u]
        found, stale = await self.profiles(team, wanted)
        answers: dict[str, Profile | None] = {u: found.get(u) for u in wanted if u not in stale}

        async def ask(user: str) -> None:
            async with self._slots:
                try:
                    answer = None if self._pause_of(team) else await self._ask(team, user)
                except _Later:
                    answer = None
            if answer is None:  # Slack could not say: what we knew, if anything
                if user in found:
                    answers[user] = found[user]
                else:
                    self.look_up(team, user)
                return
            await self._store(team, user, answer.profile)
            answers[user] = answer.profile
            if answer.profile is not None:  # the core stores the name and time zone
                self._start(team, user, self._report(self._updated(team, user, answer.profile)))

        await asyncio.gather(*(ask(u) for u in stale))
        return answers

    # --- in the background ---------------------------------------------------------------

    def look_up(self, team: str, user: str) -> None:
        """Ask Slack about this person soon, once, whatever the number of requests meanwhile."""
        key = (team, user)
        if key in self._pending:
            return
        if self._pause_of(team):
            self._waiting.setdefault(team, set()).add(user)
            return
        self._start(team, user, self._look_up(team, user))

    def _start(self, team: str, user: str, work: Awaitable[object]) -> None:
        key = (team, user)
        task = asyncio.get_running_loop().create_task(self._quietly(work))
        self._pending[key] = task
        task.add_done_callback(lambda _t: self._pending.pop(key, None))

    @staticmethod
    async def _quietly(work: Awaitable[object]) -> None:
        try:
            await work
        except Exception as error:  # logged by type: a look-up or a report is an extra
            log.error("slack profile work failed", extra={"error": type(error).__name__})

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    async def drain(self) -> None:
        """Wait for every look-up under way (tests and shutdown); paused ones stay waiting."""
        while self._pending:
            await asyncio.gather(*list(self._pending.values()), return_exceptions=True)

    async def close(self) -> None:
        for handle in self._wake.values():
            handle.cancel()
        self._wake.clear()
        for task in list(self._pending.values()):
            task.cancel()
        await asyncio.gather(*list(self._pending.values()), return_exceptions=True)

    async def _look_up(self, team: str, user: str) -> None:
        async with self._slots:
            if self._pause_of(team):  # a 429 arrived while this one waited for a slot
                self._waiting.setdefault(team, set()).add(user)
                return
            try:
                answer = await self._ask(team, user)
            except _Later:
                self._waiting.setdefault(team, set()).add(user)
                return
            except Exception as error:  # a look-up is an extra: log it, try again next time
                log.error(
                    "slack profile look-up failed",
                    extra={"team": team, "user": user, "error": type(error).__name__},
                )
                return
            if answer is None:
                return
            try:
                await self._store(team, user, answer.profile)
                if answer.profile is not None:
                    await self._report(self._updated(team, user, answer.profile))
            except Exception as error:
                log.error(
                    "slack profile could not be stored",
                    extra={"team": team, "user": user, "error": type(error).__name__},
                )

    # --- Slack's rate limit ------------------------------------------------------------------

    def _pause_of(self, team: str) -> bool:
        until = self._paused.get(team)
        if until is None:
            return False
        if self._clock.now() < until:
            return True
        del self._paused[team]
        return False

    def _pause(self, team: str, seconds: float) -> None:
        """No users.info in `team` for `seconds`; then look up everyone who waited."""
        self._paused[team] = self._clock.now() + timedelta(seconds=seconds)
        log.warning(
            "users.info rate-limited; look-ups paused", extra={"team": team, "seconds": seconds}
        )
        if (handle := self._wake.pop(team, None)) is not None:
            handle.cancel()
        self._wake[team] = asyncio.get_running_loop().call_later(seconds, self.resume, team)

    def resume(self, team: str) -> None:
        """Start the look-ups that waited for a pause to end (if it has ended by the clock)."""
        self._wake.pop(team, None)
        if self._pause_of(team):
            return
        for user in sorted(self._waiting.pop(team, set())):
            self.look_up(team, user)

    # --- asking Slack --------------------------------------------------------------------------

    async def _ask(self, team: str, user: str) -> _Answer | None:
        """What users.info says (None: no bot in that workspace, or Slack failed)."""
        bot = await self._workspaces.bot(team)
        if bot is None:
            return None
        try:
            response = await self._client_for(bot.token).users_info(user=user)
        except SlackApiError as error:
            if error.response.status_code == 429:
                self._pause(team, retry_after(error.response.headers.get("Retry-After")) or PAUSE)
                raise _Later from None
            reason = error.response.get("error") if isinstance(error.response.data, dict) else None
            if reason in ("user_not_found", "users_not_found"):
                return _Answer(None)
            log.warning("users.info failed", extra={"team": team, "user": user, "reason": reason})
            return None
        data = response.get("user") or {}
        if data.get("is_bot") or data.get("deleted"):
            return _Answer(None)
        details = data.get("profile") or {}
        name = (
            details.get("display_name")
            or details.get("real_name")
            or data.get("real_name")
            or data.get("name")
            or user
        )
        return _Answer(
            Profile(
                name=str(name)[:255],
                tz=data.get("tz") or None,
                admin=bool(
                    data.get("is_admin") or data.get("is_owner") or data.get("is_primary_owner")
                ),
            )
        )

    def _updated(self, team: str, user: str, profile: Profile) -> ProfileUpdated:
        return ProfileUpdated(
            id=f"slack:{team}:profile:{user}:{self._clock.now().isoformat()}",
            actor=Actor(
                key=PersonKey(PLATFORM, team, user),
                name=profile.name,
                tz=profile.tz,
                admin=profile.admin,
            ),
        )

    async def _store(self, team: str, user: str, profile: Profile | None) -> None:
        now = self._clock.now()
        await self._rows.save_profile(
            team,
            user,
            name=profile.name if profile else "",
            tz=profile.tz if profile else None,
            admin=bool(profile and profile.admin),
            found=profile is not None,
            now=now,
        )
        old = self._known.get((team, user))
        self._known[(team, user)] = _Known(
            profile=profile, fetched_at=now, dm_channel=old.dm_channel if old else None
        )

    # --- DM channels -------------------------------------------------------------------------

    async def dm_channel(self, team: str, user: str) -> str | None:
        if (team, user) not in self._known:
            await self._load(team, [user])
        known = self._known.get((team, user))
        return known.dm_channel if known else None

    async def remember_dm(self, team: str, user: str, channel: str) -> None:
        if await self.dm_channel(team, user) == channel:
            return
        await self._rows.save_dm_channel(team, user, channel)
        old = self._known.get((team, user))
        self._known[(team, user)] = (
            replace(old, dm_channel=channel)
            if old
            else _Known(profile=None, fetched_at=None, dm_channel=channel)
        )


@dataclass(frozen=True)
class _Answer:
    profile: Profile | None  # None: Slack does not know them (or they are a bot, or deleted)
