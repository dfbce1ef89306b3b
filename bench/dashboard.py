"""Dashboard bench (SPEC §16): a programme page of 2,000 participants in 400 circles, p95.

    .venv/bin/python bench/dashboard.py --participants 2000 --circles 400 --sessions 6

Generates, by bulk inserts, one programme as it stands after `--sessions` closed
sessions: its participants' enrolments with start ratings, the grouping, 400
launched circles with their members, sessions, attendance, prompts, check-ins,
asks and replies, commitments at every stage of review, session and midpoint
pulses and end surveys; then times the programme page's server side, what a
request for `/admin/` programme page asks of `storage.dashboard_store`: who is
looking (`access`) and the page's figures (`programme`), many times over.

Baselines in the same run, on the same data: a trivial query (the programme's
row by id, the least a page can read) and the naive way, circle by circle
through the unit of work's repositories, as `bot.lookups.turnouts` and
`follow_through` ask for the admins' `health` report (health, participation
and follow-through only: a fraction of the page). Runs on SQLite (a file in a
temporary folder) and on PostgreSQL (a fresh database `circles_bench_…` on the
server `--postgres` names, dropped at the end); `--no-postgres` skips it. Prints
a table of wall-clock times, and the page's CPU time in this process (on SQLite
all of its work; on PostgreSQL without the server's), which shows what the page
costs when other work shares the cores; exits with status 1 when the page's p95
is 300 ms or more.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select, text

from bench.replicas import fresh_database
from bot.dashboard import Scope
from bot.people import PersonKey
from storage import tables
from storage.dashboard_store import PROGRAMMES, SqlDashboard
from storage.db import Database, create_engine, upgrade
from storage.uow import SqlUnitOfWork

GOAL_MS = 300.0
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
PLATFORM, WORKSPACE = "slack", "T1"
START = datetime(2026, 9, 7, 9, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
AREAS = ("giving feedback", "delegation", "influencing", "coaching", "prioritising")
CHUNK = 5000  # rows a bulk insert sends at once


def _table(row: type[Any]) -> Any:
    return row.__table__


class Cohort:
    """The rows of one programme after some closed sessions, generated with a fixed seed."""

    def __init__(self, *, participants: int, circles: int, sessions: int, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.rows: dict[Any, list[dict[str, Any]]] = {}
        self.ids: dict[Any, int] = {}
        self._generate(participants, circles, sessions)

    def add(self, table: Any, **row: Any) -> int:
        """A row with the next id of its table."""
        id = self.ids[table] = self.ids.get(table, 0) + 1
        self.rows.setdefault(table, []).append({"id": id, **row})
        return id

    def _generate(self, participants: int, circles: int, sessions: int) -> None:
        t = tables
        people = [
            self.add(
                _table(t.PersonRow),
                platform=PLATFORM,
                workspace=WORKSPACE,
                user=f"U{n:05d}",
                name=f"Person {n}",
                tz="Europe/Berlin",
                tz_pinned=False,
                hours="09:00-17:00 mon-fri",
                away_until=None,
                admin=False,
            )
            for n in range(participants + 1)
        ]
        self.manager, members = people[0], people[1:]
        self.programme = self.add(
            _table(t.ProgrammeRow),
            platform=PLATFORM,
            workspace=WORKSPACE,
            name="New Leads",
            name_key="new leads",
            focus="Grow into the first team lead role",
            areas="\n".join(AREAS),
            kind="mentoring-circle",
            smallest=4,
            largest=6,
            emphasis="balanced",
            schedule=f"weekly on tue at 10:00 for {sessions + 2} sessions",
            managers=str(self.manager),
            created_at=START - 4 * WEEK,
            status="running",
            midpoint_at=START + WEEK * (sessions // 2),
            reported_at=None,
        )
        groups = [members[n::circles] for n in range(circles)]
        self.add(
            _table(t.GroupingRow),
            programme_id=self.programme,
            circles="\n".join(",".join(map(str, g)) for g in groups),
            locked="",
            made_at=START - 2 * WEEK,
            basis="",
        )
        for number, group in enumerate(groups, 1):
            self._circle(number, group, sessions)

    def _circle(self, number: int, group: list[int], sessions: int) -> None:
        rng, t = self.rng, tables
        circle = self.add(
            _table(t.CircleRow),
            platform=PLATFORM,
            workspace=WORKSPACE,
            name=f"New Leads {number}",
            name_key=f"new leads {number}",
            kind="mentoring-circle",
            home=f"slack:{WORKSPACE}:C{number:05d}",
            tz="Europe/Berlin",
            window=2 * 86400,
            facilitation="rotating",
            hot_seat="presenter",
            commitments="on",
            review=True,
            max_size=8,
            created_at=START - WEEK,
            rules="Be kind",
            focus="",
            min_size=3,
            checkin_question="",
            rhythm="weekly on tue at 10:00",
            anchor=None,
            end_after=sessions + 2,
            end_on=None,
            status="active",
        )
        self.add(
            _table(t.MatchRecordRow),
            programme_id=self.programme,
            circle_id=circle,
            members=",".join(map(str, group)),
            pair=False,
            at=START - WEEK,
        )
        engaged = {p: rng.random() for p in group}  # how likely each is to take part
        for position, person in enumerate(group):
            self.add(
                _table(t.MembershipRow),
                circle_id=circle,
                person_id=person,
                role="organiser" if position == 0 else "member",
                joined_at=START - WEEK,
                position=position,
                left_at=None,
                agreed_at=START - WEEK,
                missed=0 if engaged[person] > 0.3 else 2,
                invited_by=None,
            )
            self.add(
                _table(t.EnrolmentRow),
                programme_id=self.programme,
                person_id=person,
                invited_at=START - 4 * WEEK,
                step=None,
                intake_done_at=START - 3 * WEEK,
                reminders=0,
                left_at=None,
                circle_id=circle,
                wants="delegation\ncoaching",
                own_words="Delegating without dropping the ball",
                offers="giving feedback",
                function="Engineering",
                experience="2-5y",
                preference="none",
                not_with="",
                ratings="".join(str(rng.randint(1, 4)) for _ in AREAS),
            )
        open_commitments: list[int] = []
        for n in range(1, sessions + 2):
            opens = START + (n - 1) * WEEK
            closed = n <= sessions
            session = self.add(
                _table(t.SessionRow),
                circle_id=circle,
                number=n,
                opens_at=opens,
                closes_at=opens + timedelta(days=2),
                status="closed" if closed else "scheduled",
                facilitator_id=group[n % len(group)],
                presenter_id=group[(n + 1) % len(group)],
                facilitator_pinned=False,
                presenter_pinned=False,
                topic=None,
                final=False,
                links="",
                sequence=0,
            )
            if closed:
                open_commitments = self._session(
                    circle, session, opens, group, engaged, open_commitments
                )
        if sessions:
            self._answers(circle, group, engaged, sessions)

    def _session(
        self,
        circle: int,
        session: int,
        opens: datetime,
        group: list[int],
        engaged: dict[int, float],
        reviewing: list[int],
    ) -> list[int]:
        rng, t = self.rng, tables
        presenter = self.rows[_table(t.SessionRow)][session - 1]["presenter_id"]
        for commitment in reviewing:
            row = self.rows[_table(t.CommitmentRow)][commitment - 1]
            row["status"] = rng.choice(["done", "done", "partly", "not_yet", "dropped"])
            row["reviewed_in"] = session
        made = []
        ask = None
        for person in group:
            at = opens + timedelta(hours=rng.randint(1, 40))
            self.add(
                _table(t.AttendanceRow),
                session_id=session,
                person_id=person,
                since=opens,
                handled="",
                nudged=0,
            )
            took_part = rng.random() < engaged[person]
            state = "answered" if took_part else "missed"
            # Every member is asked to check in, commit, and review what they committed
            # to last time; the presenter for the hot seat; members reply to it.
            for kind in ("checkin", "commitment", "review", "hot_seat", "response"):
                if kind == "hot_seat" and person != presenter:
                    continue
                self.add(
                    _table(t.PromptRow),
                    session_id=session,
                    person_id=person,
                    kind=kind,
                    required=kind != "response",
                    created_at=opens,
                    commitment_id=None,
                    state=state,
                )
            if not took_part:
                continue
            self.add(
                _table(t.CheckInRow),
                session_id=session,
                person_id=person,
                text="A week of hiring and a hard conversation",
                answered_at=at,
                source=None,
                version=0,
                posted=True,
            )
            if ask is None:
                ask = self.add(
                    _table(t.AskRow),
                    session_id=session,
                    person_id=person,
                    text="How do I say no to my own manager?",
                    posted_at=at,
                    source=None,
                    version=0,
                )
            else:
                self.add(
                    _table(t.ResponseRow),
                    ask_id=ask,
                    person_id=person,
                    ref=f"r{self.ids.get(_table(t.ResponseRow), 0)}",
                    at=at,
                )
            if rng.random() < 0.8:
                made.append(
                    self.add(
                        _table(t.CommitmentRow),
                        circle_id=circle,
                        person_id=person,
                        session_id=session,
                        text="Delegate the weekly report",
                        made_at=at,
                        status="open",
                        reflection=None,
                        reviewed_in=None,
                        carried=0,
                        source=None,
                    )
                )
            if rng.random() < 0.6:
                self.add(
                    _table(t.PulseRow),
                    person_id=person,
                    circle_id=circle,
                    session_id=session,
                    kind="session",
                    asked_at=opens + timedelta(days=2),
                    programme_id=self.programme,
                    score=rng.randint(2, 5),
                    note="",
                    shared=False,
                    answered_at=opens + timedelta(days=2, hours=1),
                )
        return made

    def _answers(
        self, circle: int, group: list[int], engaged: dict[int, float], sessions: int
    ) -> None:
        """Midpoint pulses and end surveys of those who took part."""
        rng, t = self.rng, tables
        midpoint = self.ids[_table(t.SessionRow)] - (sessions + 1) + sessions // 2
        end = START + WEEK * sessions
        for person in group:
            if rng.random() > engaged[person]:
                continue
            shared = rng.random() < 0.3
            self.add(
                _table(t.PulseRow),
                person_id=person,
                circle_id=circle,
                session_id=midpoint,
                kind="midpoint",
                asked_at=end,
                programme_id=self.programme,
                score=rng.randint(1, 5),
                note="Too many meetings this month" if rng.random() < 0.4 else "",
                shared=shared,
                answered_at=end,
            )
            self.add(
                _table(t.SurveyRow),
                programme_id=self.programme,
                person_id=person,
                asked_at=end,
                step=None,
                reminders=0,
                ratings="".join(str(rng.randint(2, 5)) for _ in AREAS),
                changed="I hand work over sooner",
                shared=shared,
                recommend=rng.randint(4, 10),
                answered_at=end + timedelta(hours=3),
            )

    async def insert(self, engine: Database) -> int:
        total = 0
        for table in tables.metadata.sorted_tables:
            rows = self.rows.get(table, [])
            for start in range(0, len(rows), CHUNK):
                async with engine.begin() as conn:
                    await conn.execute(insert(table), rows[start : start + CHUNK])
            total += len(rows)
        if engine.dialect.name == "postgresql":  # as autovacuum would soon after such a load
            async with engine.connect() as conn:
                await conn.execute(text("ANALYZE"))
        return total


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) > 1 else samples[0]


async def timed(call: Callable[[], Awaitable[object]], iterations: int) -> dict[str, list[float]]:
    """Wall-clock milliseconds of each call, and this process's CPU milliseconds."""
    await call()  # warm: statements compiled, caches filled
    wall, cpu = [], []
    for _ in range(iterations):
        started, used = time.perf_counter(), time.process_time()
        await call()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    return {"wall": wall, "cpu": cpu}


