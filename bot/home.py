"""A person's own page (Slack's App Home tab): their circles at a glance (SPEC §8).

Read-only: the person's circles with the open and next sessions in their own
time zone, what they still owe, their open commitments, and for admins the
health table. It reuses what `mine` and `health` say, so the page and the
commands never disagree.
"""

from __future__ import annotations

from dataclasses import replace

from bot import personal, reports
from bot.context import Ctx
from bot.lookups import circles_of, membership_of
from bot.messages import Block, Context, Heading, Paragraph, Strong
from bot.people import PersonKey
from bot.sessions import SessionStatus
from bot.timefmt import when


async def home(ctx: Ctx, key: PersonKey) -> tuple[Block, ...]:
    person = await ctx.uow.people.by_key(key)
    if person is None:
        return (
            Heading("Welcome to Circles"),
            Paragraph((personal_intro(ctx.prefix),)),
        )
    blocks: list[Block] = [Heading("Your circles")]
    circles = await circles_of(ctx, person)
    if not circles:
        blocks.append(Paragraph((personal_intro(ctx.prefix),)))
    for circle in circles:
        member = await membership_of(ctx, circle, person)
        role = "organiser" if member is not None and member.organiser else "member"
        blocks.append(
            Paragraph(
                (Strong(circle.name), f" · {circle.kind.value.replace('-', ' ')} · you're {role}")
            )
        )
        current = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.OPEN)
        upcoming = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
        lines: list[str] = []
        if current is not None:
            lines.append(
                f"Session {current.number} is open until {when(current.closes_at, person.tz)}."
            )
        if upcoming is not None:
            lines.append(f"Next: session {upcoming.number}, {when(upcoming.opens_at, person.tz)}.")
        elif current is None:
            lines.append(f"No session planned ({circle.status.value}).")
        blocks.append(Context((" ".join(lines),)))
    scratch = replace(ctx, answer=[])
    await personal.mine(scratch, person)
    blocks += [Heading("What's open for you"), *scratch.answer]
    if person.admin or person.key.user in ctx.config.admins:
        scratch = replace(ctx, answer=[])
        await reports.health_report(scratch, person, admin=True)
        blocks += scratch.answer
    return tuple(blocks)


def personal_intro(prefix: str) -> str:
    return (
        "You're not in any circle yet. Create one in a channel with "
        f"`{prefix}create <name>`, or ask an organiser to invite you. `{prefix}help` shows the rest."
    )
