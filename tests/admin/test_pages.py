"""The dashboard's pages (SPEC §16): who sees what, a programme's figures, the circles
table's sorting, filters and CSV, a circle's page, and the actions, over HTTP."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from adapters.admin.circles_table import to_csv
from adapters.local.playground import Playground
from bot.dashboard import CircleFigures
from bot.health import Health
from bot.people import PersonKey
from bot.pulses import Survey
from tests.admin.conftest import AREAS, Visitor, run_programme

SAID = "Practised giving feedback this week"  # what the keen ones write: never on a page


def rows(page: str) -> list[str]:
    """The circles table's circle names, in order."""
    table = page.split('id="circles-table"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<a href="/admin/circles/\d+">([^<]+)</a>', table)


def participation(page: str) -> list[int]:
    """The circles table's participation column, in per cent, in order."""
    table = page.split('id="circles-table"', 1)[1].split("</table>", 1)[0]
    return [int(n) for n in re.findall(r"<td>(\d+) %</td>", table)]


async def test_someone_who_manages_nothing_gets_the_403_page(
    visitor: Visitor, playground: Playground
) -> None:
    await run_programme(playground, days=0)
    await visitor.sign_in_as("chen")
    for path in ("/admin/", "/admin/programmes/1", "/admin/circles/2"):
        page = await visitor.page(path, status=403)
        assert "You are signed in as <strong>Chen</strong>" in page
        assert "Sign out" in page
        assert "Spring Mentoring" not in page


async def test_a_manager_sees_only_their_programmes(
    visitor: Visitor, playground: Playground
) -> None:
    await run_programme(playground, days=0)
    await visitor.sign_in_as("ana")
    home = await visitor.page("/admin/")
    assert "Spring Mentoring" in home and "Autumn Leads" not in home
    assert "No programme" not in home
    assert '<a href="/admin/programmes/1">Spring Mentoring</a>' in home
    await visitor.page("/admin/programmes/2", status=404)  # Ben's
    await visitor.page("/admin/programmes/none", status=404)  # hand-made: admins only
    await visitor.page("/admin/programmes/2/circles.csv", status=404)
    await visitor.page("/admin/circles/1", status=404)  # the hand-made Growth Circle
    await visitor.page("/admin/programmes/x", status=404)

    await visitor.sign_in_as("ben")
    home = await visitor.page("/admin/")
    assert "Autumn Leads" in home and "Spring Mentoring" not in home
    draft = await visitor.page("/admin/programmes/2")
    assert "No circle yet: they appear when the programme is launched." in draft
    assert "No session has closed yet." in draft


async def test_an_admin_sees_every_programme_and_the_circles_made_by_hand(
    visitor: Visitor, playground: Playground
) -> None:
    await run_programme(playground, days=0)
    await visitor.sign_in_as("dara")
    home = await visitor.page("/admin/")
    assert "every programme of this workspace" in home
    for name in ("Spring Mentoring", "Autumn Leads", "No programme"):
        assert name in home
    hand_made = await visitor.page("/admin/programmes/none")
    assert rows(hand_made) == ["Growth Circle"]
    assert "Enrolment" not in hand_made  # nobody was invited to the circles made by hand
    circle = await visitor.page("/admin/circles/1")
    assert "Growth Circle" in circle
    assert "Nudge the circle" not in circle  # the actions are the programmes' commands


async def test_a_programme_shows_its_funnel_circles_and_trends_as_charts_and_tables(
    visitor: Visitor, playground: Playground
) -> None:
    await run_programme(playground)
    await visitor.sign_in_as("ana")
    page = await visitor.page("/admin/programmes/1")
    assert "<h1>Spring Mentoring</h1>" in page
    assert "24 participants · 4 circles" in page
    # The funnel, as a chart and as its table.
    assert re.search(
        r'<img src="data:image/svg\+xml;base64,[^"]+" alt="Enrolment: Invited 24', page
    )
    for step in ("Invited", "Intake done", "Matched", "Active"):
        assert f'<th scope="row">{step}</th><td>24</td>' in page
    # Every circle, with its figures; those who answered keep theirs healthier.
    assert sorted(rows(page)) == [f"Spring Mentoring {n}" for n in range(1, 5)]
    assert "dormant" in page and "at risk" in page
    assert "Trends per session as a table" in page
    assert '<th scope="row">1</th>' in page  # session 1 in the trends table
    assert "Capability, start → end as a table" in page
    for area in AREAS.split(", "):
        assert f'<th scope="row">{area}</th><td>too few answers (0)</td>' in page
    assert "Too few answers yet (0); shown from 3." in page
    assert SAID not in page
    # Funnel and trends; no capability chart before the end survey, only its table.
    assert page.count('<img src="data:image/svg+xml;base64,') == 2
    assert "<script" not in page and "cdn" not in page.lower()


