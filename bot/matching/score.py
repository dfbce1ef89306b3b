"""What makes a circle good (SPEC §14): four parts, weighted by the programme's emphasis.

Each part gives every member between 0 and 1 point, so a circle's score is the sum
over its members and a proposal's score the sum over its circles:

- complement: the share of what a member wants to develop that another member offers;
- common ground: half for the share of their wanted areas another member also wants,
  half for another member in the same experience band;
- function mix: per the member's preference, another member in the same function
  ("same"), or the share of the others in another function ("different"); a member
  without a preference adds nothing, whatever the circle;
- time overlap: the hours of the week inside every member's working hours, a full
  point from `ENOUGH_HOURS` on (async circles need fewer than meetings do).

A member who wants nothing adds nothing to the parts about wants. Because each
part's best is bounded member by member (and complement by how few offer each
area), `upper_bound` proves how far any grouping could go; the benchmark reports
the solver's score against it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bot.matching.intake import FunctionPreference, Participant
from bot.matching.overlap import SLOT_MINUTES, shared_hours, weekly_slots
from bot.working_hours import WorkingHours

ENOUGH_HOURS = 5.0


@dataclass(frozen=True, kw_only=True)
class Parts:
    """Points of one circle (or a whole grouping) per part, before weighting."""

    complement: float = 0.0
    common_ground: float = 0.0
    function_mix: float = 0.0
    time_overlap: float = 0.0

    def __add__(self, other: Parts) -> Parts:
        return Parts(
            complement=self.complement + other.complement,
            common_ground=self.common_ground + other.common_ground,
            function_mix=self.function_mix + other.function_mix,
            time_overlap=self.time_overlap + other.time_overlap,
        )

    def weighted(self, weights: Parts) -> float:
        return (
            self.complement * weights.complement
            + self.common_ground * weights.common_ground
            + self.function_mix * weights.function_mix
            + self.time_overlap * weights.time_overlap
        )


class Emphasis(StrEnum):
    COMPLEMENT = "complement"
    COMMON_GROUND = "common-ground"
    BALANCED = "balanced"


WEIGHTS = {
    Emphasis.COMPLEMENT: Parts(
        complement=0.5, common_ground=0.1, function_mix=0.2, time_overlap=0.2
    ),
    Emphasis.COMMON_GROUND: Parts(
        complement=0.1, common_ground=0.5, function_mix=0.2, time_overlap=0.2
    ),
    Emphasis.BALANCED: Parts(complement=0.3, common_ground=0.3, function_mix=0.2, time_overlap=0.2),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Profile:
    """A participant reduced to bit sets and small integers, so a circle scores in microseconds."""

    wants: int
    wants_count: int
    offers: int
    band: int  # one bit per experience band, 0 for none
    function: str
    preference: FunctionPreference
    week: int


class Scorer:
    """Scores circles of one cohort, given by their members' indices into `participants`."""

    def __init__(
        self, participants: Sequence[Participant], *, emphasis: Emphasis, week_of: date
    ) -> None:
        areas = sorted({a for p in participants for a in p.intake.wants | p.intake.offers})
        self.areas = areas
        bit = {area: 1 << i for i, area in enumerate(areas)}
        bands = sorted({p.intake.experience for p in participants if p.intake.experience})
        band_bit = {band: 1 << i for i, band in enumerate(bands)} | {"": 0}
        weeks: dict[tuple[str, WorkingHours], int] = {}
        for p in participants:
            if (p.tz, p.hours) not in weeks:
                weeks[p.tz, p.hours] = weekly_slots(tz=p.tz, hours=p.hours, week_of=week_of)
        self.profiles = [
            Profile(
                wants=sum(bit[a] for a in p.intake.wants),
                wants_count=len(p.intake.wants),
                offers=sum(bit[a] for a in p.intake.offers),
                band=band_bit[p.intake.experience],
                function=p.intake.function,
                preference=p.intake.preference,
                week=weeks[p.tz, p.hours],
            )
            for p in participants
        ]
        self.weights = WEIGHTS[emphasis]

    def circle(self, members: Sequence[int]) -> float:
        complement, common, function, time = self._points(members)
        w = self.weights
        return (
            complement * w.complement
            + common * w.common_ground
            + function * w.function_mix
            + time * w.time_overlap
        )

    def parts(self, members: Sequence[int]) -> Parts:
        complement, common, function, time = self._points(members)
        return Parts(
            complement=complement, common_ground=common, function_mix=function, time_overlap=time
        )

    def _points(self, members: Sequence[int]) -> tuple[float, float, float, float]:
        """The four parts' points; the local search calls this millions of times, hence the bit tricks."""
        profiles = [self.profiles[i] for i in members]
        offered = offered_twice = wanted = wanted_twice = banded = banded_twice = 0
        common_week = -1
        functions = []
        for p in profiles:
            offered_twice |= offered & p.offers
            offered |= p.offers
            wanted_twice |= wanted & p.wants
            wanted |= p.wants
            banded_twice |= banded & p.band
            banded |= p.band
            common_week &= p.week
            functions.append(p.function)
        others = len(profiles) - 1
        complement = common = function = 0.0
        for p in profiles:
            if p.wants:
                by_others = offered_twice | (offered & ~p.offers)
                complement += (p.wants & by_others).bit_count() / p.wants_count
                common += (p.wants & wanted_twice).bit_count() / p.wants_count / 2
            if p.band & banded_twice:
                common += 0.5
            if p.preference is FunctionPreference.SAME:
                function += 1.0 if functions.count(p.function) > 1 else 0.0
            elif p.preference is FunctionPreference.DIFFERENT:
                function += (len(profiles) - functions.count(p.function)) / others
        hours = common_week.bit_count() * SLOT_MINUTES / 60
        time = len(profiles) * min(1.0, hours / ENOUGH_HOURS)
        return complement, common, function, time

    def hours(self, members: Sequence[int]) -> float:
        return shared_hours(*(self.profiles[i].week for i in members))


