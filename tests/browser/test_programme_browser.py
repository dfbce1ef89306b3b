"""A programme in the playground, in a real browser (SPEC §13–§14): a manager's first try.

Ana adds #cohort (two dozen people in twelve time zones), creates a programme,
invites the channel and two of the cast; Chen and Ben answer their intakes by
DM question by question, the cohort answers theirs; Ana matches, reads the
proposal with its explanations and the random grouping's figures, moves Ben,
locks a circle, matches again and launches. Each new circle's channel appears
in the channel list, and when the clock reaches its first session, its
kickoff is there. Screenshots of the proposal and of a launched circle are
taken at desktop and phone width; with CIRCLES_UPDATE_SCREENSHOTS=1 the
proposal's lands in `docs/playground-programme.png` for the README.
"""

from __future__ import annotations

import re
import shutil
from typing import TYPE_CHECKING

from tests.browser.pages import (
    DESKTOP,
    DOCS,
    PHONE,
    UPDATE_DOCS,
    act_as,
    open_page,
    run,
    send_dm,
    shoot,
    step,
)

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

AREAS = ("feedback", "delegation", "coaching", "strategy")
# Ben's intake, one DM per question, as he would type it.
INTAKES = {
    "Ben": ("feedback", "skip", "coaching, strategy", "engineering", "2-5y", "none", "none", "2 3 4 4"),
}  # fmt: skip


async def open_channel(page: Page, name: str) -> None:
    from playwright.async_api import expect

    await page.locator(f'.channel-tab[data-channel="{name}"]').click()
    await expect(page.locator("#channel-title")).to_have_text(name)