async def test_the_circles_table_sorts_and_filters_on_the_server(
    visitor: Visitor, playground: Playground
) -> None:
    await run_programme(playground)
    await visitor.sign_in_as("ana")
    names = [f"Spring Mentoring {n}" for n in range(1, 5)]
    assert rows(await visitor.page("/admin/programmes/1?sort=name")) == names
    by_name_down = await visitor.page("/admin/programmes/1?sort=-name")
    assert rows(by_name_down) == names[::-1]
    assert 'aria-sort="descending"' in by_name_down
    assert 'href="?sort=name#circles">Circle ▼</a>' in by_name_down  # its header flips it back
    busiest = participation(await visitor.page("/admin/programmes/1?sort=-participation"))
    quietest = participation(await visitor.page("/admin/programmes/1?sort=participation"))
    assert busiest == sorted(busiest, reverse=True) and quietest == sorted(quietest)
    assert busiest[0] > busiest[-1]
    dormant = await visitor.page("/admin/programmes/1?health=dormant&sort=name")
    assert 0 < len(rows(dormant)) < 4
    assert '<option value="dormant" selected>' in dormant
    assert rows(await visitor.page("/admin/programmes/1?q=mentoring+3")) == ["Spring Mentoring 3"]
    nothing = await visitor.page("/admin/programmes/1?q=nowhere")
    assert rows(nothing) == [] and "No circle matches these filters." in nothing
    odd = await visitor.page("/admin/programmes/1?sort=%3Cscript%3E&health=everything")
    assert sorted(rows(odd)) == names  # an unknown sort or filter shows the whole table


async def test_the_csv_holds_the_rows_on_screen_as_an_attachment(
    visitor: Visitor, playground: Playground
) -> None:
    await run_programme(playground)
    await visitor.sign_in_as("ana")
    page = await visitor.page("/admin/programmes/1?health=dormant&sort=-name")
    assert 'href="/admin/programmes/1/circles.csv?sort=-name&amp;health=dormant"' in page
    response = await visitor.http.get("/admin/programmes/1/circles.csv?sort=-name&health=dormant")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="spring-mentoring-circles.csv"'
    )
    table = list(csv.reader(io.StringIO(await response.text())))
    assert table[0][:4] == ["Circle", "Status", "Health", "Members"]
    assert [row[0] for row in table[1:]] == rows(page)
    assert all(row[2] == "dormant" and row[3] == "6" for row in table[1:])


async def test_csv_cells_a_spreadsheet_would_run_stay_text(
    visitor: Visitor, playground: Playground
) -> None:
    await playground.add_cohort({"member": "dara"})
    await playground.command({"member": "dara", "text": "create -Night Owls", "channel": "#cohort"})
    await visitor.sign_in_as("dara")
    response = await visitor.http.get("/admin/programmes/none/circles.csv?sort=name")
    table = list(csv.reader(io.StringIO(await response.text())))
    assert [row[0] for row in table[1:]] == ["'-Night Owls", "Growth Circle"]
    assert 'filename="no-programme-circles.csv"' in response.headers["Content-Disposition"]
    # Names the core refuses still never reach a spreadsheet as formulas.
    made = [
        CircleFigures(
            circle_id=n,
            name=name,
            kind="mastermind",
            status="active",
            health=Health.HEALTHY,
            members=3,
            participation=None,
            commitments_made=0,
            commitments_done=0,
            last_activity=datetime(2026, 11, 24, tzinfo=UTC),
            pulse=None,
            pulse_answers=0,
        )
        for n, name in enumerate(('=HYPERLINK("http://x","y")', "+1", "@SUM(A1)", "\tx", "ok"))
    ]
    cells = [row[0] for row in csv.reader(io.StringIO(to_csv(made)))][1:]
    assert cells == ['\'=HYPERLINK("http://x","y")', "'+1", "'@SUM(A1)", "'\tx", "ok"]


async def test_a_circles_page_names_who_is_quiet_never_what_anyone_wrote(
    visitor: Visitor, playground: Playground
) -> None:
    await run_programme(playground)
    await visitor.sign_in_as("ana")
    programme = await visitor.page("/admin/programmes/1?q=mentoring+1")
    circle_id = re.search(r'href="/admin/circles/(\d+)">Spring Mentoring 1<', programme)
    assert circle_id is not None
    page = await visitor.page(f"/admin/circles/{circle_id.group(1)}")
    assert "<h1>Spring Mentoring 1</h1>" in page
    quiet = page.split("<h2>Who is quiet</h2>", 1)[1].split("</table>", 1)[0]
    quiet_names = re.findall(r'<th scope="row">(\w+)</th>', quiet)
    assert quiet_names and not set(quiet_names) & {"Amara", "Greta", "Jonas", "Leo"}
    assert "Sessions as a table" in page
    assert SAID not in page
    assert "Nudge the circle" in page and "Message the facilitator" in page
    assert page.count('name="csrf"') == 3  # sign out, nudge, message


