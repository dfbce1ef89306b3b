"""A circle explained in plain words, from the parts of its score (SPEC §14).

"Ana wants to grow in delegation, which Ben and Chen offer. All three want to
develop giving feedback. ... 6 shared working hours a week." Built only from what
the manager may see: wants, offers, bands, functions and hours. A "not with" list
is never read here, so no explanation can hint at one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from bot.matching.intake import FunctionPreference, Participant

MOST_SENTENCES_PER_PART = 3
COUNT_WORDS = {2: "both", 3: "all three", 4: "all four", 5: "all five", 6: "all six"}


def explain(members: Sequence[Participant], *, hours: float) -> str:
    sentences = [
        *_complement(members),
        *_common_ground(members),
        _function_mix(members),
        _time(hours),
    ]
    return " ".join(s for s in sentences if s)


def _complement(members: Sequence[Participant]) -> list[str]:
    met = [
        (
            member.name,
            area,
            [o.name for o in members if o is not member and area in o.intake.offers],
        )
        for member in members
        for area in sorted(member.intake.wants)
    ]
    met = [(name, area, offerers) for name, area, offerers in met if offerers]
    sentences = [
        f"{name} wants to grow in {area}, which {_names(offerers)} {'offers' if len(offerers) == 1 else 'offer'}."
        for name, area, offerers in met[:MOST_SENTENCES_PER_PART]
    ]
    if len(met) > MOST_SENTENCES_PER_PART:
        more = len(met) - MOST_SENTENCES_PER_PART
        sentences.append(
            f"{more} more wanted {'area is' if more == 1 else 'areas are'} offered inside the circle."
        )
    return sentences


def _common_ground(members: Sequence[Participant]) -> list[str]:
    wanted = Counter(area for m in members for area in m.intake.wants)
    shared = sorted(
        (area for area, count in wanted.items() if count > 1), key=lambda a: (-wanted[a], a)
    )
    sentences = [
        f"{_together(members, [m for m in members if area in m.intake.wants])} want to develop {area}."
        for area in shared[:MOST_SENTENCES_PER_PART]
    ]
    bands = Counter(m.intake.experience for m in members if m.intake.experience)
    for band, count in sorted(bands.items(), key=lambda item: (-item[1], item[0])):
        if count > 1:
            group = [m for m in members if m.intake.experience == band]
            sentences.append(f"{_together(members, group)} have {band} of experience.")
    return sentences


def _function_mix(members: Sequence[Participant]) -> str:
    functions = Counter(m.intake.function for m in members if m.intake.function)
    if not functions:
        return ""
    listed = ", ".join(f"{f} ×{n}" if n > 1 else f for f, n in sorted(functions.items()))
    asked = [m for m in members if m.intake.preference is not FunctionPreference.NONE]
    if not asked:
        return f"Functions: {listed}."
    met = sum(1 for m in asked if _preference_met(m, members))
    return f"Functions: {listed} ({met} of {len(asked)} function preferences met)."


def _preference_met(member: Participant, members: Sequence[Participant]) -> bool:
    others = [m.intake.function for m in members if m is not member]
    same = sum(1 for f in others if f == member.intake.function)
    if member.intake.preference is FunctionPreference.SAME:
        return same > 0
    return same * 2 <= len(others)


def _time(hours: float) -> str:
    if hours == 0:
        return "No working hour of the week is shared by everyone."
    shown = f"{hours:g}"
    return f"{shown} shared working {'hour' if hours == 1 else 'hours'} a week."


def _together(circle: Sequence[Participant], group: Sequence[Participant]) -> str:
    if len(group) == len(circle):
        return COUNT_WORDS.get(len(group), f"all {len(group)}").capitalize()
    return f"{_names([m.name for m in group])} {'both' if len(group) == 2 else 'all'}"


def _names(names: Sequence[str]) -> str:
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} and {names[-1]}"
