"""The words and shape of every message the bot sends (SPEC §4, §7).

Pure functions from domain objects to neutral `Message`s. Tone: short, warm,
specific; one emoji at most per line. Member words are always `Authored`,
names always `Name`, so no adapter can let them ping or link anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot import keys
from bot.checkins import CheckIn
from bot.circles import Circle
from bot.commitments import MARKS, Commitment, CommitmentStatus
from bot.hot_seat import Ask
from bot.kinds import (
    CLOSING_CHECKIN_QUESTION,
    PRESETS,
    Commitments,
    Facilitation,
    HotSeat,
    guide_for,
    guidebook,
)
from bot.messages import (
    Authored,
    Block,
    Choice,
    Choices,
    Context,
    Fields,
    Heading,
    Message,
    Name,
    Paragraph,
    Quote,
    Rich,
    Strong,
    TextInput,
    ToConversation,
    ToPerson,
)
from bot.people import Person
from bot.sessions import Link, Session
from bot.timefmt import day, when


@dataclass(frozen=True, kw_only=True)
class Cast:
    """Who plays which part in a session, by name (None: nobody)."""

    facilitator: str | None
    presenter: str | None


def _name_or(name: str | None, fallback: str = "nobody yet") -> Rich:
    return (Name(name),) if name else (fallback,)


def session_topic(circle: Circle, session: Session) -> tuple[str, bool]:
    """The topic shown in the kickoff, and whether a member wrote it."""
    if session.topic:
        return session.topic, True
    guide = guide_for(circle.kind, session.number)
    if session.final:  # e.g. a peer learning group's report-back, which also closes the circle
        opening = f"{guide.title}. {guide.prompt} " if guide else ""
        return f"{opening}To close: {CLOSING_CHECKIN_QUESTION}", False
    if guide:
        return f"{guide.title}. {guide.prompt}", False
    return "Bring what matters to you this week.", False


def _topic_line(prompt: str, *, authored: bool) -> Rich:
    return (Strong("Topic: "), Authored(prompt) if authored else prompt)


def links(attached: Sequence[Link]) -> tuple[Block, ...]:
    """A session's links, as member text: inert, never a ping or a hidden target."""
    if not attached:
        return ()
    lines: list[str | Authored | Strong] = [Strong("Links")]
    for link in attached:
        lines.append("\n• ")
        if link.title:
            lines += [Authored(link.title), " "]
        lines.append(Authored(link.url))
    return (Paragraph(tuple(lines)),)


def _facilitator_word(circle: Circle) -> str:
    """A leader leads every session and picks its topic; a facilitator takes a turn."""
    return "leader" if circle.facilitation is Facilitation.LEADER else "facilitator"


def kickoff(
    *, circle: Circle, session: Session, cast: Cast, prompt: str, authored: bool
) -> Message:
    """The session's thread root in the home conversation."""
    assert session.id is not None
    fields: list[tuple[str, Rich]] = [
        ("Opens", (when(session.opens_at, circle.tz),)),
        ("Closes", (when(session.closes_at, circle.tz),)),
    ]
    if cast.facilitator:
        fields.append((_facilitator_word(circle).capitalize(), (Name(cast.facilitator),)))
    if circle.hot_seat is HotSeat.PRESENTER:
        fields.append(("Hot seat", _name_or(cast.presenter)))
    title = "Closing session" if session.final else f"Session {session.number}"
    expected = ["check in when I DM you"]
    if circle.hot_seat is HotSeat.PRESENTER:
        expected.append("respond to the hot seat in this thread")
    if circle.hot_seat is HotSeat.ASKS:
        expected.append("post one ask if you want help, and answer others' asks in their threads")
    if circle.commitments is Commitments.REQUIRED and not session.final:
        expected.append("make one commitment for next time")
    if circle.commitments is Commitments.OPTIONAL and not session.final:
        expected.append("make a commitment if you like")
    topic = _topic_line(prompt, authored=authored)
    if circle.focus:
        topic = (*topic, "\n", Strong("Focus: "), Authored(circle.focus))
    return Message(
        key=keys.kickoff(session.id),
        target=ToConversation(circle.home),
        blocks=(
            Heading(f"{title} · {circle.name}"),
            Fields(tuple(fields)),
            Paragraph(topic),
            *links(session.links),
            Paragraph(("This time: " + "; ".join(expected) + ".",)),
            Context(
                (
                    f"Check-ins appear in this thread. It closes {day(session.closes_at, circle.tz)}.",
                )
            ),
        ),
    )


