"""Retention (SPEC §10): an ended circle's words are erased after the retention period."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.harness import ANA, BEN, Harness, later


async def ended_circle(engine: AsyncEngine) -> Harness:
    h = Harness(engine)
    await h.form_circle((ANA, BEN))
    await h.command(ANA, "schedule weekly on tue at 09:00 tz Europe/Berlin for 1 sessions")
    await h.run(later(days=1, hours=1))  # session 1 (the closing one) opens
    await h.dm(BEN, "My confidential check-in.")
    await h.run(later(days=4))  # it closes, and the circle ends
    assert "ended" in await h.command(ANA, "status")
    return h


async def test_an_ended_circles_texts_are_erased_after_the_retention_period(
    engine: AsyncEngine,
) -> None:
    h = await ended_circle(engine)
    assert await h.core.erase_expired(days=30) == 0  # too recent: kept
    async with h.uow() as uow:
        assert [c.text for c in await uow.checkins.find()] == ["My confidential check-in."]

    await h.run(later(days=31))
    assert await h.core.erase_expired(days=30) == 1
    async with h.uow() as uow:
        assert [c.text for c in await uow.checkins.find()] == ["[removed]"]
        circle = await uow.circles.get(1)
        assert circle.rules == "[removed]"
    exported = await h.command(ANA, "export")
    assert "Growth Circle,1,closed" in exported and ",Ben,yes," in exported, "the figures stay"
    assert await h.core.erase_expired(days=30) == 0, "once is enough"
