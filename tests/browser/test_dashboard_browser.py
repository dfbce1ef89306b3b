"""The programme dashboard in a real browser (SPEC §16): a manager's weeks at a glance.

In the playground, Ana runs Spring Mentoring with #cohort through the page
(new, invite, intakes, match, launch), looks at its dashboard page (no session
held yet) and moves the clock through two sessions in which only three people
of the first circle check in; the page, reloaded, has filled. She signs in
to /admin/ as herself, sees the funnel, the circles table (sorting and
filtering it), the trends and capability charts each with its table, opens a
struggling circle, sees who is quiet, acts on it, and downloads the CSV.
Chen, who manages nothing, gets the page that says so. Screenshots at
desktop and phone width go to tests/browser/screenshots/; on a phone nothing
is wider than the screen. With CIRCLES_UPDATE_SCREENSHOTS=1 the programme's page
lands in `docs/dashboard-programme.png` for the README.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
from aiohttp.test_utils import TestServer

from adapters.local.playground import Playground
from adapters.serve import playground_admin
from adapters.server import create_app
from storage.db import Database
from tests.browser.pages import (
    DESKTOP,
    DOCS,
    PHONE,
    UPDATE_DOCS,
    WAIT,
    open_page,
    run,
    send_dm,
    shoot,
    step,
)

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, ViewportSize

AREAS = "feedback, delegation, coaching, strategy"
# Whether a check-in question came in the DMs after this person last wrote there.
CHECK_IN_OWED = """feed => {
  let owed = false;
  for (const dm of feed.querySelectorAll('.dm')) {
    if (dm.classList.contains('mine')) owed = false;
    else if (dm.textContent.includes('Check-in ·')) owed = true;
  }
  return owed;
}"""


@pytest.fixture
async def site(sqlite_engine: Database) -> AsyncIterator[str]:
    """The playground and its dashboard on one loopback socket, as `circles serve` wires them."""
    playground = Playground.create(sqlite_engine)
    app = create_app(mounts=[playground, playground_admin(playground, public_url="http://x")])
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("/"))
    await server.close()


async def signed_in(
    browser: Browser, url: str, viewport: ViewportSize, name: str, *, shot: str = ""
) -> Page:
    """A fresh visitor of /admin/, signed in as one of the playground's people (with `shot`,
    the sign-in page's screenshot is taken under that name)."""
    from playwright.async_api import expect

    context = await browser.new_context(
        viewport=viewport,
        device_scale_factor=2 if viewport == PHONE else 1,
        locale="en-GB",
        accept_downloads=True,
    )
    page = await context.new_page()
    page.set_default_timeout(WAIT)
    await page.goto(url + "admin/")
    await expect(page).to_have_url(re.compile(r"/admin/sign-in$"))
    await page.get_by_label("sign in as one of its people").select_option(label=name)
    if shot:
        await shoot(page, shot)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("header .who")).to_contain_text(name)
    return page


async def as_cohort(page: Page, user: str) -> None:
    from playwright.async_api import expect

    await page.locator("#people-more").select_option(user.lower())
    await expect(page.locator("#dm-title")).to_contain_text(f"{user}'s DMs")