def review_prompt(
    *, person: Person, circle: Circle, commitment: Commitment, session: Session
) -> Message:
    assert commitment.id is not None and session.id is not None
    again = " (asked again)" if commitment.status is CommitmentStatus.NOT_YET else ""
    return Message(
        key=keys.review(session.id, commitment.id),
        target=ToPerson(person.key),
        blocks=(
            Heading(f"Review · {circle.name}{again}"),
            Paragraph(
                ("Last time you committed to: “", Authored(commitment.text), "” How did it go?")
            ),
            review_choices(commitment),
            Context(
                ("Or reply `done`, `partly`, `not yet` or `drop`, with a line on how it went.",)
            ),
        ),
    )


def review_answered(
    *, person: Person, circle: Circle, commitment: Commitment, session: Session
) -> Message:
    """The review prompt once answered (by button or by DM): its buttons give way to the
    outcome, so nobody taps a stale one on their phone later."""
    assert commitment.id is not None and session.id is not None
    base = keys.review(session.id, commitment.id)
    return Message(
        key=keys.reviewed(session.id, commitment.id, commitment.status.value),
        target=ToPerson(person.key),
        blocks=(
            Heading(f"Review · {circle.name}"),
            Paragraph(("Last time you committed to: “", Authored(commitment.text), "”")),
            Context((f"Marked {MARKS[commitment.status]}. Thanks!",)),
        ),
        replaces=base,
    )


def review_choices(commitment: Commitment) -> Choices:
    assert commitment.id is not None
    return Choices(
        (
            Choice("Done", "review", f"{commitment.id}:done", "primary"),
            Choice("Partly", "review", f"{commitment.id}:partly"),
            Choice("Not yet", "review", f"{commitment.id}:not_yet"),
            Choice("Drop", "review", f"{commitment.id}:dropped", "danger"),
        )
    )


def rules_blocks(circle: Circle) -> tuple[Block, ...]:
    return (
        Paragraph((Strong("Ground rules"),)),
        Quote((Authored(circle.rules),)),
        *agree_blocks(circle),
    )


def agree_blocks(circle: Circle) -> tuple[Block, ...]:
    assert circle.id is not None
    return (
        Choices((Choice("I agree", "agree", str(circle.id), "primary"),)),
        Context(("Or reply `agree`. Your check-in is posted once you have agreed.",)),
    )


def checkin_prompt(
    *, person: Person, circle: Circle, session: Session, question: str, agreed: bool
) -> Message:
    """The check-in; in a circle whose leader picks the topic (a micro-group), it is the
    discussion prompt: the topic and its links first, then the question about it."""
    assert session.id is not None and person.id is not None
    about: list[Block] = []
    led = circle.facilitation is Facilitation.LEADER and not session.final  # closing: its own
    if session.topic or led:
        prompt, authored = session_topic(circle, session)
        about = [Paragraph(_topic_line(prompt, authored=authored)), *links(session.links)]
    if circle.focus:
        about.append(Paragraph((Strong("Focus: "), Authored(circle.focus))))
    blocks: list[Block] = [
        Heading(f"Check-in · {circle.name}, session {session.number}"),
        *about,
        Paragraph((Authored(question),)),  # an organiser may have written it (`set question`)
        TextInput("checkin", str(session.id), "Your check-in", "A few lines are plenty"),
        Context((f"Reply here before {when(session.closes_at, person.tz)}.",)),
    ]
    if not agreed:  # the rules themselves came with the welcome, or when they changed
        blocks[1:1] = [
            Paragraph(
                (
                    "Before your check-in is shared, please read and agree to the ground rules"
                    " I sent you (`rules` shows them again):",
                )
            ),
            *agree_blocks(circle),
        ]
    return Message(
        key=keys.checkin_prompt(session.id, person.id),
        target=ToPerson(person.key),
        blocks=tuple(blocks),
    )


