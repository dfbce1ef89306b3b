"""The dashboard's figures, read in a handful of aggregate queries (SPEC §15–§16).

A programme page of 400 circles must not cost 400 round trips: every figure
of every circle of a scope comes from one grouped query per kind of fact
(closed sessions' turnout, commitments, activity, pulses), whatever the
number of circles, and the core's own definitions are applied to the sums:
health is `bot.health.health` of the closed sessions' turnout; participation
is check-ins (answered check-in prompts) ÷ members expected, as the admins'
`health` report counts them; follow-through counts commitments done. Queries
read figures only: no query here selects a check-in, ask, reflection or
commitment text, and free text is read only where its author shared it.
`bench/dashboard.py` measures a programme page of 2,000 participants.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    union_all,
)

from bot.circles import CircleStatus, Role
from bot.commitments import CommitmentStatus
from bot.dashboard import (
    Access,
    CapabilityChange,
    CircleFigures,
    CirclePage,
    Funnel,
    ProgrammeLine,
    ProgrammePage,
    QuietMember,
    Recommendation,
    Scope,
    SessionTrend,
    SharedWords,
)
from bot.figures import DETRACTOR, PROMOTER, capability_changes, guarded_mean, shareable
from bot.health import Health, Turnout, health
from bot.people import PersonKey
from bot.programmes.model import Programme
from bot.prompts import PromptKind, PromptState
from bot.pulses import PulseKind
from bot.sessions import SessionStatus
from storage import codec, tables
from storage.db import Database
from storage.uow import Connection

PEOPLE = tables.PersonRow.__table__  # type: ignore[attr-defined]
CIRCLES = tables.CircleRow.__table__  # type: ignore[attr-defined]
MEMBERSHIPS = tables.MembershipRow.__table__  # type: ignore[attr-defined]
SESSIONS = tables.SessionRow.__table__  # type: ignore[attr-defined]
ATTENDANCE = tables.AttendanceRow.__table__  # type: ignore[attr-defined]
PROMPTS = tables.PromptRow.__table__  # type: ignore[attr-defined]
CHECKINS = tables.CheckInRow.__table__  # type: ignore[attr-defined]
ASKS = tables.AskRow.__table__  # type: ignore[attr-defined]
RESPONSES = tables.ResponseRow.__table__  # type: ignore[attr-defined]
COMMITMENTS = tables.CommitmentRow.__table__  # type: ignore[attr-defined]
PROGRAMMES = tables.ProgrammeRow.__table__  # type: ignore[attr-defined]
ENROLMENTS = tables.EnrolmentRow.__table__  # type: ignore[attr-defined]
GROUPINGS = tables.GroupingRow.__table__  # type: ignore[attr-defined]
MATCHES = tables.MatchRecordRow.__table__  # type: ignore[attr-defined]
PULSES = tables.PulseRow.__table__  # type: ignore[attr-defined]
SURVEYS = tables.SurveyRow.__table__  # type: ignore[attr-defined]

NO_PROGRAMME = "No programme"  # what the dashboard calls the circles made by hand
END_SURVEY = "end survey"
AT_RISK = (Health.AT_RISK, Health.DORMANT)

# Which circles a query reads: a condition on a circle id column.
Among = Callable[[Any], ColumnElement[bool]]


def _in_programme(programme_id: int) -> Among:
    launched = select(MATCHES.c.circle_id).where(MATCHES.c.programme_id == programme_id)
    return lambda column: column.in_(launched)


def _hand_made(platform: str, workspace: str) -> Among:
    """The workspace's circles that no programme launched."""
    circles = select(CIRCLES.c.id).where(
        CIRCLES.c.platform == platform,
        CIRCLES.c.workspace == workspace,
        CIRCLES.c.id.not_in(select(MATCHES.c.circle_id)),
    )
    return lambda column: column.in_(circles)


def _one(circle_id: int) -> Among:
    return lambda column: column == circle_id


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _expected(session_id: Any) -> Any:
    """Members expected in a session: its attendance, as `bot.lookups.turnouts` counts it."""
    return (
        select(func.count())
        .where(ATTENDANCE.c.session_id == session_id)
        .correlate_except(ATTENDANCE)
        .scalar_subquery()
    )


