"""Retention and export for operators (SPEC §10, §11): figures stay, words go."""

from __future__ import annotations

from storage.db import Database
from tests.harness import ANA, BEN, Harness, later


async def ended_circle(engine: Database) -> Harness:
    h = Harness(engine)
    await h.form_circle((ANA, BEN))
    await h.command(ANA, "schedule weekly on tue at 09:00 tz Europe/Berlin for 1 sessions")
    await h.run(later(days=1, hours=1))  # session 1 (the closing one) opens
    await h.dm(BEN, "My confidential check-in.")
    await h.run(later(days=4))  # it closes, and the circle ends
    assert "ended" in await h.command(ANA, "status")
    return h


async def test_an_ended_circles_texts_are_erased_after_the_retention_period(
    engine: Database,
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


async def test_operators_export_figures_without_texts(sqlite_engine: Database) -> None:
    from adapters.export import export_circle, missing_database

    h = Harness(sqlite_engine)
    await h.form_circle((ANA, BEN))
    await h.command(ANA, "schedule weekly on tue at 09:00 tz Europe/Berlin")
    await h.run(later(days=1, hours=1))
    await h.dm(BEN, "A very private check-in.")
    await h.run(later(days=3))
    url = sqlite_engine.url.render_as_string(hide_password=False)
    exported = await export_circle(url, name="growth circle", workspace=None)
    assert exported.splitlines()[0].startswith("circle,session,status")
    assert ",Ben,yes," in exported and ",Ana,no," in exported
    assert "private" not in exported
    assert missing_database(url) is None
    assert missing_database("sqlite+aiosqlite:///nowhere/circles.db") is not None