def hot_seat_prompt(*, person: Person, circle: Circle, session: Session) -> Message:
    assert session.id is not None and person.id is not None
    if circle.hot_seat is HotSeat.ASKS:
        lines: tuple[Block, ...] = (
            Heading(f"Your ask · {circle.name}"),
            Paragraph(
                (
                    "Want the group's help? Describe one challenge or question; it gets its own thread.",
                )
            ),
            TextInput("hot_seat", str(session.id), "Your ask"),
            Context(("Optional. Reply here with your ask.",)),
        )
    else:
        lines = (
            Heading(f"🔥 You're in the hot seat · {circle.name}"),
            Paragraph(("Describe the challenge or question you want help with.",)),
            TextInput("hot_seat", str(session.id), "Your challenge"),
            Context(
                (f"The circle responds in the thread until {when(session.closes_at, person.tz)}.",)
            ),
        )
    return Message(
        key=keys.hot_seat_prompt(session.id, person.id),
        target=ToPerson(person.key),
        blocks=lines,
    )


def checkin_post(
    *,
    circle: Circle,
    session: Session,
    author: Person,
    checkin: CheckIn,
    reviews: Sequence[Commitment],
) -> Message:
    """A check-in in the session thread, with the author's commitment review beneath."""
    assert session.id is not None and author.id is not None
    blocks: list[Block] = [
        Paragraph((Name(author.name), " checked in")),
        Quote((Authored(checkin.text),)),
    ]
    for commitment in reviews:
        line: Rich = (MARKS[commitment.status], " · “", Authored(commitment.text), "”")
        if commitment.reflection:
            line = (*line, " — ", Authored(commitment.reflection))
        blocks.append(Context(line))
    base = keys.checkin_post(session.id, author.id)
    return Message(
        key=base if checkin.version == 0 else keys.version(base, checkin.version),
        target=ToConversation(circle.home, thread=keys.kickoff(session.id)),
        blocks=tuple(blocks),
        replaces=base if checkin.version else None,
    )


def checkin_withdrawn(*, circle: Circle, session: Session, author: Person, version: int) -> Message:
    assert session.id is not None and author.id is not None
    base = keys.checkin_post(session.id, author.id)
    return Message(
        key=keys.version(base, version),
        target=ToConversation(circle.home, thread=keys.kickoff(session.id)),
        blocks=(
            Context(
                (Name(author.name), " withdrew their check-in."),
            ),
        ),
        replaces=base,
    )


def ask_post(*, circle: Circle, session: Session, author: Person, ask: Ask) -> Message:
    """The hot seat: a reply in the session thread, or (mastermind) a thread of its own."""
    assert session.id is not None and author.id is not None
    blocks: tuple[Block, ...]
    if ask.withdrawn:
        blocks = (
            Context(
                (Name(author.name), " withdrew their ask."),
            ),
        )
    elif circle.hot_seat is HotSeat.ASKS:
        blocks = (
            Paragraph(("🙋 Ask from ", Name(author.name), f" · session {session.number}")),
            Quote((Authored(ask.text),)),
            Context(("Reply in this thread to help.",)),
        )
    else:
        blocks = (
            Paragraph(("🔥 ", Strong("Hot seat: "), Name(author.name))),
            Quote((Authored(ask.text),)),
            Context(("Reply in this thread with questions, ideas or experience.",)),
        )
    base = keys.ask(session.id, author.id)
    return Message(
        key=base if ask.version == 0 else keys.version(base, ask.version),
        target=ToConversation(circle.home)
        if circle.hot_seat is HotSeat.ASKS
        else ToConversation(circle.home, thread=keys.kickoff(session.id)),
        blocks=blocks,
        replaces=base if ask.version else None,
    )


def ask_link(*, circle: Circle, session: Session, author: Person) -> Message:
    """Mastermind: a line in the session thread pointing to a new ask's own thread."""
    assert session.id is not None and author.id is not None
    return Message(
        key=keys.ask_link(session.id, author.id),
        target=ToConversation(circle.home, thread=keys.kickoff(session.id)),
        blocks=(
            Context(
                (Name(author.name), " posted an ask in the channel; reply in its thread."),
            ),
        ),
    )


