"""The survey arithmetic, once: recommendation score and capability change (SPEC §15).

The programme report (`bot.programmes.report`), the midpoint digest and the
dashboard's figures (`storage.dashboard_store`) all show these, so they are
computed here, into the dashboard's own read model (`bot.dashboard`), with its
privacy rules: no aggregate, and no shared line, from fewer than `MIN_ANSWERS`
answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.dashboard import CapabilityChange, Recommendation
from bot.pulses import MIN_ANSWERS

PROMOTER, DETRACTOR = 9, 6  # 9–10 promote, 0–6 detract, 7–8 are passive (net promoter score)


def recommendation(scores: Iterable[int]) -> Recommendation:
    """The 0–10 "would you recommend" answers, counted; `.score` is None under MIN_ANSWERS."""
    given = list(scores)
    promoters = sum(1 for s in given if s >= PROMOTER)
    detractors = sum(1 for s in given if s <= DETRACTOR)
    return Recommendation(
        answers=len(given),
        promoters=promoters,
        passives=len(given) - promoters - detractors,
        detractors=detractors,
    )


def shareable(lines: Iterable[str], answers: int) -> tuple[str, ...]:
    """Free text its authors chose to share with the programme team, in alphabetical order
    (so nothing ties a line to a moment or a person), and only where at least MIN_ANSWERS
    people answered those questions: among fewer, a line points at its author."""
    return tuple(sorted(lines)) if answers >= MIN_ANSWERS else ()


def guarded_mean(total: float, answers: int) -> float | None:
    """A mean shown only from at least MIN_ANSWERS answers, to one decimal."""
    return round(total / answers, 1) if answers >= MIN_ANSWERS else None


def capability_changes(
    areas: Sequence[str], rated: Iterable[tuple[Sequence[int], Sequence[int]]]
) -> tuple[CapabilityChange, ...]:
    """Per area, the mean start and end self-rating of the people who rated it at both
    ends (`rated`: each person's intake ratings and end-survey ratings, in area order)."""
    starts = [0] * len(areas)
    ends = [0] * len(areas)
    counts = [0] * len(areas)
    for start, end in rated:
        for n in range(min(len(areas), len(start), len(end))):
            starts[n] += start[n]
            ends[n] += end[n]
            counts[n] += 1
    return tuple(
        CapabilityChange(
            area=area,
            start=guarded_mean(starts[n], counts[n]),
            end=guarded_mean(ends[n], counts[n]),
            answers=counts[n],
        )
        for n, area in enumerate(areas)
    )