async def test_pages_carry_strict_security_headers(visitor: Visitor) -> None:
    for path in ("/admin/sign-in", "/admin/"):
        response = await visitor.http.get(path, allow_redirects=False)
        assert "script-src 'none'" in response.headers["Content-Security-Policy"]
        assert "img-src 'self' data:" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"


async def act(visitor: Visitor, playground: Playground, action: str, **data: str) -> str:
    """Sign in as Ana, post `action` on Spring Mentoring 1's page, and read the flash."""
    await run_programme(playground, days=15)
    await visitor.sign_in_as("ana")
    token = await visitor.csrf("/admin/circles/2")
    response = await visitor.http.post(
        f"/admin/circles/2/{action}", data={"csrf": token, **data}, allow_redirects=False
    )
    assert (response.status, response.headers["Location"]) == (303, "/admin/circles/2")
    page = await visitor.page("/admin/circles/2")
    flash = re.search(r'<p class="flash" role="status">([^<]*)</p>', page)
    assert flash is not None, page
    assert "flash" not in await visitor.page("/admin/circles/2")  # shown once
    return flash.group(1)


async def test_an_action_without_the_forms_token_does_nothing(
    visitor: Visitor, playground: Playground
) -> None:
    await run_programme(playground, days=0)
    await visitor.sign_in_as("ana")
    before = len(playground.world.arrivals)
    for action in ("nudge", "message"):
        response = await visitor.http.post(f"/admin/circles/2/{action}", data={"text": "hi"})
        assert response.status == 403
    assert len(playground.world.arrivals) == before
    await visitor.sign_in_as("chen")  # with a token, but no right to the dashboard
    token = await visitor.csrf("/admin/sign-in")
    refused = await visitor.http.post("/admin/circles/2/nudge", data={"csrf": token})
    assert refused.status == 403
    assert len(playground.world.arrivals) == before


async def test_a_message_to_the_facilitator_needs_words(
    visitor: Visitor, playground: Playground
) -> None:
    assert await act(visitor, playground, "message", text="   ") == (
        "Write a message of 1 to 1,000 characters."
    )


async def test_end_survey_answers_fill_the_capability_chart_and_shared_words_stay_text(
    visitor: Visitor, playground: Playground
) -> None:
    """Four end surveys (written as the end survey stores them): the capability chart and
    the recommendation appear; only the words shared with the team are shown, as text."""
    await run_programme(playground, days=0)
    answers = {  # person: (ratings, recommend, what changed, shared)
        "amara": ((4, 4, 3, 3), 10, "<script>alert('x')</script> I delegate now", True),
        "bruno": ((3, 5, 3, 4), 9, "Kept to myself", False),
        "carla": ((4, 3, 4, 3), 7, "", False),
        "dev": ((5, 4, 3, 3), 3, "", False),
    }
    async with playground.uow() as uow:
        for user, (ratings, recommend, changed, shared) in answers.items():
            person = await uow.people.by_key(PersonKey("local", "playground", user))
            assert person is not None and person.id is not None
            await uow.surveys.add(
                Survey(
                    programme_id=1,
                    person_id=person.id,
                    asked_at=playground.clock.now(),
                    ratings=ratings,
                    changed=changed,
                    shared=shared,
                    recommend=recommend,
                    answered_at=playground.clock.now(),
                )
            )
        await uow.commit()
    await visitor.sign_in_as("ana")
    page = await visitor.page("/admin/programmes/1")
    assert 'alt="Capability self-ratings at the start and the end, per area"' in page
    assert '<p class="big">+25</p>' in page  # 2 promoters, 1 passive, 1 detractor of 4
    assert "4 answers: 2 promoters, 1 passive, 1 detractor" in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; I delegate now" in page
    assert "<script" not in page and "Kept to myself" not in page
    assert "end survey" in page


async def test_nudging_a_circle_runs_the_managers_command(
    visitor: Visitor, playground: Playground
) -> None:
    flash = await act(visitor, playground, "nudge")
    assert flash.startswith("Nudged ") and "in Spring Mentoring 1, kindly and by DM" in flash


async def test_messaging_the_facilitator_runs_the_managers_command(
    visitor: Visitor, playground: Playground
) -> None:
    flash = await act(visitor, playground, "message", text="How can I help the circle?")
    assert flash.startswith("Sent your message to ")
    assert "Spring Mentoring 1&#39;s facilitator, by DM" in flash