def hot_seat_notice(
    *,
    person: Person,
    circle: Circle,
    session: Session,
    presenter: Person,
    ask: Ask,
    replied: bool = False,
    edit: bool = False,
) -> Message:
    """ "<name> is in the hot seat", or (`edit`) the one sent before, saying what it says now.

    Someone who has `replied` in the thread already is thanked, not asked to reply.
    """
    assert session.id is not None and person.id is not None
    base = keys.hot_seat_notice(session.id, person.id)
    reply = (
        "Thank you for your reply in the thread."
        if replied
        else f"Reply in the {circle.name} thread before {when(session.closes_at, person.tz)}."
    )
    blocks: tuple[Block, ...] = (
        (Paragraph((Name(presenter.name), " withdrew their hot-seat challenge for now.")),)
        if ask.withdrawn
        else (
            Paragraph(
                (Name(presenter.name), " is in the hot seat: “", Authored(ask.excerpt()), "”")
            ),
            Paragraph((reply,)),
        )
    )
    return Message(
        key=keys.version(base, ask.version) if edit else base,
        target=ToPerson(person.key),
        blocks=blocks,
        replaces=base if edit else None,
    )


def reminder(*, person: Person, circle: Circle, session: Session, held: bool = False) -> Message:
    """Nudge 1: check in; or (`held`) agree to the ground rules, so the check-in is shared."""
    assert session.id is not None and person.id is not None
    blocks: tuple[Block, ...] = (
        (
            Paragraph(
                (
                    f"A gentle reminder: your check-in for {circle.name} is waiting to be shared "
                    "until you agree to the ground rules.",
                )
            ),
            *rules_blocks(circle),
            Context((f"The session closes {when(session.closes_at, person.tz)}.",)),
        )
        if held
        else (
            Paragraph((f"A gentle reminder: your check-in for {circle.name} is still open.",)),
            TextInput("checkin", str(session.id), "Your check-in"),
            Context((f"Reply here before {when(session.closes_at, person.tz)}.",)),
        )
    )
    return Message(
        key=keys.reminder(session.id, person.id), target=ToPerson(person.key), blocks=blocks
    )


def commitment_prompt(
    *, person: Person, circle: Circle, session: Session, next_opens: datetime | None
) -> Message:
    assert session.id is not None and person.id is not None
    question = PRESETS[circle.kind].commitment_question
    by = f" ({day(next_opens, person.tz)})" if next_opens else ""  # a day in their own zone
    optional = circle.commitments is Commitments.OPTIONAL
    focus: tuple[Block, ...] = (
        (Paragraph((Strong("Focus: "), Authored(circle.focus))),) if circle.focus else ()
    )
    how = "Reply here, or type `commit …` any time before the session closes."
    return Message(
        key=keys.commitment_prompt(session.id, person.id),
        target=ToPerson(person.key),
        blocks=(
            Heading(f"Commitment · {circle.name}" + (" (optional)" if optional else "")),
            *focus,
            Paragraph((f"{question}{by}?",)),
            TextInput("commit", str(session.id), "Your commitment", "One concrete action"),
            Context(
                (
                    "Optional: make one if it helps you; I won't remind you. " + how
                    if optional
                    else how,
                )
            ),
        ),
    )


def last_call(*, person: Person, circle: Circle, session: Session, owed: Sequence[str]) -> Message:
    assert session.id is not None and person.id is not None
    return Message(
        key=keys.last_call(session.id, person.id),
        target=ToPerson(person.key),
        blocks=(
            Paragraph(
                (
                    f"Last call for {circle.name}: the session closes {when(session.closes_at, person.tz)}.",
                )
            ),
            Paragraph(("Still open for you: " + ", ".join(owed) + ".",)),
        ),
    )


