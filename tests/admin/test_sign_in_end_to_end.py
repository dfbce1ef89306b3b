"""Signing in to the dashboard end to end: the site's routes, the real OpenID Connect
client and a fake identity provider over HTTP, as a browser goes through them."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.admin.oidc import providers
from adapters.admin.site import AdminSite
from adapters.clock import FakeClock
from adapters.config import Settings
from adapters.local.playground import Playground
from bot.dashboard import DashboardReads
from tests.admin.conftest import PUBLIC, open_site
from tests.admin.fake_idp import FakeIdentityProvider

CLIENT, SECRET = "1234567890.0987654321", "slack-client-secret"
TEAM, USER = "T0ACME", "U0ANA"


async def test_sign_in_with_slack_through_the_site_and_a_real_provider(
    playground: Playground, reads: DashboardReads
) -> None:
    clock = FakeClock(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    idp = FakeIdentityProvider(clock=clock)
    idp.register(CLIENT, SECRET)
    await idp.start()
    try:
        settings = Settings(
            _env_file=None,
            slack_client_id=CLIENT,
            slack_client_secret=SECRET,
            slack_oidc_url=idp.url,
        )
        site = AdminSite(
            reads=reads,
            commands=playground,
            public_url=PUBLIC,
            secret="test secret, long enough to sign with",
            providers=providers(settings, clock=clock),
        )
        async for visitor in open_site(site):
            page = await visitor.page("/admin/sign-in")
            assert "Sign in with Slack" in page

            away = await visitor.http.get("/admin/sign-in/slack", allow_redirects=False)
            assert away.status == 303
            idp.sign_in_as(
                sub=USER,
                name="Ana Lima",
                **{"https://slack.com/team_id": TEAM, "https://slack.com/user_id": USER},
            )
            answer = await idp.follow(away.headers["Location"])
            back = await visitor.http.get(
                "/admin/callback/slack", params=answer, allow_redirects=False
            )
            assert (back.status, back.headers["Location"]) == (303, "/admin/")
            # Signed in as the ID token's person: Ana manages no programme, so she is told so.
            home = await visitor.page("/admin/", status=403)
            assert "You are signed in as <strong>Ana Lima</strong>" in home

            # The same answer again is a callback this session no longer waits for.
            again = await visitor.http.get("/admin/callback/slack", params=answer)
            assert again.status == 400
    finally:
        await idp.close()