def _checked_in(session_id: Any) -> Any:
    """Check-ins in a session: its answered check-in prompts, as `turnouts` counts them."""
    return (
        select(func.count())
        .where(
            PROMPTS.c.session_id == session_id,
            PROMPTS.c.kind == PromptKind.CHECKIN.value,
            PROMPTS.c.state == PromptState.ANSWERED.value,
        )
        .correlate_except(PROMPTS)
        .scalar_subquery()
    )


def _taking_part() -> ColumnElement[bool]:
    return and_(MEMBERSHIPS.c.left_at.is_(None), MEMBERSHIPS.c.role != Role.ORGANISER_ONLY.value)


@dataclass
class _Tally:
    """Sums for one circle or one session number, before they become figures."""

    sessions: int = 0  # closed ones
    checked_in: int = 0
    expected: int = 0
    recent: list[Turnout] = field(default_factory=list)  # the last two closed sessions
    made: int = 0
    done: int = 0
    reviewed: int = 0
    pulses: int = 0
    pulse_total: int = 0
    last: datetime | None = None

    def closed(self, checked_in: int, expected: int) -> None:
        """Count a closed session in; sessions come oldest first."""
        self.sessions += 1
        self.checked_in += checked_in
        self.expected += expected

    @property
    def participation(self) -> float | None:
        return _ratio(self.checked_in, self.expected)


@dataclass(frozen=True)
class _Figures:
    circles: tuple[CircleFigures, ...]
    trends: tuple[SessionTrend, ...]


