"""Signing in to the dashboard with Slack and Entra ID, against a fake provider over HTTP.

Each test drives what a browser would: `begin` gives the provider's URL, the
fake provider signs the person in and redirects back with a code, `finish`
exchanges it and checks the ID token. A sign-in that cannot be trusted ends in
`SignInFailed` with a message for the person, and never in an identity.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest

from adapters.admin.oidc import Identity, Provider, SignInFailed, providers
from adapters.clock import FakeClock
from adapters.config import Settings
from adapters.teams.users import TeamsUsers
from bot.people import PersonKey
from storage.db import Database
from tests.admin.fake_idp import FakeIdentityProvider, Silent, new_key
from tests.teams.connector import FakeConnector
from tests.teams.harness import ANA, TENANT, TeamsBot

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
SLACK_APP, SLACK_SECRET = "1234567890.0987654321", "slack-client-secret"
ENTRA_APP, ENTRA_SECRET = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "entra-client-secret"
TEAM, USER = "T0ACME", "U0ANA"
TIMEOUT = 0.5  # seconds: how long a provider that never answers holds a sign-in


def callback(name: str) -> str:
    return f"https://circles.example/admin/callback/{name}"


def settings(idp: str, *, slack: str | None = None, entra: str | None = None) -> Settings:
    return Settings(
        _env_file=None,
        slack_client_id=SLACK_APP,
        slack_client_secret=SLACK_SECRET,
        slack_oidc_url=slack or idp,
        entra_client_id=ENTRA_APP,
        entra_client_secret=ENTRA_SECRET,
        entra_authority_url=entra or idp,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def idp(clock: FakeClock) -> AsyncIterator[FakeIdentityProvider]:
    provider = FakeIdentityProvider(clock=clock)
    provider.register(SLACK_APP, SLACK_SECRET)
    provider.register(ENTRA_APP, ENTRA_SECRET)
    await provider.start()
    yield provider
    await provider.close()


@pytest.fixture
def users(sqlite_engine: Database, clock: FakeClock) -> TeamsUsers:
    return TeamsUsers(sqlite_engine, clock=clock)


@pytest.fixture
def sign_ins(idp: FakeIdentityProvider, users: TeamsUsers, clock: FakeClock) -> dict[str, Provider]:
    found = providers(settings(idp.url), clock=clock, find_person=users.person, timeout=TIMEOUT)
    return {provider.name: provider for provider in found}


@pytest.fixture(params=["slack", "entra"])
async def provider(
    request: pytest.FixtureRequest,
    idp: FakeIdentityProvider,
    users: TeamsUsers,
    sign_ins: dict[str, Provider],
) -> Provider:
    """Each provider, with a person it can sign in (for Entra ID, one the bot has met in Teams)."""
    if request.param == "slack":
        idp.sign_in_as(**slack_person())
    else:
        await users.remember_sender(
            {"conversation": {"tenantId": TENANT}, "from": {"id": ANA.user, "aadObjectId": ANA.aad}}
        )
        idp.sign_in_as(sub="pairwise-sub", tid=TENANT, oid=ANA.aad, name=ANA.name)
    return sign_ins[str(request.param)]


def slack_person() -> dict[str, str]:
    return {
        "sub": USER,
        "https://slack.com/user_id": USER,
        "https://slack.com/team_id": TEAM,
        "name": "Ana Lima",
        "email": "ana@acme.example",
    }


async def authorized(
    idp: FakeIdentityProvider, provider: Provider
) -> tuple[dict[str, str], dict[str, str]]:
    """`begin`, and the browser's trip to the provider: the callback's query, what was kept."""
    url, kept = await provider.begin(redirect_uri=callback(provider.name))
    return await idp.follow(url), kept


async def finish(provider: Provider, query: Mapping[str, str], kept: Mapping[str, str]) -> Identity:
    return await provider.finish(redirect_uri=callback(provider.name), query=query, kept=kept)


async def sign_in(idp: FakeIdentityProvider, provider: Provider, **tamper: str) -> Identity:
    """The whole round trip; `tamper` changes what comes back to the app before `finish`."""
    query, kept = await authorized(idp, provider)
    return await finish(provider, {**query, **tamper}, kept)


async def refused(idp: FakeIdentityProvider, provider: Provider, **tamper: str) -> str:
    with pytest.raises(SignInFailed) as failed:
        await sign_in(idp, provider, **tamper)
    return str(failed.value)


# --- signing in -----------------------------------------------------------------------


async def test_sign_in_with_slack_gives_the_slack_person(
    idp: FakeIdentityProvider, sign_ins: dict[str, Provider]
) -> None:
    slack = sign_ins["slack"]
    assert slack.label == "Sign in with Slack"
    idp.sign_in_as(**slack_person())

    url, kept = await slack.begin(redirect_uri=callback("slack"))

    asked = dict(parse_qsl(urlsplit(url).query))
    assert url.startswith(f"{idp.url}/openid/connect/authorize?")
    assert asked["scope"] == "openid profile email"
    assert asked["client_id"] == SLACK_APP
    assert asked["redirect_uri"] == callback("slack")
    assert asked["code_challenge_method"] == "S256"
    assert (asked["state"], asked["nonce"]) == (kept["state"], kept["nonce"])
    assert asked["code_challenge"] != kept["verifier"]  # only the verifier's hash travels
    query = await idp.follow(url)
    identity = await slack.finish(redirect_uri=callback("slack"), query=query, kept=kept)
    assert identity == Identity(key=PersonKey("slack", TEAM, USER), name="Ana Lima")


async def test_each_sign_in_has_its_own_state_nonce_and_verifier(
    sign_ins: dict[str, Provider],
) -> None:
    first = await sign_ins["slack"].begin(redirect_uri=callback("slack"))
    second = await sign_ins["slack"].begin(redirect_uri=callback("slack"))
    for name in ("state", "nonce", "verifier"):
        assert first[1][name] != second[1][name]
        assert len(first[1][name]) >= 32


async def test_sign_in_with_entra_id_finds_the_teams_person_the_bot_has_met(
    sqlite_engine: Database, idp: FakeIdentityProvider, clock: FakeClock
) -> None:
    teams = TeamsBot(sqlite_engine, FakeConnector())
    await teams.start()
    try:
        await teams.dm(ANA, "help")  # Ana says hello to the bot in Teams
        found = providers(
            settings(idp.url), clock=clock, find_person=teams.teams.users.person, timeout=TIMEOUT
        )
        entra = {p.name: p for p in found}["entra"]
        assert entra.label == "Sign in with Microsoft"
        idp.sign_in_as(sub="pairwise-sub", tid=TENANT, oid=ANA.aad, name="Ana Lima")

        url, kept = await entra.begin(redirect_uri=callback("entra"))
        assert url.startswith(f"{idp.url}/organizations/oauth2/v2.0/authorize?")
        identity = await entra.finish(
            redirect_uri=callback("entra"), query=await idp.follow(url), kept=kept
        )
    finally:
        await teams.close()
    assert identity == Identity(key=ANA.key, name="Ana Lima")


async def test_an_entra_id_user_the_bot_never_met_is_told_to_open_a_chat_with_it_first(
    idp: FakeIdentityProvider, sign_ins: dict[str, Provider]
) -> None:
    idp.sign_in_as(sub="s", tid=TENANT, oid="0d6a3f00-0000-4000-8000-000000000001", name="Zoe")
    message = await refused(idp, sign_ins["entra"])
    assert "open a chat with the Circles bot in Teams first" in message


async def test_the_same_object_id_in_another_tenant_is_someone_else(
    idp: FakeIdentityProvider, users: TeamsUsers, sign_ins: dict[str, Provider]
) -> None:
    await users.remember_sender(
        {"conversation": {"tenantId": TENANT}, "from": {"id": ANA.user, "aadObjectId": ANA.aad}}
    )
    other_tenant = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
    idp.sign_in_as(sub="s", tid=other_tenant, oid=ANA.aad, name="Not Ana")
    assert "open a chat" in await refused(idp, sign_ins["entra"])


# --- what is refused ------------------------------------------------------------------


async def test_a_callback_with_another_state_is_refused_before_any_code_is_spent(
    idp: FakeIdentityProvider, provider: Provider
) -> None:
    message = await refused(idp, provider, state="forged-state")
    assert "please sign in again" in message
    assert idp.token_requests == 0


async def test_a_callback_without_what_begin_kept_is_refused(
    idp: FakeIdentityProvider, provider: Provider
) -> None:
    query, _kept = await authorized(idp, provider)
    with pytest.raises(SignInFailed):
        await finish(provider, query, {})
    assert idp.token_requests == 0


NOW = int(START.timestamp())
UNTRUSTWORTHY = {  # what the provider changes in the ID token it signs
    "another nonce": {"nonce": "a-nonce-from-another-sign-in"},
    "no nonce": {"nonce": None},
    "another app's": {"aud": "another-app"},
    "another issuer's": {"iss": "https://issuer.example"},
    "expired an hour ago": {"iat": NOW - 7200, "exp": NOW - 3600},
    "no expiry": {"exp": None},
}


@pytest.mark.parametrize("changes", UNTRUSTWORTHY.values(), ids=UNTRUSTWORTHY.keys())
async def test_an_id_token_that_cannot_be_trusted_is_refused(
    idp: FakeIdentityProvider, provider: Provider, changes: dict[str, object]
) -> None:
    idp.id_token_changes = changes
    assert "could not be verified" in await refused(idp, provider)


async def test_a_token_for_another_app_is_refused_even_if_it_names_us_as_its_party(
    idp: FakeIdentityProvider, sign_ins: dict[str, Provider]
) -> None:
    idp.sign_in_as(**slack_person())
    idp.id_token_changes = {"aud": "another-app", "azp": SLACK_APP}
    assert "could not be verified" in await refused(idp, sign_ins["slack"])


async def test_a_token_a_minute_past_expiry_passes_as_clock_difference(
    idp: FakeIdentityProvider, provider: Provider
) -> None:
    idp.id_token_changes = {"iat": NOW - 3630, "exp": NOW - 30}
    identity = await sign_in(idp, provider)
    assert identity.name == "Ana Lima"


async def test_a_token_signed_by_another_key_is_refused(
    idp: FakeIdentityProvider, provider: Provider
) -> None:
    idp.signing_key = new_key("fake-1")  # the published key's id, not its key
    assert "could not be verified" in await refused(idp, provider)


async def test_a_token_signed_by_a_key_the_provider_does_not_publish_is_refused(
    idp: FakeIdentityProvider, provider: Provider
) -> None:
    idp.signing_key = new_key("unpublished")
    assert "could not be verified" in await refused(idp, provider)


@pytest.mark.parametrize(
    "forged",
    ["not-a-token", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJVMEFOQSJ9."],  # the second is unsigned
    ids=["garbage", "unsigned"],
)
async def test_an_id_token_that_is_not_a_signed_token_is_refused(
    idp: FakeIdentityProvider, provider: Provider, forged: str
) -> None:
    idp.forged_id_token = forged
    assert "could not be verified" in await refused(idp, provider)


async def test_a_provider_that_answers_with_an_error_page_fails_the_sign_in(
    idp: FakeIdentityProvider, users: TeamsUsers, clock: FakeClock
) -> None:
    idp.endpoints["token_endpoint"] = f"{idp.url}/nowhere"  # 404, a page, not JSON
    [slack, _entra] = providers(settings(idp.url), clock=clock, find_person=users.person)
    idp.sign_in_as(**slack_person())
    assert "could not be reached" in await refused(idp, slack)


async def test_keys_the_provider_rotated_in_are_fetched_again(
    idp: FakeIdentityProvider, provider: Provider
) -> None:
    await sign_in(idp, provider)  # the old key is known now
    idp.key = new_key("fake-2")
    assert (await sign_in(idp, provider)).name == "Ana Lima"


async def test_an_entra_token_naming_another_tenants_issuer_is_refused(
    idp: FakeIdentityProvider, users: TeamsUsers, sign_ins: dict[str, Provider]
) -> None:
    await users.remember_sender(
        {"conversation": {"tenantId": TENANT}, "from": {"id": ANA.user, "aadObjectId": ANA.aad}}
    )
    idp.sign_in_as(sub="s", tid=TENANT, oid=ANA.aad, name="Ana Lima")
    idp.id_token_changes = {"iss": idp.issuer("9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a")}
    assert "could not be verified" in await refused(idp, sign_ins["entra"])


async def test_a_refusal_at_the_token_endpoint_is_a_failed_sign_in(
    idp: FakeIdentityProvider, provider: Provider
) -> None:
    idp.token_error = "invalid_code"
    assert "refused the sign-in" in await refused(idp, provider)
    assert idp.token_requests == 1


async def test_a_code_is_good_for_one_sign_in_only(
    idp: FakeIdentityProvider, provider: Provider
) -> None:
    query, kept = await authorized(idp, provider)
    await finish(provider, query, kept)
    with pytest.raises(SignInFailed, match="refused the sign-in"):
        await finish(provider, query, kept)


async def test_someone_who_declines_at_the_provider_is_told_so(
    idp: FakeIdentityProvider, provider: Provider
) -> None:
    _url, kept = await provider.begin(redirect_uri=callback(provider.name))
    query = {"error": "access_denied", "state": kept["state"]}
    with pytest.raises(SignInFailed, match="did not sign you in \\(access_denied\\)"):
        await finish(provider, query, kept)
    assert idp.token_requests == 0
    odd = {"error": "<b>Click here</b> https://evil.example", "state": kept["state"]}
    with pytest.raises(SignInFailed, match="did not sign you in \\(unknown_error\\)"):
        await finish(provider, odd, kept)


async def test_nothing_secret_reaches_the_logs(
    idp: FakeIdentityProvider, provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    idp.id_token_changes = {"aud": "another-app"}
    query, kept = await authorized(idp, provider)
    with pytest.raises(SignInFailed):
        await finish(provider, query, kept)
    ours = [r for r in caplog.records if r.name != "aiohttp.access"]  # not the fake's own log
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in ours)
    assert "admin.sign_in_failed" in logged
    for secret in (query["code"], kept["verifier"], kept["nonce"], SLACK_SECRET, ENTRA_SECRET):
        assert secret not in logged
    assert "access-" not in logged  # the access token the fake handed out


# --- a provider that never answers ---------------------------------------------------


async def test_a_provider_that_never_answers_fails_the_sign_in_quickly(
    idp: FakeIdentityProvider, users: TeamsUsers, clock: FakeClock
) -> None:
    silent = Silent()
    url = await silent.start()
    try:
        for provider in providers(
            settings(idp.url, slack=url, entra=url),
            clock=clock,
            find_person=users.person,
            timeout=TIMEOUT,
        ):
            started = time.monotonic()
            with pytest.raises(SignInFailed, match="did not answer in time"):
                await provider.begin(redirect_uri=callback(provider.name))
            assert time.monotonic() - started < TIMEOUT + 1.0
    finally:
        await silent.close()


async def test_a_token_endpoint_that_never_answers_fails_the_sign_in_quickly(
    idp: FakeIdentityProvider, provider: Provider
) -> None:
    silent = Silent()
    idp.endpoints["token_endpoint"] = await silent.start() + "/token"
    try:
        query, kept = await authorized(idp, provider)
        started = time.monotonic()
        with pytest.raises(SignInFailed, match="did not answer in time"):
            await finish(provider, query, kept)
        assert time.monotonic() - started < TIMEOUT + 1.0
    finally:
        await silent.close()


# --- what is offered ------------------------------------------------------------------


def test_only_configured_sign_ins_are_offered(clock: FakeClock) -> None:
    async def nobody(_tenant: str, _object_id: str) -> PersonKey | None:
        return None

    bare = Settings(_env_file=None)
    assert providers(bare, clock=clock, find_person=nobody) == []
    slack_only = Settings(_env_file=None, slack_client_id=SLACK_APP, slack_client_secret="s")
    assert [p.name for p in providers(slack_only, clock=clock, find_person=nobody)] == ["slack"]
    both = settings("https://idp.example")
    assert [p.name for p in providers(both, clock=clock, find_person=nobody)] == ["slack", "entra"]
    # Entra ID finds people through the Teams adapter: without it, nobody could sign in.
    assert [p.name for p in providers(both, clock=clock)] == ["slack"]


def test_entra_settings_are_checked() -> None:
    half = Settings(_env_file=None, entra_client_id=ENTRA_APP)
    assert "ENTRA_CLIENT_ID is set but ENTRA_CLIENT_SECRET is not" in half.problems()
    wrong = Settings(_env_file=None, entra_authority_url="login.example")
    assert any(
        p.startswith("ENTRA_AUTHORITY_URL must start with https://") for p in wrong.problems()
    )
    with pytest.raises(ValueError):
        Settings(_env_file=None, entra_tenant_id="../evil?x=")