async def measure(
    label: str, engine: Database, cohort: Cohort, args: argparse.Namespace
) -> dict[str, Any]:
    started = time.perf_counter()
    rows = await cohort.insert(engine)
    print(f"{label}: {rows:,} rows inserted in {time.perf_counter() - started:.1f} s", flush=True)
    dashboard = SqlDashboard(engine)
    key = PersonKey(PLATFORM, WORKSPACE, "U00000")
    scope = Scope(PLATFORM, WORKSPACE, cohort.programme)

    async def page() -> object:
        access = await dashboard.access(key, admins=frozenset())
        assert access is not None
        found = await dashboard.programme(access, scope)
        assert found is not None and len(found.circles) == args.circles
        return found

    async def trivial() -> object:
        async with engine.connect() as conn:
            return (
                await conn.execute(select(PROGRAMMES).where(PROGRAMMES.c.id == cohort.programme))
            ).first()

    async def naive() -> object:
        figures = []
        async with SqlUnitOfWork(engine) as uow:
            for record in await uow.match_records.find(programme_id=cohort.programme):
                checked = expected = 0
                for session in await uow.sessions.find(circle_id=record.circle_id, status="closed"):
                    expected += len(await uow.attendance.find(session_id=session.id))
                    checked += len(
                        await uow.prompts.find(
                            session_id=session.id, kind="checkin", state="answered"
                        )
                    )
                commitments = await uow.commitments.find(circle_id=record.circle_id)
                figures.append(
                    (checked, expected, sum(1 for c in commitments if c.status == "done"))
                )
        return figures

    result = {
        "page": await timed(page, args.iterations),
        "trivial": await timed(trivial, args.iterations),
        "naive": await timed(naive, args.naive_iterations),
    }
    return result