class SqlDashboard:
    """`bot.dashboard.DashboardReads` on SQLite or PostgreSQL, each page in one connection."""

    def __init__(self, engine: Database) -> None:
        self._engine = engine

    async def access(self, key: PersonKey, *, admins: frozenset[str]) -> Access | None:
        """Admin as the core decides it (`person.admin` or in `CIRCLES_ADMINS`), else the
        programmes this person manages, else nobody."""
        async with self._engine.connect() as conn:
            row = await _first(
                conn, PEOPLE, platform=key.platform, workspace=key.workspace, user=key.user
            )
            if row is None:
                admin, name, managed = key.user in admins, key.user, frozenset[int]()
            else:
                person = codec.PEOPLE.from_row(row)
                admin = person.admin or key.user in admins
                name = person.name
                managed = frozenset(
                    p.id
                    for p in await _programmes_of(conn, key.platform, key.workspace)
                    if p.id is not None and person.id in p.managers
                )
        if not admin and not managed:
            return None
        return Access(key=key, name=name, admin=admin, programmes=managed)

    async def programmes(self, access: Access) -> Sequence[ProgrammeLine]:
        platform, workspace = access.key.platform, access.key.workspace
        async with self._engine.connect() as conn:
            seen = [
                p for p in await _programmes_of(conn, platform, workspace) if access.may_see(p.id)
            ]
            participants: dict[int | None, int] = dict(
                (
                    await conn.execute(
                        select(ENROLMENTS.c.programme_id, func.count())
                        .where(
                            ENROLMENTS.c.programme_id.in_([p.id for p in seen]),
                            ENROLMENTS.c.left_at.is_(None),
                        )
                        .group_by(ENROLMENTS.c.programme_id)
                    )
                ).all()
            )
            circles = await _live_health(conn, platform, workspace)
            hand_made = 0
            if access.may_see(None):
                hand_made = int(
                    await conn.scalar(
                        select(func.count(func.distinct(MEMBERSHIPS.c.person_id))).where(
                            _hand_made(platform, workspace)(MEMBERSHIPS.c.circle_id),
                            _taking_part(),
                        )
                    )
                    or 0
                )
        lines = [
            ProgrammeLine(
                scope=Scope(platform, workspace, p.id),
                name=p.name,
                status=p.status.value,
                participants=participants.get(p.id, 0),
                circles=len(circles[p.id]),
                at_risk=sum(1 for h in circles[p.id] if h in AT_RISK),
            )
            for p in seen
        ]
        if access.may_see(None) and circles[None]:
            lines.append(
                ProgrammeLine(
                    scope=Scope(platform, workspace, None),
                    name=NO_PROGRAMME,
                    status="running",
                    participants=hand_made,
                    circles=len(circles[None]),
                    at_risk=sum(1 for h in circles[None] if h in AT_RISK),
                )
            )
        return lines

    async def programme(self, access: Access, scope: Scope) -> ProgrammePage | None:
        if not _ours(access, scope.platform, scope.workspace) or not access.may_see(
            scope.programme_id
        ):
            return None
        async with self._engine.connect() as conn:
            if scope.programme_id is None:
                return await _hand_made_page(conn, scope)
            row = await _first(
                conn,
                PROGRAMMES,
                id=scope.programme_id,
                platform=scope.platform,
                workspace=scope.workspace,
            )
            if row is None:
                return None
            programme = codec.PROGRAMMES.from_row(row)
            among = _in_programme(scope.programme_id)
            figures = await _figures(conn, among)
            funnel = await _funnel(conn, scope.programme_id)
            return ProgrammePage(
                line=_line(scope, programme.name, programme.status.value, funnel.invited, figures),
                focus=programme.focus,
                areas=programme.areas,
                funnel=funnel,
                circles=figures.circles,
                trends=figures.trends,
                capabilities=await _capabilities(conn, programme),
                recommendation=await _recommendation(conn, scope.programme_id),
                shared=await _shared(conn, among, scope.programme_id),
            )

    async def circle(self, access: Access, circle_id: int) -> CirclePage | None:
        platform, workspace = access.key.platform, access.key.workspace
        async with self._engine.connect() as conn:
            found = (
                await conn.execute(
                    select(CIRCLES.c.id, MATCHES.c.programme_id)
                    .select_from(CIRCLES.outerjoin(MATCHES, MATCHES.c.circle_id == CIRCLES.c.id))
                    .where(
                        CIRCLES.c.id == circle_id,
                        CIRCLES.c.platform == platform,
                        CIRCLES.c.workspace == workspace,
                    )
                    .order_by(MATCHES.c.id)
                    .limit(1)
                )
            ).first()
            if found is None or not access.may_see(found.programme_id):
                return None
            figures = await _figures(conn, _one(circle_id))
            return CirclePage(
                scope=Scope(platform, workspace, found.programme_id),
                figures=figures.circles[0],
                sessions=figures.trends,
                quiet=await _quiet(conn, circle_id),
                facilitator=await _facilitator(conn, circle_id),
            )


async def _rows(conn: Connection, query: Any) -> list[Any]:
    """A query's rows, as plain tuples to unpack."""
    return list(await conn.execute(query))


async def _first(conn: Connection, table: Any, **equal: Any) -> dict[str, Any] | None:
    """The first row of `table` with these column values, as a dict for a codec."""
    query = select(table).where(*(table.c[name] == value for name, value in equal.items()))
    row = (await conn.execute(query.limit(1))).first()
    return dict(row._mapping) if row is not None else None


def _ours(access: Access, platform: str, workspace: str) -> bool:
    return (access.key.platform, access.key.workspace) == (platform, workspace)


async def _programmes_of(conn: Connection, platform: str, workspace: str) -> list[Programme]:
    rows = await _rows(
        conn,
        select(PROGRAMMES)
        .where(PROGRAMMES.c.platform == platform, PROGRAMMES.c.workspace == workspace)
        .order_by(PROGRAMMES.c.created_at.desc(), PROGRAMMES.c.id.desc()),
    )
    return [codec.PROGRAMMES.from_row(dict(r._mapping)) for r in rows]


def _line(
    scope: Scope, name: str, status: str, participants: int, figures: _Figures
) -> ProgrammeLine:
    live = [c for c in figures.circles if c.status != CircleStatus.ENDED.value]
    return ProgrammeLine(
        scope=scope,
        name=name,
        status=status,
        participants=participants,
        circles=len(figures.circles),
        at_risk=sum(1 for c in live if c.health in AT_RISK),
    )