@dataclass(frozen=True, kw_only=True)
class Recap:
    """What a closing session's summary says."""

    checked_in: int
    expected: int
    hot_seat: tuple[str, int] | None  # presenter name, number of responders
    asks: tuple[tuple[str, int], ...]  # mastermind asks: author, responders
    made: tuple[tuple[str, str], ...]  # commitments made: owner, exact text
    reviewed: tuple[tuple[str, Commitment], ...]  # last session's commitments, reviewed
    next_session: Session | None
    next_cast: Cast | None


def summary(*, circle: Circle, session: Session, recap: Recap) -> Message:
    assert session.id is not None
    blocks: list[Block] = [
        Heading(f"Summary · {circle.name}, session {session.number}"),
        Paragraph((Strong("Checked in: "), f"{recap.checked_in} of {recap.expected}")),
    ]
    if recap.hot_seat:
        name, responders = recap.hot_seat
        blocks.append(Paragraph((Strong("Hot seat: "), Name(name), f" · {_responses(responders)}")))
    for name, responders in recap.asks:
        blocks.append(Paragraph((Strong("Ask: "), Name(name), f" · {_responses(responders)}")))
    if recap.made:
        blocks.append(Paragraph((Strong("Commitments for next time"),)))
        blocks.extend(Quote((Name(owner), ": ", Authored(text))) for owner, text in recap.made)
    if recap.reviewed:
        done = sum(1 for _, c in recap.reviewed if c.status is CommitmentStatus.DONE)
        cheer = f" 🎉 {done} done!" if done else ""
        blocks.append(Paragraph((Strong("Last time's commitments"), cheer)))
        blocks.extend(
            Context((MARKS[c.status], " · ", Name(owner), ": “", Authored(c.text), "”"))
            for owner, c in recap.reviewed
        )
    if session.final:
        blocks.append(
            Paragraph(
                (
                    "This was the circle's closing session. Thank you "
                    + ("both" if circle.max_size <= 2 else "all")
                    + " for showing up. 💛",
                )
            )
        )
    elif recap.next_session and recap.next_cast:
        nxt = recap.next_session
        line: Rich = (Strong("Next: "), f"session {nxt.number}, {when(nxt.opens_at, circle.tz)}")
        if recap.next_cast.facilitator:
            line = (*line, f" · {_facilitator_word(circle)} ", Name(recap.next_cast.facilitator))
        if recap.next_cast.presenter:
            line = (*line, " · hot seat ", Name(recap.next_cast.presenter))
        blocks.append(Paragraph(line))
    return Message(
        key=keys.summary(session.id),
        target=ToConversation(circle.home, thread=keys.kickoff(session.id)),
        blocks=tuple(blocks),
    )


def _responses(count: int) -> str:
    return f"{count} response" + ("" if count == 1 else "s")


def facilitator_note(
    *,
    facilitator: Person,
    circle: Circle,
    session: Session,
    absent: Sequence[str],
    waiting: Sequence[str] = (),
    resting: Sequence[str] = (),
) -> Message:
    """To whoever facilitated, about the others: who did not take part, whose check-in
    waits for their agreement to the ground rules, whom the rotation now passes by."""
    assert session.id is not None
    if absent:
        body: Rich = (
            "Did not take part: ",
            *_names(absent),
            ". A personal word from you often brings people back.",
        )
    else:
        body = ("Everyone took part. Nicely run!",)
    blocks: list[Block] = [
        Paragraph((f"Private note · {circle.name}, session {session.number}",)),
        Paragraph(body),
    ]
    if waiting:
        blocks.append(
            Paragraph(
                (
                    "Checked in, but not shared until they agree to the ground rules: ",
                    *_names(waiting),
                    ".",
                )
            )
        )
    if resting:
        blocks.append(
            Paragraph(
                (
                    *_names(resting),
                    " missed the last two sessions, so the rotation gives them a rest from"
                    " facilitating and the hot seat until they are back. They are warmly welcome"
                    " any time.",
                )
            )
        )
    return Message(
        key=keys.facilitator_note(session.id),
        target=ToPerson(facilitator.key),
        blocks=tuple(blocks),
    )


def _names(names: Sequence[str]) -> Rich:
    spans: list[str | Name] = []
    for i, name in enumerate(names):
        if i:
            spans.append(", ")
        spans.append(Name(name))
    return tuple(spans)


