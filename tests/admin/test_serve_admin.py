"""`/admin/` in `circles serve` as an operator starts it: in the playground anyone may
sign in as its people; with a platform and nothing else set, it says what to configure."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.test_serve import Server


async def page(server: Server, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(f"{server.base}{path}") as response:
        return response.status, await response.text()


async def test_the_playground_offers_its_people_and_a_platform_asks_for_settings(
    tmp_path: Path,
) -> None:
    playground = Server(tmp_path / "playground")
    (tmp_path / "playground").mkdir()
    await playground.start()
    try:
        status, text = await page(playground, "/admin/")  # signed out: to the sign-in page
        assert status == 200
        assert "sign in as one of its people" in text and '<option value="yara">' in text
    finally:
        assert (await playground.stop())[0] == 0

    (tmp_path / "teams").mkdir()
    teams = Server(tmp_path / "teams", TEAMS_ALLOW_UNAUTHENTICATED="true", HOST="127.0.0.1")
    await teams.start()
    try:
        status, text = await page(teams, "/admin/")
        assert status == 503
        assert "ADMIN_SECRET_KEY" in text and "A way to sign in" in text
        assert f"{teams.base}/admin/callback/&lt;provider&gt;" in text
    finally:
        assert (await teams.stop())[0] == 0