async def _hand_made_page(conn: Connection, scope: Scope) -> ProgrammePage:
    among = _hand_made(scope.platform, scope.workspace)
    figures = await _figures(conn, among)
    participants = await conn.scalar(
        select(func.count(func.distinct(MEMBERSHIPS.c.person_id))).where(
            among(MEMBERSHIPS.c.circle_id), _taking_part()
        )
    )
    return ProgrammePage(
        line=_line(scope, NO_PROGRAMME, "running", int(participants or 0), figures),
        focus="",
        areas=(),
        funnel=None,
        circles=figures.circles,
        trends=figures.trends,
        capabilities=(),
        recommendation=None,
        shared=await _shared(conn, among, None),
    )


async def _live_health(
    conn: Connection, platform: str, workspace: str
) -> dict[int | None, list[Health | None]]:
    """The health of each circle of the workspace by programme (None: in none), None for
    an ended circle; from the last two closed sessions of each (a window, one query)."""
    circles = (
        select(CIRCLES.c.id, CIRCLES.c.status, MATCHES.c.programme_id)
        .select_from(CIRCLES.outerjoin(MATCHES, MATCHES.c.circle_id == CIRCLES.c.id))
        .where(CIRCLES.c.platform == platform, CIRCLES.c.workspace == workspace)
    )
    scope = await _rows(conn, circles)
    live = circles.with_only_columns(CIRCLES.c.id).where(
        CIRCLES.c.status != CircleStatus.ENDED.value
    )
    ranked = (
        select(
            SESSIONS.c.id,
            SESSIONS.c.circle_id,
            func.row_number()
            .over(partition_by=SESSIONS.c.circle_id, order_by=SESSIONS.c.number.desc())
            .label("back"),
        )
        .where(SESSIONS.c.circle_id.in_(live), SESSIONS.c.status == SessionStatus.CLOSED.value)
        .subquery()
    )
    recent = await _rows(
        conn,
        select(ranked.c.circle_id, _checked_in(ranked.c.id), _expected(ranked.c.id))
        .where(ranked.c.back <= 2)
        .order_by(ranked.c.circle_id, ranked.c.back.desc()),
    )
    turnouts: dict[int, list[Turnout]] = defaultdict(list)
    for circle_id, checked_in, expected in recent:
        turnouts[circle_id].append(Turnout(checked_in=checked_in, expected=expected))
    found: dict[int | None, list[Health | None]] = defaultdict(list)
    for circle_id, status, programme_id in scope:
        ended = status == CircleStatus.ENDED.value
        found[programme_id].append(None if ended else health(turnouts[circle_id]))
    return found


async def _figures(conn: Connection, among: Among) -> _Figures:
    """Every circle's figures and the per-session trends of the circles `among` picks."""
    by_circle: dict[int, _Tally] = defaultdict(_Tally)
    by_number: dict[int, _Tally] = defaultdict(_Tally)
    closed = await _rows(
        conn,
        select(
            SESSIONS.c.circle_id,
            SESSIONS.c.number,
            _checked_in(SESSIONS.c.id),
            _expected(SESSIONS.c.id),
        )
        .where(among(SESSIONS.c.circle_id), SESSIONS.c.status == SessionStatus.CLOSED.value)
        .order_by(SESSIONS.c.circle_id, SESSIONS.c.number),
    )
    for circle_id, number, checked_in, expected in closed:
        circle = by_circle[circle_id]
        circle.closed(checked_in, expected)
        circle.recent = [*circle.recent[-1:], Turnout(checked_in=checked_in, expected=expected)]
        by_number[number].closed(checked_in, expected)
    await _commitments(conn, among, by_circle, by_number)
    await _pulses(conn, among, by_circle, by_number)
    await _activity(conn, among, by_circle)
    members = (
        select(func.count())
        .where(MEMBERSHIPS.c.circle_id == CIRCLES.c.id, _taking_part())
        .correlate_except(MEMBERSHIPS)
        .scalar_subquery()
    )
    rows = await _rows(
        conn,
        select(CIRCLES.c.id, CIRCLES.c.name, CIRCLES.c.kind, CIRCLES.c.status, members)
        .where(among(CIRCLES.c.id))
        .order_by(CIRCLES.c.name_key),
    )
    circles = tuple(
        _circle_figures(circle_id, name, kind, status, count, by_circle[circle_id])
        for circle_id, name, kind, status, count in rows
    )
    trends = tuple(
        SessionTrend(
            number=number,
            participation=tally.participation,
            commitments_done=_ratio(tally.done, tally.reviewed),
            pulse=guarded_mean(tally.pulse_total, tally.pulses),
            pulse_answers=tally.pulses,
        )
        for number, tally in sorted(by_number.items())
        if tally.sessions  # closed sessions only
    )
    return _Figures(circles=circles, trends=trends)


