"""The playground's dashboard from day one: Dara administers the simulated workspace, so
she sees its hand-made circle before any programme exists."""

from __future__ import annotations

from adapters.local.playground import Playground
from adapters.serve import playground_admin
from tests.admin.conftest import PUBLIC, open_site


async def test_dara_the_admin_sees_the_hand_made_circle_and_ana_is_turned_away(
    playground: Playground,
) -> None:
    async for visitor in open_site(playground_admin(playground, public_url=PUBLIC)):
        page = await visitor.page("/admin/sign-in")
        assert "Dara administers this workspace and sees every programme and circle." in page
        await visitor.sign_in_as("dara")
        home = await visitor.page("/admin/")
        assert "No programme" in home and "You are an admin" in home
        circles = await visitor.page("/admin/programmes/none")
        assert "Growth Circle" in circles
    async for visitor in open_site(playground_admin(playground, public_url=PUBLIC)):
        await visitor.sign_in_as("ana")  # an organiser, managing no programme
        assert "You are signed in as <strong>Ana</strong>" in await visitor.page("/admin/", 403)
