"""The playground in a real browser: a whole session, clicked and typed (SPEC §11).

Playwright drives Debian's Chromium (`/usr/bin/chromium`) against the real
server on a loopback socket. Without Playwright or Chromium the tests skip
and say why; with CIRCLES_REQUIRE_BROWSER=1 they fail instead, so CI cannot
pass without them. Screenshots land in `tests/browser/screenshots/` (not
committed); with CIRCLES_UPDATE_SCREENSHOTS=1 the desktop and phone ones are
also copied to `docs/` for the README.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from tests.browser.pages import (
    DESKTOP,
    DOCS,
    PHONE,
    UPDATE_DOCS,
    act_as,
    fill_box,
    open_page,
    send_dm,
    shoot,
    step,
)

if TYPE_CHECKING:
    from playwright.async_api import Browser


async def test_a_whole_session_played_in_the_browser(browser: Browser, url: str) -> None:
    from playwright.async_api import expect

    page, problems = await open_page(browser, url, DESKTOP)
    channel, dms = page.locator("#channel-feed"), page.locator("#dm-feed")
    await expect(page.locator("#circle-info")).to_contain_text("Growth Circle")
    await expect(channel).to_contain_text("You ran /circle invite @Ben @Chen @Dara")

    # Everyone agrees to the ground rules: Chen by her welcome's button (17:00 in Tokyo);
    # Ben and Dara by typing, as their welcomes wait for their morning.
    await expect(page.locator('.person[data-member="chen"] .badge')).to_have_text("1")
    await expect(page.locator('.person[data-member="ben"] .badge')).not_to_be_visible()
    await act_as(page, "Chen")
    await dms.get_by_role("button", name="I agree").click()
    await expect(dms).to_contain_text("Thank you for agreeing")
    await expect(dms.get_by_role("button", name="✓ I agree")).to_be_visible()
    for name in ("Ben", "Dara"):
        await act_as(page, name)
        await send_dm(page, "agree")
        await expect(dms).to_contain_text("Thank you for agreeing")

    # Session 1 opens: the kickoff is a card with its thread open.
    await act_as(page, "Ana")
    await step(page, "open")
    kickoff = channel.locator(".kickoff").first
    await expect(kickoff).to_contain_text("Session 1 · Growth Circle")
    await expect(kickoff).to_contain_text("Facilitator")
    await expect(page.locator("#activity")).to_contain_text("#circle")
    await fill_box(page, "Your check-in", "I want to give clearer feedback, without the mush.")
    await expect(kickoff.locator(".replies")).to_contain_text("Ana checked in")

    # Six hours on it is 09:00 in New York: Ben's prompts arrive.
    for _ in range(6):
        await step(page, "hour")
    await expect(page.locator('.person[data-member="ben"] .badge')).to_be_visible()
    await act_as(page, "Ben")
    await expect(page.locator("#clock-local")).to_contain_text("Tue 24 Nov, 09:00")
    await expect(dms).to_contain_text("You're in the hot seat")
    await send_dm(page, "Three weeks as a team lead; mostly listening.")
    await fill_box(page, "Your challenge", "How do I say no to my own manager?")
    await expect(kickoff.locator(".replies")).to_contain_text("Hot seat: Ben")
    await send_dm(page, "commit Book 1:1s with all five reports")

    # Chen replies in the thread and checks in with a command in the channel.
    await act_as(page, "Chen")
    reply = page.get_by_placeholder("Reply in thread as Chen")
    await reply.fill("Offer a trade-off, not a flat no.")
    await reply.press("Enter")
    await expect(kickoff.locator(".replies")).to_contain_text("Offer a trade-off, not a flat no.")
    await page.locator("#command-input").fill(
        "checkin Moving into product; learning to tell stories."
    )
    await page.locator("#command-input").press("Enter")
    await expect(channel.locator(".ephemeral").last).to_contain_text("You ran /circle checkin")

    # Commitments: Ana by command in her DM, Chen in the prompt's text box two days on.
    await act_as(page, "Ana")
    await send_dm(page, "commit Give one piece of direct feedback in my next 1:1")
    await step(page, "day")

    # Sydney's morning has come and gone: Dara answers her check-in.
    await act_as(page, "Dara")
    await send_dm(page, "Raised my rate for one new client. They said yes!")
    await expect(kickoff.locator(".replies")).to_contain_text("Dara checked in")

    await act_as(page, "Chen")
    await step(page, "day")
    await fill_box(page, "Your commitment", "Present the churn analysis to the product team.")

    # The session closes: the summary lands in the thread.
    await act_as(page, "Ana")
    await step(page, "close")
    summary = kickoff.locator(".replies .reply").last
    await expect(summary).to_contain_text("Summary · Growth Circle, session 1")
    await expect(summary).to_contain_text("Checked in: 4 of 4")
    await expect(summary).to_contain_text("Present the churn analysis to the product team.")
    desktop = await shoot(page, "desktop")

    # Session 2: the review quotes last time's commitment, with the platform's choices.
    await step(page, "open")
    await expect(dms).to_contain_text("Give one piece of direct feedback in my next 1:1")
    await dms.get_by_role("button", name="Done").last.click()
    # The answered review shows its outcome where its buttons were.
    await expect(dms).to_contain_text("Marked ✅ done. Thanks!")
    await expect(dms.get_by_role("button", name="Done")).to_have_count(0)
    await fill_box(page, "Your check-in", "The feedback landed. Easier than I feared.")
    second = channel.locator(".kickoff").nth(1)
    await expect(second.locator(".replies")).to_contain_text("The feedback landed.")
    await expect(second.locator(".replies")).to_contain_text("✅")
    await shoot(page, "desktop-review")

    # The same world on a phone: panes become tabs; Ben reviews his commitment there.
    phone, phone_problems = await open_page(browser, url, PHONE)
    await act_as(phone, "Ben")
    await expect(phone.locator(".pane-dms")).to_be_hidden()
    await phone.locator("#tab-dms").click()
    await expect(phone.locator(".pane-channel")).to_be_hidden()
    for _ in range(6):  # to 09:00 in New York, when Ben's prompts may reach him
        await step(phone, "hour")
    phone_dms = phone.locator("#dm-feed")
    await expect(phone_dms).to_contain_text("Book 1:1s with all five reports")
    await phone_dms.get_by_role("button", name="Partly").last.click()
    await expect(phone_dms).to_contain_text("Marked ◐ partly. Thanks!")
    await phone_dms.locator(".dm", has_text="Marked ◐ partly. Thanks!").last.evaluate(
        "post => post.scrollIntoView({block: 'start'})"
    )
    phone_shot = await shoot(phone, "phone")
    await phone.locator("#tab-channel").click()
    await expect(phone.locator(".pane-channel .kickoff").nth(1)).to_be_visible()
    await shoot(phone, "phone-channel")

    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "nothing sticks out sideways on a phone"
    assert problems == [] and phone_problems == []
    if UPDATE_DOCS:
        shutil.copyfile(desktop, DOCS / "playground.png")
        shutil.copyfile(phone_shot, DOCS / "playground-phone.png")


async def test_a_reply_to_one_of_the_bots_dms_answers_that_prompt(
    browser: Browser, url: str
) -> None:
    from playwright.async_api import expect

    page, problems = await open_page(browser, url, DESKTOP)
    dms = page.locator("#dm-feed")
    await act_as(page, "Ben")
    await send_dm(page, "agree")  # his welcome waits for his morning
    await expect(dms).to_contain_text("Thank you for agreeing")
    await step(page, "open")
    for _ in range(6):  # 09:00 in New York: Ben's check-in and hot-seat prompts arrive
        await step(page, "hour")
    hot_seat = dms.locator(".dm.bot").filter(has_text="You're in the hot seat").last
    await hot_seat.get_by_title("Reply to this message").click()
    await expect(page.locator("#dm-replying")).to_contain_text("hot seat")

    await send_dm(page, "How do I say no to my own manager?")
    replies = page.locator("#channel-feed .kickoff").first.locator(".replies")
    await expect(replies).to_contain_text("Hot seat: Ben")  # not his check-in
    await expect(page.locator("#dm-replying")).to_be_hidden()
    await expect(dms.locator(".dm.mine").last).to_contain_text("↩ in reply to")
    assert problems == []


async def test_member_text_is_shown_exactly_and_never_runs(browser: Browser, url: str) -> None:
    from playwright.async_api import expect

    hostile = "<img src=x onerror=\"document.title='owned'\"> <b>bold?</b> <!channel> `code`"
    page, problems = await open_page(browser, url, DESKTOP)
    await step(page, "open")
    await fill_box(page, "Your check-in", hostile)
    replies = page.locator("#channel-feed .kickoff .replies")
    await expect(replies).to_contain_text(hostile)
    await expect(replies.locator(".authored")).to_have_text(hostile)
    assert await page.locator("#channel-feed img, #dm-feed img, #channel-feed b").count() == 0
    assert await page.title() == "Circles playground"
    assert problems == []


async def test_a_refused_request_shows_its_reason_and_keeps_the_text(
    browser: Browser, url: str
) -> None:
    from playwright.async_api import expect

    page, _ = await open_page(browser, url, DESKTOP)  # a 400 is logged as a console error
    too_long = "y" * 4001
    await page.locator("#dm-input").evaluate(
        "(box, text) => { box.removeAttribute('maxlength'); box.value = text; }", too_long
    )
    await page.locator("#dm-input").press("Enter")
    await expect(page.locator("#toast")).to_contain_text("at most 4,000")
    await expect(page.locator("#dm-input")).to_have_value(too_long)
    await page.locator('[data-step="close"]').evaluate("button => { button.disabled = false; }")
    await page.locator('[data-step="close"]').click()
    await expect(page.locator("#toast")).to_contain_text("No session is open")


async def test_reset_starts_again_from_the_ready_made_circle(browser: Browser, url: str) -> None:
    from playwright.async_api import Dialog, expect

    page, problems = await open_page(browser, url, DESKTOP)
    await step(page, "open")
    await expect(page.locator("#channel-feed .kickoff")).to_have_count(1)

    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    page.once("dialog", accept)
    await page.locator("#reset").click()
    await expect(page.locator("#clock-local")).to_have_text("Mon 23 Nov, 09:00")
    await expect(page.locator("#channel-feed .kickoff")).to_have_count(0)
    await expect(page.locator("#circle-info")).to_contain_text("Growth Circle")
    assert problems == []


async def test_a_long_command_stays_inside_a_phone_screen(browser: Browser, url: str) -> None:
    """The command echoed back ("You ran /circle …") wraps instead of pushing the page wide."""
    from playwright.async_api import expect

    page, problems = await open_page(browser, url, PHONE)
    link = (
        "https://docs.example.com/reading?id=R2l2aW5nQW5kUmVjZWl2aW5nRmVlZGJhY2tXaXRob3V0VGhlTXVzaA"
    )
    typed = f"topic {link}"
    await page.locator("#command-input").fill(typed)
    await page.locator("#command-input").press("Enter")
    answer = page.locator("#channel-feed .ephemeral").last
    await expect(answer).to_contain_text("You ran /circle topic https://docs.example.com")
    await answer.locator(".typed-command").scroll_into_view_if_needed()
    await shoot(page, "phone-long-command")
    box = await answer.locator(".typed-command code").bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert await answer.evaluate("post => post.scrollWidth <= post.clientWidth")
    assert problems == []


async def test_blank_starts_an_empty_world_after_asking(browser: Browser, url: str) -> None:
    from playwright.async_api import Dialog, expect

    page, problems = await open_page(browser, url, PHONE)
    await step(page, "open")
    asked: list[str] = []

    async def answer(dialog: Dialog, accept: bool) -> None:
        asked.append(dialog.message)
        await (dialog.accept() if accept else dialog.dismiss())

    page.once("dialog", lambda dialog: answer(dialog, False))
    await page.locator("#reset-blank").click()
    await expect(page.locator("#channel-feed .kickoff")).to_have_count(1)  # declined: all stays
    assert asked and "no circles" in asked[0]

    page.once("dialog", lambda dialog: answer(dialog, True))
    await page.locator("#reset-blank").click()
    await expect(page.locator("#clock-local")).to_have_text("Mon 23 Nov, 09:00")
    await expect(page.locator("#circle-info")).to_have_text(
        "No circle here yet: try “create My Circle”."
    )
    await expect(page.locator("#channel-feed .post")).to_have_count(0)
    await expect(page.locator("#step-open")).to_be_disabled()
    await shoot(page, "phone-blank")
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    await page.locator("#command-input").fill("create My Circle")
    await page.locator("#command-input").press("Enter")
    await expect(page.locator("#circle-info")).to_contain_text("My Circle")
    assert problems == []