async def test_a_manager_follows_a_programme_on_the_dashboard(browser: Browser, site: str) -> None:
    from playwright.async_api import expect

    # The programme, run in the playground as a visitor would.
    ground, problems = await open_page(browser, site, DESKTOP)
    await ground.locator("#add-cohort").click()
    await expect(ground.locator('.channel-tab[data-channel="#cohort"]')).to_contain_text("24")
    await run(ground, f"programme new Spring Mentoring areas {AREAS}")
    await run(ground, "programme invite #cohort")
    await ground.locator("#cohort-intakes").click()
    await expect(ground.locator("#cohort-intakes")).to_be_hidden()
    await ground.locator("#activity-close").click()
    proposal = await run(ground, "programme match")
    first = re.search(r"1: ([A-Z][^.]*)\.", await proposal.text_content() or "")
    assert first is not None
    keen = re.findall(r"[A-Z][a-z]+", first.group(1))[:3]  # three of circle 1 take part
    launched = await run(ground, "programme launch")
    await expect(launched).to_contain_text("Launched Spring Mentoring")
    # Launched, nothing held yet: Ana's page has its funnel and circles, no trends.
    early = await signed_in(browser, site, DESKTOP, "Ana")
    await early.get_by_role("link", name="Spring Mentoring").click()
    await expect(early.locator("#circles-table tbody tr")).to_have_count(4)
    await expect(early.locator("main")).to_contain_text("No session has closed yet.")
    # Two sessions of every circle: day by day, the keen answer their check-in when it comes.
    for _ in range(21):
        await step(ground, "day")
        for name in keen:
            await as_cohort(ground, name)
            if await ground.locator("#dm-feed").evaluate(CHECK_IN_OWED):
                await send_dm(ground, f"Session notes from {name}: tried the feedback model")
    assert problems == []
    # The same page, reloaded, has filled: two sessions' trends, and circles gone quiet.
    await early.reload()
    await expect(early.locator("main")).not_to_contain_text("No session has closed yet.")
    await expect(early.locator("figure.chart").nth(1).locator("tbody tr")).to_have_count(2)
    await expect(early.locator("#circles-table")).to_contain_text("dormant")
    # The playground points to the dashboard, in a tab of its own.
    link = ground.get_by_role("link", name="Dashboard")
    await expect(link).to_have_attribute("href", "/admin/")
    await expect(link).to_have_attribute("target", "_blank")

    # Chen manages nothing: the dashboard says so.
    chen = await signed_in(browser, site, DESKTOP, "Chen")
    await expect(chen.locator("h1")).to_have_text("Programmes are for their managers")
    await expect(chen.locator("main")).to_contain_text("You are signed in as Chen")
    await shoot(chen, "dashboard-403")

    # Ana, the manager: her programme, its funnel, circles, trends and capabilities.
    ana = await signed_in(browser, site, DESKTOP, "Ana")
    await ana.get_by_role("link", name="Spring Mentoring").click()
    await expect(ana.locator("h1")).to_have_text("Spring Mentoring")
    charts = ana.locator("figure.chart img")  # the funnel and the trends
    await expect(charts).to_have_count(2)
    for i in range(2):
        await expect(charts.nth(i)).to_be_visible()
        assert await charts.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
    funnel = ana.locator("figure.chart").first
    await funnel.locator("summary").click()
    await expect(funnel.get_by_role("row", name="Invited 24")).to_be_visible()
    rows = ana.locator("#circles-table tbody tr")
    await expect(rows).to_have_count(4)
    await expect(ana.locator("#circles-table")).to_contain_text("dormant")
    trends = ana.locator("figure.chart").nth(1)
    await trends.locator("summary").click()
    await expect(trends.locator("tbody tr")).to_have_count(2)  # sessions 1 and 2
    capability = ana.locator("figure.chart").nth(2)  # no end survey yet: only its table
    await expect(capability.get_by_role("row", name="feedback too few answers (0)")).to_be_visible()
    desktop = await shoot(ana, "dashboard-programme", full_page=True)
    if UPDATE_DOCS:
        shutil.copyfile(desktop, DOCS / "dashboard-programme.png")

    # Sorted by participation, highest first: circle 1 leads; filtered to the dormant ones.
    await ana.get_by_role("link", name="Participation").click()
    await ana.get_by_role("link", name="Participation ▲").click()
    await expect(rows.first).to_contain_text("Spring Mentoring 1")
    await ana.get_by_label("Health").select_option("dormant")
    await ana.get_by_role("button", name="Filter").click()
    await expect(ana).to_have_url(re.compile(r"health=dormant"))
    dormant = await rows.count()
    assert 0 < dormant < 4
    for i in range(dormant):
        await expect(rows.nth(i)).to_contain_text("dormant")

    # The CSV holds the same rows.
    async with ana.expect_download() as download:
        await ana.get_by_role("link", name="Download CSV").click()
    saved = await (await download.value).path()
    lines = saved.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("Circle,Status,Health,Members,Participation")
    assert len(lines) == 1 + dormant and all(",dormant," in line for line in lines[1:])
    assert (await download.value).suggested_filename == "spring-mentoring-circles.csv"

    # A struggling circle: who is quiet, no words of theirs; a nudge, a word to its facilitator.
    await rows.first.get_by_role("link").click()
    await expect(ana.locator("h1")).to_contain_text("Spring Mentoring")
    await expect(ana.locator(".badge")).to_have_text("dormant")
    quiet = ana.locator("section").filter(has_text="Who is quiet").locator("tbody tr")
    await expect(quiet).to_have_count(6)
    await expect(ana.locator("main")).not_to_contain_text("tried the feedback model")
    await ana.get_by_role("button", name="Nudge the circle").click()
    await expect(ana.get_by_role("status")).to_be_visible()
    await ana.get_by_label("Message the facilitator").fill("Anything I can do to help?")
    await ana.get_by_role("button", name="Send to the facilitator").click()
    await expect(ana.get_by_role("status")).to_be_visible()
    await shoot(ana, "dashboard-circle", full_page=True)

    # On a phone: one column, tables scroll inside themselves, nothing wider than the screen.
    phone = await signed_in(browser, site, PHONE, "Ana", shot="phone-dashboard-sign-in")
    await shoot(phone, "phone-dashboard-programmes")
    await phone.get_by_role("link", name="Spring Mentoring").click()
    await expect(phone.locator("figure.chart img")).to_have_count(2)
    assert await phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await shoot(phone, "phone-dashboard-programme", full_page=True)
    await phone.locator("#circles-table tbody tr").first.get_by_role("link").click()
    await expect(phone.get_by_role("button", name="Nudge the circle")).to_be_visible()
    assert await phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await shoot(phone, "phone-dashboard-circle", full_page=True)
