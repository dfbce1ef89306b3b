"""What the browser tests share: Chromium's place and flags, the viewports, and the
visitor's moves on the playground page (open it, act as someone, run a command, move the
clock, send a DM, answer a text box, take a screenshot)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.async_api import Browser, ConsoleMessage, Locator, Page, ViewportSize

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUIRE = os.environ.get("CIRCLES_REQUIRE_BROWSER") == "1"
UPDATE_DOCS = os.environ.get("CIRCLES_UPDATE_SCREENSHOTS") == "1"
SCREENSHOTS = Path(__file__).parent / "screenshots"
DOCS = Path(__file__).resolve().parents[2] / "docs"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
WAIT = 15_000  # ms; generous for a slow CI machine


def missing_browser() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed: pip install -e '.[dev]'"
    if not CHROMIUM.exists():
        return f"Chromium is not at {CHROMIUM}: apt-get install -y chromium"
    return None


async def open_page(browser: Browser, url: str, viewport: ViewportSize) -> tuple[Page, list[str]]:
    """A fresh tab on the playground, and the list its script errors are collected in."""
    context = await browser.new_context(
        viewport=viewport, device_scale_factor=2 if viewport == PHONE else 1, locale="en-GB"
    )
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: _console(problems, message))
    page.set_default_timeout(WAIT)
    await page.goto(url)
    await page.locator(".person").first.wait_for()
    return page, problems


def _console(problems: list[str], message: ConsoleMessage) -> None:
    if message.type == "error":
        problems.append(message.text)


async def act_as(page: Page, name: str) -> None:
    from playwright.async_api import expect

    await page.locator(f'.person[data-member="{name.lower()}"]').click()
    await expect(page.locator("#dm-title")).to_contain_text(f"{name}'s DMs")


async def step(page: Page, which: str) -> None:
    """Move the clock with one of its buttons, and wait for the page to settle."""
    from playwright.async_api import expect

    before = await page.locator("#clock-local").text_content()
    await page.locator(f'[data-step="{which}"]').click()
    await expect(page.locator("#clock-local")).not_to_have_text(before or "")
    await expect(page.locator("body")).not_to_have_class("busy")


async def run(page: Page, command: str) -> Locator:
    """Type a command in the open channel; its private answer ("Only visible to you")."""
    from playwright.async_api import expect

    answers = page.locator("#channel-feed .ephemeral")
    before = await answers.count()
    await page.locator("#command-input").fill(command)
    await page.locator("#command-input").press("Enter")
    await expect(answers).to_have_count(before + 1)
    answer = answers.last
    await expect(answer).to_contain_text(f"You ran /circle {command}")
    return answer


async def send_dm(page: Page, text: str) -> None:
    from playwright.async_api import expect

    await page.locator("#dm-input").fill(text)
    await page.locator("#dm-input").press("Enter")
    await expect(page.locator("#dm-feed .dm.mine").last).to_contain_text(text[:40])


async def fill_box(page: Page, label: str, text: str) -> None:
    """Answer the newest text box with this label in the DMs (a form submission)."""
    from playwright.async_api import expect

    box = page.locator("#dm-feed form.b-input").filter(has=page.get_by_label(label)).last
    await box.get_by_label(label).fill(text)
    await box.get_by_role("button", name="Send").click()
    await expect(
        page.locator("#dm-feed form.b-input").filter(has=page.get_by_label(label)).last
    ).to_have_class("b-input sent")


async def shoot(page: Page, name: str, *, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), animations="disabled", full_page=full_page)
    return path
