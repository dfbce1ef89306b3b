"""The dashboard's fixtures: a playground whose people run a real programme, and the
site over HTTP, signed in through its own forms.

The figures come from `reads`: the one place that names the `DashboardReads`
implementation the pages are tested with.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.admin.oidc import Provider
from adapters.admin.site import AdminSite
from adapters.local.personas import CAST, COHORT
from adapters.local.playground import Playground
from adapters.server import create_app
from bot.dashboard import DashboardReads
from storage.dashboard_store import SqlDashboard
from storage.db import Database

PUBLIC = "http://circles.test"
AREAS = "feedback, delegation, coaching, strategy"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
# Who answers their prompts by DM in the simulated weeks: part of Spring Mentoring 1 and 2.
KEEN = ("amara", "greta", "jonas", "leo", "bruno")


@pytest.fixture
async def playground(sqlite_engine: Database) -> Playground:
    ground = Playground.create(sqlite_engine)
    await ground.reset()
    return ground


@pytest.fixture
def reads(playground: Playground) -> DashboardReads:
    return SqlDashboard(playground.uow.engine)


def site_for(
    playground: Playground,
    reads: DashboardReads,
    *,
    secret: str | None = "test secret, long enough to sign with",
    providers: tuple[Provider, ...] = (),
    personas: bool = True,
    public_url: str = PUBLIC,
) -> AdminSite:
    return AdminSite(
        reads=reads,
        commands=playground,
        public_url=public_url,
        secret=secret,
        admins=frozenset({"dara"}),  # Dara is this workspace's admin
        providers=providers,
        personas=[(p.key, p.name) for p in (*CAST, *COHORT)] if personas else [],
    )


@dataclass
class Visitor:
    """An HTTP client with its cookie jar: one visitor of the dashboard."""

    http: TestClient[web.Request, web.Application]

    async def page(self, path: str, status: int = 200) -> str:
        response = await self.http.get(path, allow_redirects=False)
        text = await response.text()
        assert response.status == status, text
        return text

    async def csrf(self, path: str = "/admin/sign-in") -> str:
        found = CSRF.search(await self.page(path))
        assert found is not None
        return found.group(1)

    async def sign_in_as(self, user: str) -> None:
        token = await self.csrf()
        response = await self.http.post(
            "/admin/sign-in/as", data={"csrf": token, "user": user}, allow_redirects=False
        )
        assert response.status == 303, await response.text()
        assert response.headers["Location"] == "/admin/"


async def open_site(site: AdminSite) -> AsyncIterator[Visitor]:
    client = TestClient(TestServer(create_app(mounts=[site])))
    await client.start_server()
    try:
        yield Visitor(client)
    finally:
        await client.close()


@pytest.fixture
async def visitor(playground: Playground, reads: DashboardReads) -> AsyncIterator[Visitor]:
    async for visitor in open_site(site_for(playground, reads)):
        yield visitor


async def run_programme(playground: Playground, *, days: int = 30) -> None:
    """Ana's programme with #cohort, launched; then `days` simulated days in which the
    `KEEN` answer what Circles asks them by DM and everyone else stays quiet. Ben makes a
    programme of his own, still a draft."""
    await playground.command(
        {"member": "ana", "text": f"programme new Spring Mentoring areas {AREAS}"}
    )
    await playground.add_cohort({"member": "ana"})
    await playground.command({"member": "ana", "text": "programme invite #cohort"})
    await playground.cohort_intakes({"member": "ana"})
    for text in ("programme match", "programme launch"):
        await playground.command({"member": "ana", "text": text})
    await playground.command(
        {"member": "ben", "text": "programme new Autumn Leads areas hiring, planning, feedback"}
    )
    for _ in range(days):
        await playground.advance({"member": "ana", "step": "day"})
        for user in KEEN:
            await playground.dm({"member": user, "text": "Practised giving feedback this week"})