def _circle_figures(
    circle_id: int, name: str, kind: str, status: str, members: int, tally: _Tally
) -> CircleFigures:
    return CircleFigures(
        circle_id=circle_id,
        name=name,
        kind=kind,
        status=status,
        health=health(tally.recent),
        members=members,
        participation=tally.participation,
        commitments_made=tally.made,
        commitments_done=tally.done,
        last_activity=tally.last,
        pulse=guarded_mean(tally.pulse_total, tally.pulses),
        pulse_answers=tally.pulses,
    )


async def _commitments(
    conn: Connection, among: Among, by_circle: dict[int, _Tally], by_number: dict[int, _Tally]
) -> None:
    """Commitments made and done per circle; done ÷ reviewed per session of their last review."""
    review = SESSIONS.alias("review")
    counts = (
        func.count(),
        func.sum(case((COMMITMENTS.c.status == CommitmentStatus.DONE.value, 1), else_=0)),
    )
    made = among(COMMITMENTS.c.circle_id)
    for circle_id, count, done in await _grouped(conn, COMMITMENTS.c.circle_id, counts, made):
        by_circle[circle_id].made, by_circle[circle_id].done = count, done
    reviewed = COMMITMENTS.join(review, review.c.id == COMMITMENTS.c.reviewed_in)
    for number, count, done in await _grouped(conn, review.c.number, counts, made, reviewed):
        by_number[number].reviewed, by_number[number].done = count, done


async def _pulses(
    conn: Connection, among: Among, by_circle: dict[int, _Tally], by_number: dict[int, _Tally]
) -> None:
    """Answered session pulses: how many and their sum, per circle and per session number."""
    counts = (func.count(), func.sum(PULSES.c.score))
    answered = and_(
        among(PULSES.c.circle_id),
        PULSES.c.kind == PulseKind.SESSION.value,
        PULSES.c.score.is_not(None),
    )
    for circle_id, count, total in await _grouped(conn, PULSES.c.circle_id, counts, answered):
        by_circle[circle_id].pulses, by_circle[circle_id].pulse_total = count, int(total)
    sessions = PULSES.join(SESSIONS, SESSIONS.c.id == PULSES.c.session_id)
    for number, count, total in await _grouped(conn, SESSIONS.c.number, counts, answered, sessions):
        by_number[number].pulses, by_number[number].pulse_total = count, int(total)


async def _grouped(
    conn: Connection, by: Any, counts: tuple[Any, ...], where: Any, source: Any = None
) -> list[Any]:
    """`counts` for each value of `by`, over the rows `where` picks (from `source`)."""
    query = select(by, *counts).where(where).group_by(by)
    return await _rows(conn, query if source is None else query.select_from(source))