def upper_bound(
    scorer: Scorer,
    people: Sequence[int],
    *,
    sizes: Sequence[int],
    forbidden: frozenset[tuple[int, int]],
) -> Parts:
    """Points no grouping of `people` into circles of `sizes` can exceed, part by part.

    Member by member, each part is at its best with the most favourable others the
    cohort has (the time overlap with the `smallest - 1`-th best partner, since a
    circle's overlap is at most each pairwise one). Complement is also capped per
    area: only circles holding someone who offers it can cover it, and in each an
    offerer takes a seat, so at most `min(offerers, circles) × (largest - 1)` wanters
    who do not offer it are covered, plus the wanters who do offer it; the bound takes
    the wanters for whom the area weighs most.
    """
    profiles = scorer.profiles
    smallest, largest, circles = min(sizes), max(sizes), len(sizes)
    allowed = {
        i: [j for j in people if j != i and (min(i, j), max(i, j)) not in forbidden] for i in people
    }
    common = function = time = 0.0
    for i in people:
        me, others = profiles[i], [profiles[j] for j in allowed[i]]
        wanted = offered = 0
        for other in others:
            wanted |= other.wants
            offered |= other.offers
        if me.wants:
            common += (me.wants & wanted).bit_count() / me.wants.bit_count() / 2
        if me.band and any(o.band == me.band for o in others):
            common += 0.5
        if me.preference is FunctionPreference.SAME:
            function += 1.0 if any(o.function == me.function for o in others) else 0.0
        elif me.preference is FunctionPreference.DIFFERENT:
            function += 1.0 if any(o.function != me.function for o in others) else 0.0
        overlaps = sorted((shared_hours(me.week, o.week) for o in others), reverse=True)
        best = overlaps[smallest - 2] if len(overlaps) >= smallest - 1 else 0.0
        time += min(1.0, best / ENOUGH_HOURS)
    complement = 0.0
    offerers = Counter(bit for i in people for bit in _bits(profiles[i].offers))
    offering_wanters = Counter(
        bit for i in people for bit in _bits(profiles[i].offers & profiles[i].wants)
    )
    for bit in {b for i in people for b in _bits(profiles[i].wants)}:
        gains = sorted(
            (
                1 / profiles[i].wants.bit_count()
                for i in people
                if profiles[i].wants & bit and any(profiles[j].offers & bit for j in allowed[i])
            ),
            reverse=True,
        )
        served = min(offerers[bit], circles) * (largest - 1) + offering_wanters[bit]
        complement += sum(gains[:served])
    return Parts(
        complement=complement, common_ground=common, function_mix=function, time_overlap=time
    )


def _bits(mask: int) -> list[int]:
    return [1 << i for i in range(mask.bit_length()) if mask >> i & 1]


def as_integer(points: float) -> int:
    """Points as an integer, for solvers that are exact only on integers (blossom, CP-SAT)."""
    return round(points * 1_000_000)
