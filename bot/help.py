"""`help`: what the bot does and the commands the caller may use.

It is drawn from the command registry's rows (passed in: the registry names
this module's `show` as the handler of `help`), one section per audience.
"""

from __future__ import annotations

import functools
from typing import Any

from bot.context import Ctx
from bot.messages import Block, Context, Heading, Paragraph
from bot.people import Person
from bot.registry import Audience, Spec

INTRO = (
    "I run peer learning circles in this chat: I open each session, ask everyone to check in by DM, "
    "run a hot seat in the session thread, capture one commitment each, and ask about it next time."
)


@functools.cache  # the same for everyone with the same roles: a few variants in all
def overview(
    prefix: str, *, rows: tuple[Spec[Any], ...], roles: frozenset[Audience]
) -> tuple[Block, ...]:
    blocks: list[Block] = [Paragraph((INTRO,))]
    for audience in Audience:
        if audience in roles:
            lines = "\n".join(
                f"`{prefix}{row.usage}` — {row.summary}" for row in rows if audience in row.who
            )
            blocks.extend((Heading(audience.value), Paragraph((lines,))))
    blocks.append(Context((f"`{prefix}help <command>` explains one command.",)))
    return tuple(blocks)


def short(prefix: str) -> tuple[Block, ...]:
    return (Context((f"Type `{prefix}help` to see what you can do.",)),)


async def show(
    ctx: Ctx,
    person: Person,
    topic: str | None,
    *,
    rows: tuple[Spec[Any], ...],
    conversation: str | None,
    admin: bool,
) -> None:
    if topic:
        keyword = topic.lower().split()[0]
        row = next((r for r in rows if keyword in (r.keyword, *r.aliases)), None)
        if row is not None:
            ctx.say(Paragraph((f"`{ctx.prefix}{row.usage}`",)), Paragraph((row.summary,)))
            return
    memberships = await ctx.uow.memberships.find(person_id=person.id, left_at=None)
    roles = {Audience.EVERYONE}
    if memberships:
        roles.add(Audience.MEMBERS)
        roles.add(Audience.STEWARDS)  # facilitation rotates to every member
    if any(m.organiser for m in memberships):
        roles.add(Audience.ORGANISERS)
    programmes = await ctx.uow.programmes.find(
        platform=person.key.platform, workspace=person.key.workspace
    )
    if any(person.id in p.managers for p in programmes):
        roles.add(Audience.MANAGERS)
    if admin:
        roles.add(Audience.ADMINS)
    ctx.say(*overview(ctx.prefix, rows=rows, roles=frozenset(roles)))
