"""`help`: what the bot does and the commands the caller may use."""

from __future__ import annotations

import functools

from bot import commands as cmd
from bot.context import Ctx
from bot.messages import Block, Context, Heading, Paragraph
from bot.people import Person

EVERYONE = "everyone"
MEMBERS = "members"
STEWARDS = "stewards"
ORGANISERS = "organisers"
ADMINS = "admins"

GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (EVERYONE, "For everyone", ("help", "create", "join", "hours", "tz", "forget")),
    (
        MEMBERS,
        "For members",
        (
            "checkin",
            "commit",
            "done",
            "partly",
            "notyet",
            "drop",
            "mine",
            "status",
            "away",
            "back",
            "agree",
            "rules",
            "leave",
        ),
    ),
    (
        STEWARDS,
        "For organisers and facilitators",
        ("invite", "open", "close", "rotate", "facilitator", "hotseat", "topic"),
    ),
    (
        ORGANISERS,
        "For organisers",
        ("schedule", "skip", "pause", "resume", "end", "remove", "export"),
    ),
    (ADMINS, "For admins", ("health", "export")),
)

INTRO = (
    "I run peer learning circles in this chat: I open each session, ask everyone to check in by DM, "
    "run a hot seat in the session thread, capture one commitment each, and ask about it next time."
)


@functools.cache  # the same for everyone with the same roles: a few variants in all
def overview(prefix: str, *, roles: frozenset[str] | str) -> tuple[Block, ...]:
    allowed = {roles} if isinstance(roles, str) else set(roles)
    blocks: list[Block] = [Paragraph((INTRO,))]
    for group, title, keywords in GROUPS:
        if group in allowed:
            lines = "\n".join(
                f"`{prefix}{cmd.USAGE[k]}` — {cmd.SUMMARY[k]}" for k in keywords if k in cmd.USAGE
            )
            blocks.extend((Heading(title), Paragraph((lines,))))
    blocks.append(Context((f"`{prefix}help <command>` explains one command.",)))
    return tuple(blocks)


def short(prefix: str) -> tuple[Block, ...]:
    return (Context((f"Type `{prefix}help` to see what you can do.",)),)


async def show(
    ctx: Ctx, person: Person, topic: str | None, *, conversation: str | None, admin: bool
) -> None:
    if topic:
        keyword = topic.lower().split()[0]
        if keyword in cmd.USAGE:
            ctx.say(
                Paragraph((f"`{ctx.prefix}{cmd.USAGE[keyword]}`",)),
                Paragraph((cmd.SUMMARY[keyword],)),
            )
            return
    memberships = await ctx.uow.memberships.find(person_id=person.id, left_at=None)
    roles = {EVERYONE}
    if memberships:
        roles.add(MEMBERS)
        roles.add(STEWARDS)  # facilitation rotates to every member
    if any(m.organiser for m in memberships):
        roles.add(ORGANISERS)
    if admin:
        roles.add(ADMINS)
    ctx.say(*overview(ctx.prefix, roles=frozenset(roles)))
