"""Simulated time for the local adapter: jobs, people and delivery on a fake clock.

The demo and the playground need a circle to live through days in moments.
`Simulation.run_until(t)` jumps the fake clock from one interesting moment to
the next (a session opening, a stage falling due, a close, a person acting,
a message becoming deliverable) and at each one does exactly what the real
scheduler and delivery worker do: call the core's job functions with ids,
then deliver the outbox to the in-memory `LocalWorld`.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Awaitable, Callable
from datetime import datetime

from adapters.clock import FakeClock
from adapters.local.world import Arrival, LocalWorld
from bot.circles import CircleStatus
from bot.core import Core
from bot.sessions import SessionStatus
from storage.delivery import OutboxStore
from storage.uow import SqlUnitOfWorkFactory

Action = Callable[[], Awaitable[None]]
Listener = Callable[[Arrival], None]


class Simulation:
    def __init__(
        self, *, core: Core, uow: SqlUnitOfWorkFactory, clock: FakeClock, world: LocalWorld
    ) -> None:
        self.core = core
        self.clock = clock
        self.world = world
        self._uow = uow
        self._outbox = OutboxStore(uow.engine)
        self._due: dict[int, datetime] = {}
        self._actions: list[tuple[datetime, int, Action]] = []
        self._seq = itertools.count()
        self.listeners: list[Listener] = []

    def at(self, moment: datetime, action: Action) -> None:
        """Do `action` when the clock reaches `moment` (now, if that has passed)."""
        heapq.heappush(self._actions, (max(moment, self.clock.now()), next(self._seq), action))

    async def run_until(self, end: datetime) -> None:
        while True:
            await self._run_jobs()
            while self._actions and self._actions[0][0] <= self.clock.now():
                _, _, action = heapq.heappop(self._actions)
                await action()
                await self.settle()
            moment = await self._next_moment()
            if moment is None or moment > end:
                break
            self.clock.set(moment)
        if end > self.clock.now():
            self.clock.set(end)

    async def settle(self) -> None:
        """Refresh when each open session next needs attention, and deliver what is due."""
        async with self._uow() as uow:
            open_sessions = await uow.sessions.find(status=SessionStatus.OPEN)
        for session in open_sessions:
            assert session.id is not None
            due = await self.core.send_due(session.id)
            if due is None:
                self._due.pop(session.id, None)
            else:
                self._due[session.id] = due
        await self.deliver()

    async def deliver(self) -> None:
        """Deliver every due outbox row, roots before their replies."""
        while batch := await self._outbox.due(self.clock.now()):
            for delivery in batch:
                ref = await self.world.deliver(delivery, self.clock.now())
                await self._outbox.mark_sent(delivery.id, ref=ref, now=self.clock.now())
                for listener in self.listeners:
                    listener(self.world.arrivals[-1])

    async def _run_jobs(self) -> None:
        now = self.clock.now()
        async with self._uow() as uow:
            scheduled = await uow.sessions.find(status=SessionStatus.SCHEDULED)
            opened = await uow.sessions.find(status=SessionStatus.OPEN)
            live = {c.id for c in await uow.circles.find(status=CircleStatus.ACTIVE)}
            live |= {c.id for c in await uow.circles.find(status=CircleStatus.FORMING)}
        for session in opened:
            assert session.id is not None
            if session.closes_at <= now:
                await self.core.close_session(session.id)
                self._due.pop(session.id, None)
        for session in scheduled:
            assert session.id is not None
            if session.opens_at <= now and session.circle_id in live:
                await self.core.open_session(session.id)
        for session_id, due in list(self._due.items()):
            if due <= now:
                del self._due[session_id]
        await self.settle()

    async def _next_moment(self) -> datetime | None:
        async with self._uow() as uow:
            scheduled = await uow.sessions.find(status=SessionStatus.SCHEDULED)
            opened = await uow.sessions.find(status=SessionStatus.OPEN)
            live = {c.id for c in await uow.circles.find(status=CircleStatus.ACTIVE)}
            live |= {c.id for c in await uow.circles.find(status=CircleStatus.FORMING)}
        moments = [s.opens_at for s in scheduled if s.circle_id in live]
        moments += [s.closes_at for s in opened]
        moments += list(self._due.values())
        if self._actions:
            moments.append(self._actions[0][0])
        outbox_due = await self._outbox.next_due_at()
        if outbox_due is not None:
            moments.append(outbox_due)
        later = [m for m in moments if m > self.clock.now()]
        return min(later) if later else None