def escalation(*, person: Person, circle: Circle, session: Session) -> Message:
    assert session.id is not None and person.id is not None
    return Message(
        key=keys.escalation(session.id, person.id),
        target=ToPerson(person.key),
        blocks=(
            Paragraph(
                (f"We've missed you in {circle.name} for two sessions. Everything all right?",)
            ),
            Paragraph(
                (
                    "If now is a busy time, pause with `away until YYYY-MM-DD`; "
                    f"if the circle isn't for you any more, `leave in {circle.name}`. Both are fine.",
                )
            ),
        ),
    )


def organiser_told(
    *, organiser: Person, circle: Circle, member: Person, session: Session
) -> Message:
    assert session.id is not None and organiser.id is not None and member.id is not None
    return Message(
        key=keys.escalation_notice(session.id, organiser.id, member.id),
        target=ToPerson(organiser.key),
        blocks=(
            Paragraph(
                (
                    Name(member.name),
                    f" has missed two {circle.name} sessions in a row; I've asked them privately.",
                )
            ),
        ),
    )


def welcome(*, person: Person, circle: Circle, inviter: str | None) -> Message:
    assert circle.id is not None and person.id is not None
    by: Rich = (" by ", Name(inviter)) if inviter else ()
    how = how_it_works(circle)
    when_text = (
        f"I only message you {person.hours.to_text()} in {person.tz}. "
        "Change that with `hours HH:MM-HH:MM` and `tz Area/City`."
    )
    return Message(
        key=keys.welcome(circle.id, person.id),
        target=ToPerson(person.key),
        blocks=(
            Heading(f"👋 Welcome to {circle.name}"),
            Paragraph(("You've been added", *by, ".")),
            Paragraph((how,)),
            Context((when_text,)),
            *rules_blocks(circle),
        ),
    )


def size(circle: Circle) -> str:
    """The members a circle is for: `4-8 members`, or `2 members` for a pair."""
    bounds = {circle.min_size, circle.max_size}
    return "-".join(str(n) for n in sorted(bounds)) + " members"


def how_it_works(circle: Circle) -> str:
    """The welcome's description of the circle: its kind in a line (from the kind's guide),
    then what a member does, as this circle is set up (`set …` may differ from the kind)."""
    pair = circle.max_size <= 2
    lines = [f"How it works: {guidebook(circle.kind).about}"]
    if circle.facilitation is Facilitation.LEADER:
        lines.append("When a session opens I'll DM you its topic and a question about it.")
    else:
        lines.append("When a session opens I'll DM you a short check-in.")
    lines.append(
        "Your answer is shared in the circle's thread, where "
        + ("your partner replies." if pair else "the group replies.")
    )
    if circle.hot_seat is HotSeat.PRESENTER:
        lines.append(
            "Each session one of you takes the hot seat with a challenge; the others reply."
        )
    elif circle.hot_seat is HotSeat.ASKS:
        lines.append(
            "Each session you may post an ask, a question for the group with its own thread,"
            " and help with the others' asks."
        )
    later = " and next time I ask how it went" if circle.review else ""
    if circle.commitments is Commitments.REQUIRED:
        lines.append(f"You make one small commitment{later}.")
    elif circle.commitments is Commitments.OPTIONAL:
        lines.append(f"If you like, you make a commitment{later}.")
    return " ".join(lines)


def rules_to_agree(*, person: Person, circle: Circle, now: datetime) -> Message:
    """Changed ground rules, for a member to read and agree to again."""
    assert circle.id is not None and person.id is not None
    return Message(
        key=keys.rules_to_agree(circle.id, person.id, now),
        target=ToPerson(person.key),
        blocks=(
            Heading(f"The ground rules of {circle.name} have changed"),
            Paragraph(("Please read them again; your next check-in is shared once you agree.",)),
            *rules_blocks(circle),
        ),
    )


def closing_note(*, circle: Circle) -> Message:
    assert circle.id is not None
    return Message(
        key=keys.circle_ended(circle.id),
        target=ToConversation(circle.home),
        blocks=(Paragraph((f"{circle.name} has ended. No more prompts will be sent.",)),),
    )
