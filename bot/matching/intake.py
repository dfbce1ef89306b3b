"""Participants and their intakes (SPEC §13): what each wants, offers and prefers.

Time zone and working hours come from the person (SPEC §2), so a participant is
made from a `Person` and an `Intake`; the "not with" list stays inside the intake
and is read only by the constraints, never by explanations or figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.people import Person, PersonKey
from bot.working_hours import DEFAULT_HOURS, WorkingHours


class FunctionPreference(StrEnum):
    SAME = "same"
    DIFFERENT = "different"
    NONE = "none"


@dataclass(frozen=True, kw_only=True)
class Intake:
    wants: frozenset[str] = frozenset()  # capability areas to develop
    in_own_words: str = ""
    offers: frozenset[str] = frozenset()
    function: str = ""
    experience: str = ""  # a band such as `<2y`, `2-5y`, `5-10y`, `10y+`
    preference: FunctionPreference = FunctionPreference.NONE
    not_with: frozenset[PersonKey] = field(default=frozenset(), repr=False)  # private


@dataclass(frozen=True, kw_only=True)
class Participant:
    key: PersonKey
    name: str
    tz: str = "UTC"
    hours: WorkingHours = DEFAULT_HOURS
    intake: Intake = Intake()

    @classmethod
    def of(cls, person: Person, intake: Intake) -> Participant:
        return cls(
            key=person.key, name=person.name, tz=person.tz, hours=person.hours, intake=intake
        )


@dataclass(frozen=True, kw_only=True)
class History:
    """Who already shared a pair, or a circle, with whom (in any earlier programme or circle)."""

    pairs: frozenset[frozenset[PersonKey]] = frozenset()
    circles: frozenset[frozenset[PersonKey]] = frozenset()
