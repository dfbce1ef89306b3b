"""Signing in to the dashboard (SPEC §16): what to configure, a provider's round trip,
the session cookie's flags, CSRF on every form, and the playground's "sign in as"."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from urllib.parse import parse_qs, urlencode, urlsplit

from adapters.admin.oidc import Identity, SignInFailed
from adapters.local.playground import Playground
from bot.dashboard import DashboardReads
from bot.people import PersonKey
from tests.admin.conftest import Visitor, open_site, site_for

ANA = PersonKey("local", "playground", "ana")


class Pretend:
    """A `Provider` whose identity provider is the test: it says yes to `code=yes`."""

    name = "pretend"
    label = "Sign in with Pretend"

    def __init__(self) -> None:
        self.redirects: list[str] = []

    async def begin(self, *, redirect_uri: str) -> tuple[str, dict[str, str]]:
        state = secrets.token_urlsafe(8)
        self.redirects.append(redirect_uri)
        query = urlencode({"state": state, "redirect_uri": redirect_uri})
        return f"https://idp.test/authorize?{query}", {"state": state}

    async def finish(
        self, *, redirect_uri: str, query: Mapping[str, str], kept: Mapping[str, str]
    ) -> Identity:
        self.redirects.append(redirect_uri)
        if query.get("state") != kept["state"]:
            raise SignInFailed("the answer belongs to another sign-in")
        if query.get("code") != "yes":
            raise SignInFailed("access was denied")
        return Identity(ANA, "Ana")


async def test_without_a_secret_or_a_sign_in_every_page_says_what_to_configure(
    playground: Playground, reads: DashboardReads
) -> None:
    site = site_for(playground, reads, secret=None, personas=False)
    async for visitor in open_site(site):
        for path in ("/admin/", "/admin/sign-in", "/admin/programmes/1"):
            page = await visitor.page(path, status=503)
            assert "The dashboard is not set up yet" in page
            assert "ADMIN_SECRET_KEY" in page
            assert "A way to sign in" in page
            assert "http://circles.test/admin/callback/&lt;provider&gt;" in page
    site = site_for(playground, reads, personas=False)  # a secret, still no way to sign in
    async for visitor in open_site(site):
        page = await visitor.page("/admin/", status=503)
        assert "A way to sign in" in page and "ADMIN_SECRET_KEY" not in page


async def test_a_provider_signs_in_through_its_redirect_and_callback(
    playground: Playground, reads: DashboardReads
) -> None:
    await playground.command(
        {
            "member": "ana",
            "text": "programme new Spring Mentoring areas feedback, delegation, coaching",
        }
    )
    provider = Pretend()
    async for visitor in open_site(
        site_for(playground, reads, providers=(provider,), personas=False)
    ):
        first = await visitor.http.get("/admin/", allow_redirects=False)
        assert (first.status, first.headers["Location"]) == (303, "/admin/sign-in")
        page = await visitor.page("/admin/sign-in")
        assert 'href="/admin/sign-in/pretend">Sign in with Pretend</a>' in page
        assert "sign in as" not in page  # not the playground: no personas

        away = await visitor.http.get("/admin/sign-in/pretend", allow_redirects=False)
        assert away.status == 303
        asked = parse_qs(urlsplit(away.headers["Location"]).query)
        assert asked["redirect_uri"] == ["http://circles.test/admin/callback/pretend"]
        cookie = away.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/admin" in cookie
        assert "Secure" not in cookie  # served over http

        back = await visitor.http.get(
            "/admin/callback/pretend",
            params={"state": asked["state"][0], "code": "yes"},
            allow_redirects=False,
        )
        assert (back.status, back.headers["Location"]) == (303, "/admin/")
        home = await visitor.page("/admin/")
        assert "Spring Mentoring" in home and "Ana" in home
        assert provider.redirects == ["http://circles.test/admin/callback/pretend"] * 2


async def test_a_callback_that_does_not_check_out_signs_nobody_in(
    playground: Playground, reads: DashboardReads
) -> None:
    async for visitor in open_site(site_for(playground, reads, providers=(Pretend(),))):
        never_began = await visitor.page("/admin/callback/pretend?state=x&code=yes", status=400)
        assert "That sign-in was not started here" in never_began
        away = await visitor.http.get("/admin/sign-in/pretend", allow_redirects=False)
        state = parse_qs(urlsplit(away.headers["Location"]).query)["state"][0]
        refused = await visitor.page(f"/admin/callback/pretend?state={state}&code=no", status=401)
        assert "Sign in with Pretend did not sign you in: access was denied" in refused
        still_out = await visitor.http.get("/admin/", allow_redirects=False)
        assert still_out.headers["Location"] == "/admin/sign-in"
        await visitor.page("/admin/sign-in/nobody", status=404)


async def test_behind_https_the_cookie_is_secure(
    playground: Playground, reads: DashboardReads
) -> None:
    site = site_for(playground, reads, public_url="https://circles.example.org")
    async for visitor in open_site(site):
        response = await visitor.http.get("/admin/sign-in")
        assert "Secure" in response.headers["Set-Cookie"]


async def test_the_playground_signs_in_as_its_people_and_a_bad_cookie_signs_out(
    visitor: Visitor, playground: Playground
) -> None:
    page = await visitor.page("/admin/sign-in")
    assert "sign in as one of its people" in page
    assert (
        '<option value="ana">Ana</option>' in page and '<option value="yara">Yara</option>' in page
    )
    await playground.command(
        {
            "member": "ana",
            "text": "programme new Spring Mentoring areas feedback, delegation, coaching",
        }
    )
    await visitor.sign_in_as("ana")
    assert "Spring Mentoring" in await visitor.page("/admin/")

    cookie = visitor.http.session.cookie_jar.filter_cookies(visitor.http.make_url("/admin/"))
    value = cookie["circles_admin"].value
    visitor.http.session.cookie_jar.update_cookies(
        {"circles_admin": value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB")},
        visitor.http.make_url("/admin/"),
    )
    altered = await visitor.http.get("/admin/", allow_redirects=False)
    assert altered.headers["Location"] == "/admin/sign-in"

    token = await visitor.csrf()
    nobody = await visitor.http.post("/admin/sign-in/as", data={"csrf": token, "user": "mallory"})
    assert nobody.status == 400
    assert "Choose one of the playground" in await nobody.text()


async def test_every_form_needs_the_sessions_token(
    visitor: Visitor, playground: Playground
) -> None:
    await playground.command(
        {
            "member": "ana",
            "text": "programme new Spring Mentoring areas feedback, delegation, coaching",
        }
    )
    forged = await visitor.http.post("/admin/sign-in/as", data={"user": "ana"})
    assert forged.status == 403
    assert "did not come from this site" in await forged.text()
    assert (await visitor.http.get("/admin/", allow_redirects=False)).status == 303  # still out

    await visitor.sign_in_as("ana")
    for data in ({}, {"csrf": "guessed"}):
        refused = await visitor.http.post("/admin/sign-out", data=data)
        assert refused.status == 403
    assert "Spring Mentoring" in await visitor.page("/admin/")  # still signed in
    token = await visitor.csrf("/admin/")
    out = await visitor.http.post("/admin/sign-out", data={"csrf": token}, allow_redirects=False)
    assert (out.status, out.headers["Location"]) == (303, "/admin/sign-in")
    assert (await visitor.http.get("/admin/", allow_redirects=False)).status == 303