async def test_a_programme_from_invitation_to_first_sessions(browser: Browser, url: str) -> None:
    from playwright.async_api import expect

    page, problems = await open_page(browser, url, DESKTOP)
    dms = page.locator("#dm-feed")
    await expect(page.locator("#channels")).to_be_hidden()  # one channel: no list yet

    # The cohort: 24 people in their own channel, each reachable from the people picker.
    await page.locator("#add-cohort").click()
    cohort = page.locator('.channel-tab[data-channel="#cohort"]')
    await expect(cohort).to_contain_text("24")
    await expect(page.locator("#add-cohort")).to_be_hidden()
    await expect(page.locator("#people-more option")).to_have_count(25)  # a prompt + 24

    created = await run(page, f"programme new Spring Mentoring areas {', '.join(AREAS)}")
    await expect(created).to_contain_text("Created the programme Spring Mentoring")
    invited = await run(page, "programme invite #cohort @Chen @Ben")
    await expect(invited).to_contain_text("Invited Chen, Ben, Amara, Bruno")
    await expect(invited).to_contain_text("Yara to Spring Mentoring")
    await expect(page.locator("#cohort-intakes")).to_have_text("#cohort answers 24 intakes")

    # Chen (17:00 in Tokyo) has her invitation: its button opens the intake as one form.
    await act_as(page, "Chen")
    await dms.get_by_role("button", name="Fill in your intake").click()
    form = dms.locator("form.b-form").last
    await expect(form).to_contain_text("Which areas do you want to develop?")
    wants, offers = form.locator(".b-picks").nth(0), form.locator(".b-picks").nth(1)
    for area in ("delegation", "strategy"):
        await wants.get_by_label(area, exact=True).check()
    await offers.get_by_label("feedback", exact=True).check()
    await form.get_by_label("In one line of your own words").fill("Handing over the roadmap")
    await form.get_by_label("Your function or team").fill("product")
    await form.get_by_label("Experience in your role").select_option("5-10y")
    await form.get_by_label("Matched with people from").select_option("different")
    for area, rating in zip(AREAS, ("3", "2", "4", "2"), strict=True):
        await form.get_by_label(f"Rate yourself in {area}").select_option(rating)
    await form.get_by_role("button").click()
    await expect(dms.locator(".dm.bot").last).to_contain_text("your intake for Spring Mentoring")
    # Ben's invitation waits for New York's morning; he asks for his intake himself.
    await act_as(page, "Ben")
    await send_dm(page, "intake")
    await send_dm(page, "feedbak")  # a typo: what was wrong, and the question again
    await expect(dms.locator(".dm.bot").last).to_contain_text("“feedbak” is not one of")
    await expect(dms.locator(".dm.bot").last).to_contain_text("Which areas do you want")
    for answer in INTAKES["Ben"]:
        await send_dm(page, answer)
    await expect(dms.locator(".dm.bot").last).to_contain_text("your intake for Spring Mentoring")

    # A cohort member's DMs can be read and answered too.
    await page.locator("#people-more").select_option("ines")
    await expect(page.locator("#dm-title")).to_contain_text("Ines's DMs")
    await send_dm(page, "intake")
    await expect(dms.locator(".dm.bot").last).to_contain_text("1 of 8")

    await act_as(page, "Ana")
    await page.locator("#cohort-intakes").click()
    await expect(page.locator("#activity")).to_contain_text("DM → Yara")
    await expect(page.locator("#cohort-intakes")).to_be_hidden()
    await page.locator("#activity-close").click()

    # The proposal: circles with their reasons, beside a random grouping of the same people.
    proposal = await run(page, "programme match")
    await expect(proposal).to_contain_text("Proposal for Spring Mentoring")
    await expect(proposal).to_contain_text("wants to grow in")
    await expect(proposal).to_contain_text("shared working hours a week")
    await expect(proposal).to_contain_text("A random grouping of the same people")
    text = await proposal.text_content() or ""
    circles = dict(re.findall(r"(\d): ([A-Z][^.]*)\.", text))
    assert len(circles) >= 4, text
    assert all(name in " ".join(circles.values()) for name in ("Ben", "Chen", "Ines", "Yara"))
    await proposal.evaluate("post => post.scrollIntoView({block: 'end'})")
    desktop_proposal = await shoot(page, "programme-proposal")

    ben_in = next(n for n, names in circles.items() if "Ben" in names)
    to = next(n for n in circles if n != ben_in)
    moved = await run(page, f"programme move @Ben to {to}")
    await expect(moved).to_contain_text(f"Moved Ben from circle {ben_in} to circle {to}")
    locked = await run(page, f"programme lock {to}")
    await expect(locked).to_contain_text(f"Circle {to} is locked")
    again = await run(page, "programme match")
    await expect(again).to_contain_text(f"{to} (locked):")
    kept = re.search(rf"{to} \(locked\): ([^.]*)\.", await again.text_content() or "")
    assert kept is not None and "Ben" in kept.group(1)

    launched = await run(page, "programme launch")
    await expect(launched).to_contain_text("Launched Spring Mentoring")
    homes = page.locator('.channel-tab[data-channel^="#spring-mentoring-"]')
    await expect(homes).to_have_count(len(circles))

    # Time moves to each circle's first session (they open at 09:00 in each organiser's
    # zone); every new channel gets its kickoff.
    for _ in range(len(circles)):
        if await page.locator("#step-open").is_disabled():
            break
        await step(page, "open")
    for number in range(1, len(circles) + 1):
        await open_channel(page, f"#spring-mentoring-{number}")
        kickoff = page.locator("#channel-feed .kickoff")
        await expect(kickoff).to_have_count(1)
        await expect(kickoff).to_contain_text(f"Session 1 · Spring Mentoring {number}")
        await expect(page.locator("#circle-info")).to_contain_text(f"Spring Mentoring {number}")
    await open_channel(page, f"#spring-mentoring-{to}")
    await expect(page.locator("#channel-feed")).to_contain_text("Ben")
    await shoot(page, "programme-circle")

    # The same on a phone: the proposal in #circle, and a launched circle's channel.
    phone, phone_problems = await open_page(browser, url, PHONE)
    last = phone.locator("#channel-feed .ephemeral").filter(has_text="Proposal for").last
    await last.scroll_into_view_if_needed()
    await shoot(phone, "phone-programme-proposal")
    await open_channel(phone, f"#spring-mentoring-{to}")
    await expect(phone.locator("#channel-feed .kickoff")).to_contain_text("Session 1")
    await shoot(phone, "phone-programme-circle")
    assert await phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert problems == [] and phone_problems == []
    if UPDATE_DOCS:
        shutil.copyfile(desktop_proposal, DOCS / "playground-programme.png")