async def _activity(conn: Connection, among: Among, by_circle: dict[int, _Tally]) -> None:
    """The latest check-in, ask, response or commitment of each circle: when, never what."""
    latest = union_all(
        select(SESSIONS.c.circle_id, func.max(CHECKINS.c.answered_at).label("at"))
        .join(SESSIONS, SESSIONS.c.id == CHECKINS.c.session_id)
        .where(among(SESSIONS.c.circle_id))
        .group_by(SESSIONS.c.circle_id),
        select(SESSIONS.c.circle_id, func.max(ASKS.c.posted_at))
        .join(SESSIONS, SESSIONS.c.id == ASKS.c.session_id)
        .where(among(SESSIONS.c.circle_id))
        .group_by(SESSIONS.c.circle_id),
        select(SESSIONS.c.circle_id, func.max(RESPONSES.c.at))
        .join(ASKS, ASKS.c.id == RESPONSES.c.ask_id)
        .join(SESSIONS, SESSIONS.c.id == ASKS.c.session_id)
        .where(among(SESSIONS.c.circle_id))
        .group_by(SESSIONS.c.circle_id),
        select(COMMITMENTS.c.circle_id, func.max(COMMITMENTS.c.made_at))
        .where(among(COMMITMENTS.c.circle_id))
        .group_by(COMMITMENTS.c.circle_id),
    ).subquery()
    rows = await _rows(
        conn, select(latest.c.circle_id, func.max(latest.c.at)).group_by(latest.c.circle_id)
    )
    for circle_id, at in rows:
        if at is not None:
            by_circle[circle_id].last = codec.utc(_moment(at))


