"""The browser tests' fixtures: Chromium through Playwright, and a playground on a
loopback socket, as `circles serve` serves it without credentials."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
from aiohttp.test_utils import TestServer

from adapters.local.playground import Playground
from adapters.server import create_app
from storage.db import Database
from tests.browser.pages import CHROMIUM, CHROMIUM_ARGS, REQUIRE, missing_browser

if TYPE_CHECKING:
    from playwright.async_api import Browser


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    missing = missing_browser()
    if missing is not None:
        if REQUIRE:
            pytest.fail(f"CIRCLES_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(f"browser tests need Chromium and Playwright: {missing}")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@pytest.fixture
async def url(sqlite_engine: Database) -> AsyncIterator[str]:
    """The playground served on a loopback socket, as `circles serve` would."""
    server = TestServer(create_app(mounts=[Playground.create(sqlite_engine)]), host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("/"))
    await server.close()
