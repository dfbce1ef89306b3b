"""Outbox keys: the name of every message the core sends, in one place.

A key is unique in the outbox, so it is what makes sending idempotent: a job
fired twice, or an event handled again, builds the same key and writes
nothing new. An edit is a message of its own that `replaces` an earlier key,
with a key that says which version it is. Thread replies find their thread
by the kickoff's (or a hot-seat ask's) key, which `thread_root` reads back.
"""

from __future__ import annotations

from datetime import datetime


def kickoff(session_id: int) -> str:
    return f"session:{session_id}:kickoff"


def ask(session_id: int, person_id: int) -> str:
    return f"session:{session_id}:hot_seat:{person_id}"


def thread_root(key: str) -> tuple[str, int, int | None] | None:
    """Which thread a delivered message starts: ("kickoff", session, None) or ("ask", session, person)."""
    parts = key.split(":")
    if len(parts) == 3 and parts[0] == "session" and parts[2] == "kickoff":
        return ("kickoff", int(parts[1]), None)
    if len(parts) == 4 and parts[0] == "session" and parts[2] == "hot_seat":
        return ("ask", int(parts[1]), int(parts[3]))
    return None


def version(base: str, number: int) -> str:
    """The key of the `number`th edit of the message keyed `base`."""
    return f"{base}:v{number}"


def at(base: str, now: datetime) -> str:
    """The message keyed `base` once more, sent again at `now` (a hand-over, a new topic)."""
    return f"{base}:{now.isoformat()}"


def answer(event_id: str) -> str:
    """The private answer to one inbound event."""
    return f"answer:{event_id}"


def _of(session_id: int, what: str, person_id: int | None = None) -> str:
    return f"session:{session_id}:{what}" + (f":{person_id}" if person_id is not None else "")


def review(session_id: int, commitment_id: int) -> str:
    return _of(session_id, "review", commitment_id)


def reviewed(session_id: int, commitment_id: int, outcome: str) -> str:
    """The review prompt once answered, which replaces it."""
    return f"{review(session_id, commitment_id)}:{outcome}"


def checkin_prompt(session_id: int, person_id: int) -> str:
    return _of(session_id, "checkin", person_id)


def hot_seat_prompt(session_id: int, person_id: int) -> str:
    return _of(session_id, "hot_seat_prompt", person_id)


def checkin_post(session_id: int, person_id: int) -> str:
    return _of(session_id, "checkin_post", person_id)


def ask_link(session_id: int, person_id: int) -> str:
    return _of(session_id, "ask_link", person_id)


def hot_seat_notice(session_id: int, person_id: int) -> str:
    return _of(session_id, "hot_seat_notice", person_id)


def reminder(session_id: int, person_id: int) -> str:
    return _of(session_id, "reminder", person_id)


def commitment_prompt(session_id: int, person_id: int) -> str:
    return _of(session_id, "commitment", person_id)


def last_call(session_id: int, person_id: int) -> str:
    return _of(session_id, "last_call", person_id)


def summary(session_id: int) -> str:
    return _of(session_id, "summary")


def summary_forgetting(session_id: int, person_id: int) -> str:
    """The summary edited because `person_id` asked to be forgotten."""
    return f"{summary(session_id)}:forget:{person_id}"


def facilitator_note(session_id: int) -> str:
    return _of(session_id, "facilitator_note")


def escalation(session_id: int, person_id: int) -> str:
    return _of(session_id, "escalation", person_id)


def escalation_notice(session_id: int, organiser_id: int, member_id: int) -> str:
    return f"{_of(session_id, 'escalation_notice', organiser_id)}:{member_id}"


def topic(session_id: int, now: datetime) -> str:
    return at(_of(session_id, "topic"), now)


def link(session_id: int, now: datetime) -> str:
    return at(_of(session_id, "link"), now)


def welcome(circle_id: int, person_id: int) -> str:
    return f"circle:{circle_id}:welcome:{person_id}"


def rules(circle_id: int, now: datetime) -> str:
    return at(f"circle:{circle_id}:rules", now)


def rules_to_agree(circle_id: int, person_id: int, now: datetime) -> str:
    return at(f"circle:{circle_id}:rules:{person_id}", now)


def circle_ended(circle_id: int) -> str:
    return f"circle:{circle_id}:ended"
