"""The people of the playground: the four of the ready-made circle, and a cohort.

A programme manager's first try needs a cohort of a realistic size ("matching
thirty people by hand takes hours"), spread over time zones and working
hours, with intakes that differ enough for matching to have something to
explain. `COHORT` is that cohort, the same every time: each person has a zone,
working hours (set through the core's own `hours` command) and the answers
they would give an intake, drawn from their `Leaning` over the programme's
areas whatever the manager named them.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.events import Actor
from bot.people import PersonKey

WORKSPACE = "playground"

EXPERIENCE = ("<2y", "2-5y", "5-10y", "10y+")
FUNCTIONS = ("engineering", "product", "design", "sales", "operations", "people")
PREFERENCES = ("none", "different", "same")


@dataclass(frozen=True)
class Persona:
    user: str
    name: str
    tz: str
    hours: str | None = None  # as typed after `hours`; None: the default hours
    seed: int = 0  # which intake answers this person gives (`intake_answers`)
    admin: bool = False  # the workspace's admin (`health`, the dashboard's every programme)

    @property
    def key(self) -> PersonKey:
        return PersonKey("local", WORKSPACE, self.user)

    @property
    def actor(self) -> Actor:
        return Actor(key=self.key, name=self.name, tz=self.tz, admin=self.admin)

    def intake_answers(self, areas: tuple[str, ...]) -> tuple[str, ...]:
        """The eight DM answers this person gives an intake over `areas`, in order: what
        to develop, in their own words, what they offer, function, experience, preference,
        nobody to avoid, and a start rating per area."""
        n, s = len(areas), self.seed
        wants = [areas[s % n], areas[(s * 3 + 1) % n]]
        offers = [areas[(s + 2) % n], areas[(s * 5 + 3) % n]]
        wants = list(dict.fromkeys(wants))
        offers = [area for area in dict.fromkeys(offers) if area not in wants] or [
            next(a for a in areas if a not in wants)
        ]
        ratings = " ".join(str(2 if a in wants else 4 if a in offers else 3) for a in areas)
        return (
            ", ".join(wants),
            f"Getting better at {wants[0]} in my first months leading",
            ", ".join(offers),
            FUNCTIONS[s % len(FUNCTIONS)],
            EXPERIENCE[(s * 7) % len(EXPERIENCE)],
            PREFERENCES[(s // 2) % len(PREFERENCES)],
            "none",
            ratings,
        )


CAST = (
    Persona("ana", "Ana", "Europe/Berlin"),
    Persona("ben", "Ben", "America/New_York"),
    Persona("chen", "Chen", "Asia/Tokyo"),
    Persona("dara", "Dara", "Australia/Sydney", admin=True),
)

_ZONES = (
    ("Europe/London", "08:00-16:00 mon-fri"),
    ("Europe/Berlin", "09:00-17:00 mon-fri"),
    ("America/New_York", "09:00-17:00 mon-fri"),
    ("America/Chicago", "07:30-15:30 mon-fri"),
    ("America/Los_Angeles", "10:00-18:00 mon-fri"),
    ("America/Sao_Paulo", "09:00-18:00 mon-fri"),
    ("Africa/Lagos", "08:00-17:00 mon-fri"),
    ("Europe/Helsinki", "08:00-16:00 mon-thu"),
    ("Asia/Kolkata", "10:00-19:00 mon-fri"),
    ("Asia/Singapore", "09:00-18:00 mon-fri"),
    ("Asia/Tokyo", "09:30-18:30 mon-fri"),
    ("Australia/Sydney", "08:30-16:30 mon-fri"),
)
_NAMES = (
    "Amara", "Bruno", "Carla", "Dev", "Elif", "Farid", "Greta", "Hiro",
    "Ines", "Jonas", "Kemi", "Leo", "Maya", "Nils", "Olu", "Priya",
    "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wei", "Yara",
)  # fmt: skip
COHORT_CHANNEL = "#cohort"
COHORT = tuple(
    Persona(name.lower(), name, *_ZONES[(i * 5) % len(_ZONES)], seed=i)
    for i, name in enumerate(_NAMES)
)
