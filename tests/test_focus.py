"""`focus <text>`: a peer learning group's shared challenge (SPEC §3).

Organisers (or a session's facilitator) set it; every kickoff and check-in
prompt names it from then on, and `status` shows it.
"""

from __future__ import annotations

from storage.db import Database
from tests.harness import ANA, BEN, DARA, Harness, later
from tests.test_commands_service import WEEKLY, circle, lines, refused, status

CHALLENGE = "Saying no to stakeholders without burning bridges"


async def test_organisers_set_the_focus_and_every_prompt_names_it(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, kind="peer-learning-group", scheduled=False)

    assert await h.command(ANA, f"focus {CHALLENGE}") == (
        f"Focus of Growth Circle set: “{CHALLENGE}”\n"
        "It shows in each kickoff and check-in prompt from now on, and in `status`."
    )
    assert f"Focus: {CHALLENGE}" in lines(await status(h, BEN))

    assert "Next sessions:" in await h.command(ANA, WEEKLY)
    await h.run(later(days=1, hours=1))
    assert f"Focus: {CHALLENGE}" in lines(h.kickoff(1).body)
    prompt = next(body for body in h.inbox(BEN) if body.startswith("Check-in · Growth Circle"))
    assert f"Focus: {CHALLENGE}" in lines(prompt)


async def test_no_focus_no_line(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, kind="peer-learning-group")

    await h.run(later(days=1, hours=1))

    assert not any(line.startswith("Focus:") for line in lines(h.kickoff(1).body))
    assert not any("Focus:" in body for body in h.inbox(BEN))
    assert not any(line.startswith("Focus") for line in lines(await status(h, BEN)))


async def test_a_member_may_not_set_the_focus(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, kind="peer-learning-group")

    answer = await refused(h, DARA, f"focus {CHALLENGE}")

    assert "can set the focus in Growth Circle" in answer


async def test_the_focus_needs_its_text(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, kind="peer-learning-group")

    assert "Usage: `focus <text>`" in await refused(h, ANA, "focus")


async def test_only_a_peer_learning_group_has_a_focus(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, kind="mentoring-circle")

    answer = await refused(h, ANA, f"focus {CHALLENGE}")

    assert answer.startswith("Growth Circle is a mentoring circle; a shared focus is for")
    assert "`topic`" in answer


async def test_the_help_lists_focus_for_those_who_may_set_it(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, kind="peer-learning-group")

    assert "`/circle focus <text>` — " in await h.command(ANA, "help")
