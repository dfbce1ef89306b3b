"""The dashboard's figures read one row at a time through the unit of work: correct, slow.

`storage.dashboard_store` reads the same `bot.dashboard` figures in a handful of
aggregate queries (fast enough for 2,000 participants); this file lets the
pages run until it is wired in, and is then deleted. It follows the same
privacy rules (`MIN_ANSWERS`, shared words only, no names beside them).
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import fmean

from bot.circles import Circle, CircleStatus, Role
from bot.commitments import CommitmentStatus
from bot.dashboard import (
    MIN_ANSWERS,
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
from bot.health import Health, Turnout, health
from bot.people import PersonKey
from bot.programmes.model import Programme
from bot.prompts import PromptKind, PromptState
from bot.pulses import PulseKind
from bot.sessions import SessionStatus
from storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory

_DONE = CommitmentStatus.DONE


def _mean(values: Sequence[int]) -> float | None:
    return fmean(values) if len(values) >= MIN_ANSWERS else None


class InterimReads:
    """`DashboardReads` over the unit of work; one read-only transaction per page."""

    def __init__(self, uow: SqlUnitOfWorkFactory) -> None:
        self._uow = uow

    async def access(self, key: PersonKey, *, admins: frozenset[str]) -> Access | None:
        async with self._uow() as uow:
            person = await uow.people.by_key(key)
            if person is None or person.id is None:
                return None
            admin = person.admin or key.user in admins
            managed = frozenset(
                p.id
                for p in await uow.programmes.find(platform=key.platform, workspace=key.workspace)
                if p.id is not None and person.id in p.managers
            )
        if not admin and not managed:
            return None
        return Access(key=key, name=person.name, admin=admin, programmes=managed)

    async def programmes(self, access: Access) -> Sequence[ProgrammeLine]:
        async with self._uow() as uow:
            lines = [await self._line(uow, access, p) for p in await self._visible(uow, access)]
            if access.admin:
                hand_made = await self._hand_made(uow, access)
                if hand_made:
                    lines.append(await self._hand_made_line(uow, access, hand_made))
        return lines

    async def programme(self, access: Access, scope: Scope) -> ProgrammePage | None:
        if (scope.platform, scope.workspace) != (access.key.platform, access.key.workspace):
            return None
        if not access.may_see(scope.programme_id):
            return None
        async with self._uow() as uow:
            if scope.programme_id is None:
                circles = await self._hand_made(uow, access)
                return ProgrammePage(
                    line=await self._hand_made_line(uow, access, circles),
                    focus="Circles made by hand, in no programme.",
                    areas=(),
                    funnel=None,
                    circles=tuple([await _figures(uow, c) for c in circles]),
                    trends=await _trends(uow, circles),
                    capabilities=(),
                    recommendation=None,
                    shared=(),
                )
            programme = await uow.programmes.first(id=scope.programme_id)
            if programme is None or programme.workspace != access.key.workspace:
                return None
            circles = await _circles_of(uow, programme)
            enrolled = [e for e in await uow.enrolments.find(programme_id=programme.id) if e.active]
            grouping = await uow.groupings.first(programme_id=programme.id)
            matched = grouping.people if grouping else frozenset()
            running = {c.id for c in circles if c.status is CircleStatus.ACTIVE}
            surveys = [
                s for s in await uow.surveys.find(programme_id=programme.id) if s.answered_at
            ]
            starts = {e.person_id: e.ratings for e in enrolled if e.ratings}
            capabilities = []
            for i, area in enumerate(programme.areas):
                both = [
                    (starts[s.person_id][i], s.ratings[i])
                    for s in surveys
                    if s.person_id in starts and len(s.ratings) > i and len(starts[s.person_id]) > i
                ]
                capabilities.append(
                    CapabilityChange(
                        area=area,
                        start=_mean([a for a, _ in both]),
                        end=_mean([b for _, b in both]),
                        answers=len(both),
                    )
                )
            scores = [s.recommend for s in surveys if s.recommend is not None]
            midpoint = [
                p
                for p in await uow.pulses.find(programme_id=programme.id, kind=PulseKind.MIDPOINT)
                if p.shared and p.note
            ]
            shared = [
                SharedWords(text=p.note, at=p.answered_at, source="midpoint")
                for p in midpoint
                if p.answered_at
            ] + [
                SharedWords(text=s.changed, at=s.answered_at, source="end survey")
                for s in surveys
                if s.shared and s.changed and s.answered_at
            ]
            return ProgrammePage(
                line=await self._line(uow, access, programme),
                focus=programme.focus,
                areas=programme.areas,
                funnel=Funnel(
                    invited=len(enrolled),
                    intake_done=sum(1 for e in enrolled if e.ready),
                    matched=sum(1 for e in enrolled if e.person_id in matched),
                    active=sum(1 for e in enrolled if e.circle_id in running),
                ),
                circles=tuple([await _figures(uow, c) for c in circles]),
                trends=await _trends(uow, circles),
                capabilities=tuple(capabilities),
                recommendation=Recommendation(
                    answers=len(scores),
                    promoters=sum(1 for s in scores if s >= 9),
                    passives=sum(1 for s in scores if 7 <= s <= 8),
                    detractors=sum(1 for s in scores if s <= 6),
                ),
                shared=tuple(sorted(shared, key=lambda w: w.at)),
            )

    async def circle(self, access: Access, circle_id: int) -> CirclePage | None:
        async with self._uow() as uow:
            circle = await uow.circles.first(id=circle_id)
            if circle is None or (circle.platform, circle.workspace) != (
                access.key.platform,
                access.key.workspace,
            ):
                return None
            record = await uow.match_records.first(circle_id=circle_id)
            programme_id = record.programme_id if record else None
            if not access.may_see(programme_id):
                return None
            figures = await _figures(uow, circle)
            sessions = await _trends(uow, [circle])
            members = [
                m
                for m in await uow.memberships.find(circle_id=circle_id)
                if m.left_at is None and m.role is not Role.ORGANISER_ONLY
            ]
            people = {p.id: p for p in await uow.people.among("id", [m.person_id for m in members])}
            quiet = []
            for m in members:
                if m.missed < 1:
                    continue
                answered = await uow.checkins.find(person_id=m.person_id, order_by="-answered_at")
                ours = {s.id for s in await uow.sessions.find(circle_id=circle_id)}
                last = next((c.answered_at for c in answered if c.session_id in ours), None)
                quiet.append(
                    QuietMember(name=people[m.person_id].name, missed=m.missed, last_checkin=last)
                )
            upcoming = await uow.sessions.first(circle_id=circle_id, status=SessionStatus.OPEN) or (
                await uow.sessions.first(
                    circle_id=circle_id, status=SessionStatus.SCHEDULED, order_by="number"
                )
            )
            facilitator = None
            if upcoming is not None and upcoming.facilitator_id is not None:
                found = await uow.people.first(id=upcoming.facilitator_id)
                facilitator = found.name if found else None
        return CirclePage(
            scope=Scope(circle.platform, circle.workspace, programme_id),
            figures=figures,
            sessions=sessions,
            quiet=tuple(sorted(quiet, key=lambda q: (-q.missed, q.name))),
            facilitator=facilitator,
        )

    # --- helpers ---------------------------------------------------------------------------

    async def _visible(self, uow: SqlUnitOfWork, access: Access) -> list[Programme]:
        found = await uow.programmes.find(
            platform=access.key.platform, workspace=access.key.workspace, order_by="name"
        )
        return [p for p in found if access.may_see(p.id)]

    async def _line(
        self, uow: SqlUnitOfWork, access: Access, programme: Programme
    ) -> ProgrammeLine:
        circles = await _circles_of(uow, programme)
        enrolled = [e for e in await uow.enrolments.find(programme_id=programme.id) if e.active]
        return ProgrammeLine(
            scope=Scope(access.key.platform, access.key.workspace, programme.id),
            name=programme.name,
            status=programme.status.value,
            participants=len(enrolled),
            circles=len(circles),
            at_risk=sum([await _health(uow, c) is not Health.HEALTHY for c in circles]),
        )

    async def _hand_made(self, uow: SqlUnitOfWork, access: Access) -> list[Circle]:
        launched = {r.circle_id for r in await uow.match_records.find()}
        return [
            c
            for c in await uow.circles.find(
                platform=access.key.platform, workspace=access.key.workspace, order_by="name"
            )
            if c.id not in launched
        ]

    async def _hand_made_line(
        self, uow: SqlUnitOfWork, access: Access, circles: list[Circle]
    ) -> ProgrammeLine:
        members = {
            m.person_id
            for c in circles
            for m in await uow.memberships.find(circle_id=c.id)
            if m.left_at is None and m.role is not Role.ORGANISER_ONLY
        }
        return ProgrammeLine(
            scope=Scope(access.key.platform, access.key.workspace, None),
            name="No programme",
            status="running",
            participants=len(members),
            circles=len(circles),
            at_risk=sum([await _health(uow, c) is not Health.HEALTHY for c in circles]),
        )


async def _circles_of(uow: SqlUnitOfWork, programme: Programme) -> list[Circle]:
    records = await uow.match_records.find(programme_id=programme.id)
    return await uow.circles.among("id", sorted({r.circle_id for r in records}))


async def _turnouts(uow: SqlUnitOfWork, circle: Circle) -> list[tuple[int, Turnout]]:
    """(session number, turnout) of each closed session, oldest first."""
    found = []
    for session in await uow.sessions.find(
        circle_id=circle.id, status=SessionStatus.CLOSED, order_by="number"
    ):
        expected = len(await uow.attendance.find(session_id=session.id))
        answered = await uow.prompts.find(
            session_id=session.id, kind=PromptKind.CHECKIN, state=PromptState.ANSWERED
        )
        found.append((session.number, Turnout(checked_in=len(answered), expected=expected)))
    return found


async def _health(uow: SqlUnitOfWork, circle: Circle) -> Health:
    return health([t for _, t in await _turnouts(uow, circle)])


async def _figures(uow: SqlUnitOfWork, circle: Circle) -> CircleFigures:
    turnouts = [t for _, t in await _turnouts(uow, circle)]
    commitments = await uow.commitments.find(circle_id=circle.id)
    sessions = {s.id for s in await uow.sessions.find(circle_id=circle.id)}
    checkins = [c.answered_at for c in await uow.checkins.among("session_id", sorted(sessions))]
    latest = max([*checkins, *(c.made_at for c in commitments)], default=None)
    scores = [
        p.score
        for p in await uow.pulses.find(circle_id=circle.id, kind=PulseKind.SESSION)
        if p.score is not None
    ]
    members = [
        m
        for m in await uow.memberships.find(circle_id=circle.id)
        if m.left_at is None and m.role is not Role.ORGANISER_ONLY
    ]
    expected = sum(t.expected for t in turnouts)
    return CircleFigures(
        circle_id=circle.id or 0,
        name=circle.name,
        kind=circle.kind.value,
        status=circle.status.value,
        health=health(turnouts),
        members=len(members),
        participation=sum(t.checked_in for t in turnouts) / expected if expected else None,
        commitments_made=len(commitments),
        commitments_done=sum(1 for c in commitments if c.status is _DONE),
        last_activity=latest,
        pulse=_mean(scores),
        pulse_answers=len(scores),
    )


async def _trends(uow: SqlUnitOfWork, circles: Sequence[Circle]) -> tuple[SessionTrend, ...]:
    """Session n across `circles`: participation, commitments done of those reviewed, pulse."""
    by_number: dict[int, list[Turnout]] = {}
    ids: dict[int, int] = {}  # session id -> number
    for circle in circles:
        for session in await uow.sessions.find(circle_id=circle.id, status=SessionStatus.CLOSED):
            if session.id is not None:
                ids[session.id] = session.number
        for number, turnout in await _turnouts(uow, circle):
            by_number.setdefault(number, []).append(turnout)
    reviewed: dict[int, list[bool]] = {}
    scores: dict[int, list[int]] = {}
    for circle in circles:
        for c in await uow.commitments.find(circle_id=circle.id):
            if c.reviewed_in in ids and c.status is not CommitmentStatus.OPEN:
                reviewed.setdefault(ids[c.reviewed_in], []).append(c.status is _DONE)
        for p in await uow.pulses.find(circle_id=circle.id, kind=PulseKind.SESSION):
            if p.score is not None and p.session_id in ids:
                scores.setdefault(ids[p.session_id], []).append(p.score)
    trends = []
    for number in sorted(by_number):
        expected = sum(t.expected for t in by_number[number])
        done = reviewed.get(number, [])
        answers = scores.get(number, [])
        trends.append(
            SessionTrend(
                number=number,
                participation=sum(t.checked_in for t in by_number[number]) / expected
                if expected
                else None,
                commitments_done=sum(done) / len(done) if done else None,
                pulse=_mean(answers),
                pulse_answers=len(answers),
            )
        )
    return tuple(trends)
