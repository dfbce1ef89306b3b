"""The Slack adapter's parts, built together for the composition root (as `teams/wiring.py`).

The adapter (Bolt behind `/slack/events`, OAuth, Socket Mode, App Home) and
the messenger the delivery worker sends through share one set of workspaces
and one people directory; the adapter builds them, this hands out both. The
core comes from `adapters.bootstrap`: the adapter reaches the database only
for what is Slack's own (installs, OAuth state, the people cache).
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.config import Settings
from adapters.observability import Metrics
from adapters.slack.app import CoreHandle, SlackAdapter
from adapters.slack.messenger import SlackMessenger
from adapters.slack.spaces import SlackSpaces
from bot.context import Config
from bot.ports import Clock
from storage.db import Database


@dataclass(frozen=True)
class Slack:
    adapter: SlackAdapter  # mount it: `create_app(mounts=[slack.adapter, …])`; close it at exit
    messenger: SlackMessenger  # for the delivery worker, for platform "slack"
    spaces: SlackSpaces  # for programmes: add it to `Circles.spaces` as "slack"


def create_slack(
    settings: Settings,
    *,
    core: CoreHandle,
    engine: Database,
    clock: Clock,
    config: Config,
    metrics: Metrics | None = None,
) -> Slack:
    adapter = SlackAdapter(
        settings,
        core=core,
        engine=engine,
        clock=clock,
        text_limit=config.text_limit,
        metrics=metrics,
    )
    spaces = SlackSpaces(
        workspaces=adapter.workspaces, client_for=adapter.client_for, people=adapter.people
    )
    return Slack(adapter=adapter, messenger=adapter.messenger, spaces=spaces)