async def run(args: argparse.Namespace) -> int:
    cohort = Cohort(participants=args.participants, circles=args.circles, sessions=args.sessions)
    gc.freeze()  # the generated rows stay alive: a server's collector would never walk them
    results: dict[str, dict[str, Any]] = {}
    async with AsyncExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        engine = create_engine(f"sqlite:///{folder / 'bench.db'}")
        await upgrade(engine)
        try:
            results["SQLite"] = await measure("SQLite", engine, cohort, args)
        finally:
            await engine.dispose()
        if args.postgres:
            url = await stack.enter_async_context(fresh_database(args.postgres))
            engine = create_engine(url)
            try:
                results["PostgreSQL"] = await measure("PostgreSQL", engine, cohort, args)
            finally:
                await engine.dispose()
    print()
    print(
        f"{args.participants:,} participants, {args.circles} circles, {args.sessions} closed sessions"
    )
    print(
        "| database | page p50 | page p95 | page CPU p95 (this process) | trivial query p95"
        " | page ÷ trivial | naive per circle p95 | naive ÷ page |"
    )
    print("|---|---|---|---|---|---|---|---|")
    ok = True
    for label, found in results.items():
        page, cpu = p95(found["page"]["wall"]), p95(found["page"]["cpu"])
        trivial, naive = p95(found["trivial"]["wall"]), p95(found["naive"]["wall"])
        ok = ok and page < GOAL_MS
        print(
            f"| {label} | {statistics.median(found['page']['wall']):.1f} ms | {page:.1f} ms"
            f" | {cpu:.1f} ms | {trivial:.2f} ms | {page / trivial:.0f}× | {naive:.0f} ms"
            f" | {naive / page:.1f}× |"
        )
    print(
        f"(goal: page p95 < {GOAL_MS:.0f} ms; on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})"
    )
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--circles", type=int, default=400)
    parser.add_argument("--sessions", type=int, default=6, help="closed sessions in every circle")
    parser.add_argument("--iterations", type=int, default=200, help="page requests timed")
    parser.add_argument("--naive-iterations", type=int, default=5, help="naive pages timed (slow)")
    parser.add_argument(
        "--postgres",
        default=DEFAULT_POSTGRES,
        help="a PostgreSQL server to create the bench database on",
    )
    parser.add_argument("--no-postgres", dest="postgres", action="store_const", const=None)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
