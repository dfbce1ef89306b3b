"""The Teams adapter's parts, built together for the composition root.

The endpoint and the messenger share one `BotFramework` (its connector
clients) and one `ReferenceStore` (what the endpoint learns, the messenger
uses); `TeamsUsers` is what the endpoint learns for the dashboard's sign-in. The endpoint's mount closes the clients when the server stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.observability import Metrics
from adapters.teams.config import TeamsConfig
from adapters.teams.endpoint import CoreHandle, TeamsAdapter
from adapters.teams.messenger import TeamsMessenger
from adapters.teams.references import ReferenceStore
from adapters.teams.sdk import BotFramework
from adapters.teams.spaces import TeamsSpaces
from adapters.teams.users import TeamsUsers
from bot.ports import Clock
from storage.db import Database


@dataclass(frozen=True)
class Teams:
    adapter: TeamsAdapter  # mount it: `create_app(mounts=[teams.adapter, …])`
    messenger: TeamsMessenger  # for the delivery worker, for platform "teams"
    spaces: TeamsSpaces  # for programmes: add it to `Circles.spaces` as "teams"
    users: TeamsUsers  # for the dashboard's Entra ID sign-in: `users.person` finds the person


def create_teams(
    *,
    config: TeamsConfig,
    core: CoreHandle,
    engine: Database,
    clock: Clock,
    metrics: Metrics | None = None,
    authentication: Any = None,
) -> Teams:
    """`config` from `TeamsConfig.from_settings(settings)`; `authentication` only for tests."""
    bot = BotFramework(config, authentication=authentication)
    references = ReferenceStore(engine, clock=clock)
    users = TeamsUsers(engine, clock=clock)
    return Teams(
        adapter=TeamsAdapter(
            config=config,
            core=core,
            references=references,
            users=users,
            bot=bot,
            metrics=metrics,
        ),
        messenger=TeamsMessenger(bot=bot, references=references, app_id=config.app_id),
        spaces=TeamsSpaces(bot=bot, references=references),
        users=users,
    )