def _moment(value: datetime | str) -> datetime:
    """SQLite hands back the text of a MAX over a UNION; PostgreSQL a datetime."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


async def _funnel(conn: Connection, programme_id: int) -> Funnel:
    """Invited → intake done → matched → active, counted as `programme status` counts them."""
    taking_part = and_(ENROLMENTS.c.programme_id == programme_id, ENROLMENTS.c.left_at.is_(None))
    [(invited, intake_done, active)] = await _rows(
        conn,
        select(
            func.count(),
            func.count(ENROLMENTS.c.intake_done_at),
            func.count(case((CIRCLES.c.status == CircleStatus.ACTIVE.value, 1))),
        )
        .select_from(ENROLMENTS.outerjoin(CIRCLES, CIRCLES.c.id == ENROLMENTS.c.circle_id))
        .where(taking_part),
    )
    grouping = await _first(conn, GROUPINGS, programme_id=programme_id)
    matched = 0
    if grouping is not None:
        proposed = codec.GROUPINGS.from_row(grouping).people
        enrolled = await conn.scalars(select(ENROLMENTS.c.person_id).where(taking_part))
        matched = sum(1 for person_id in enrolled if person_id in proposed)
    return Funnel(invited=invited, intake_done=intake_done, matched=matched, active=active)


async def _capabilities(conn: Connection, programme: Programme) -> tuple[CapabilityChange, ...]:
    """Each area's mean rating at intake and in the end survey, among people who rated it at
    both ends. The ratings are a few digits a person: summed here, from one query's pairs
    (cheaper than a dozen SUBSTR aggregates on both databases)."""
    pairs = await _rows(
        conn,
        select(ENROLMENTS.c.ratings, SURVEYS.c.ratings)
        .join(
            SURVEYS,
            and_(
                SURVEYS.c.programme_id == ENROLMENTS.c.programme_id,
                SURVEYS.c.person_id == ENROLMENTS.c.person_id,
            ),
        )
        .where(
            ENROLMENTS.c.programme_id == programme.id,
            ENROLMENTS.c.ratings != "",
            SURVEYS.c.ratings != "",
        ),
    )
    return capability_changes(
        programme.areas, ((_digits(start), _digits(end)) for start, end in pairs)
    )


def _digits(ratings: str) -> tuple[int, ...]:
    return tuple(int(c) for c in ratings)


async def _recommendation(conn: Connection, programme_id: int) -> Recommendation:
    recommend = SURVEYS.c.recommend
    [row] = await _rows(
        conn,
        select(
            func.count(recommend),
            func.count(case((recommend >= PROMOTER, 1))),
            func.count(case((and_(recommend > DETRACTOR, recommend < PROMOTER), 1))),
            func.count(case((recommend <= DETRACTOR, 1))),
        ).where(SURVEYS.c.programme_id == programme_id),
    )
    return Recommendation(answers=row[0], promoters=row[1], passives=row[2], detractors=row[3])


async def _shared(
    conn: Connection, among: Among, programme_id: int | None
) -> tuple[SharedWords, ...]:
    """Free text whose author ticked "share anonymously": pulse notes and what changed, with
    where from, never who or when (no person column is read), and each kind only where at
    least MIN_ANSWERS people answered it (`bot.figures.shareable`)."""
    answered: list[Select[Any, Any]] = [
        select(PULSES.c.kind, func.count())
        .where(among(PULSES.c.circle_id), PULSES.c.answered_at.is_not(None))
        .group_by(PULSES.c.kind)
    ]
    lines: list[Select[Any]] = [
        select(PULSES.c.kind, PULSES.c.note).where(
            among(PULSES.c.circle_id),
            PULSES.c.shared.is_(True),
            PULSES.c.note != "",
            PULSES.c.answered_at.is_not(None),
        )
    ]
    if programme_id is not None:
        survey = literal(END_SURVEY)
        answered.append(
            select(survey, func.count()).where(
                SURVEYS.c.programme_id == programme_id, SURVEYS.c.answered_at.is_not(None)
            )
        )
        lines.append(
            select(survey, SURVEYS.c.changed).where(
                SURVEYS.c.programme_id == programme_id,
                SURVEYS.c.shared.is_(True),
                SURVEYS.c.changed != "",
                SURVEYS.c.answered_at.is_not(None),
            )
        )
    counts = {kind: count for kind, count in await _rows(conn, union_all(*answered))}
    by_kind: dict[str, list[str]] = {}
    for kind, text in await _rows(conn, union_all(*lines)):
        by_kind.setdefault(kind, []).append(text)
    return tuple(
        SharedWords(text=text, source=_source(kind))
        for kind in sorted(by_kind)
        for text in shareable(by_kind[kind], counts.get(kind, 0))
    )


def _source(kind: str) -> str:
    return {PulseKind.MIDPOINT.value: "midpoint", PulseKind.SESSION.value: "session"}.get(
        kind, kind
    )


async def _quiet(conn: Connection, circle_id: int) -> tuple[QuietMember, ...]:
    """Members taking part who missed the last check-ins in a row (the count the core keeps
    for its "we've missed you"), with their latest check-in's time, never its words."""
    last = (
        select(func.max(CHECKINS.c.answered_at))
        .join(SESSIONS, SESSIONS.c.id == CHECKINS.c.session_id)
        .where(SESSIONS.c.circle_id == circle_id, CHECKINS.c.person_id == MEMBERSHIPS.c.person_id)
        .correlate_except(CHECKINS, SESSIONS)
        .scalar_subquery()
    )
    rows = await _rows(
        conn,
        select(PEOPLE.c.name, MEMBERSHIPS.c.missed, last)
        .join(PEOPLE, PEOPLE.c.id == MEMBERSHIPS.c.person_id)
        .where(MEMBERSHIPS.c.circle_id == circle_id, _taking_part(), MEMBERSHIPS.c.missed > 0)
        .order_by(MEMBERSHIPS.c.missed.desc(), PEOPLE.c.name),
    )
    return tuple(
        QuietMember(name=name, missed=missed, last_checkin=codec.utc(at) if at else None)
        for name, missed, at in rows
    )


async def _facilitator(conn: Connection, circle_id: int) -> str | None:
    """Who facilitates the open session, else the next one."""
    open_first = case((SESSIONS.c.status == SessionStatus.OPEN.value, 0), else_=1)
    name = await conn.scalar(
        select(PEOPLE.c.name)
        .join(SESSIONS, SESSIONS.c.facilitator_id == PEOPLE.c.id)
        .where(
            SESSIONS.c.circle_id == circle_id,
            or_(
                SESSIONS.c.status == SessionStatus.OPEN.value,
                SESSIONS.c.status == SessionStatus.SCHEDULED.value,
            ),
        )
        .order_by(open_first, SESSIONS.c.number)
        .limit(1)
    )
    return str(name) if name is not None else None
