"""A delivery worker for tests/slack/test_messenger.py, run as its own OS process.

    python -m tests.delivery_process DATABASE_URL SLACK_API_URL

It delivers the outbox through the real `SlackMessenger` to the Web API at
SLACK_API_URL (the test's fake Slack) on the system clock, and prints
`delivering` once it runs, for the test to watch, which then kills it with
SIGKILL in the middle of a send.
"""

from __future__ import annotations

import asyncio
import sys

from slack_sdk.web.async_client import AsyncWebClient

from adapters.clock import SystemClock
from adapters.slack.messenger import SlackMessenger
from adapters.slack.people import PeopleDirectory
from adapters.slack.workspaces import SingleWorkspace
from scheduler.delivery import DeliveryWorker
from storage.db import create_engine
from storage.delivery import OutboxStore
from tests.slack.fake_slack import BOT_TOKEN


async def ignore(_update: object) -> None:
    return None


async def main(url: str, api: str) -> None:
    engine = create_engine(url)
    clock = SystemClock()
    workspaces = SingleWorkspace(token=BOT_TOKEN, client=AsyncWebClient(base_url=api))

    def client_for(token: str) -> AsyncWebClient:
        return AsyncWebClient(token=token, base_url=api)

    people = PeopleDirectory(
        engine=engine, clock=clock, workspaces=workspaces, client_for=client_for, report=ignore
    )
    messenger = SlackMessenger(client_for=client_for, workspaces=workspaces, people=people)
    worker = DeliveryWorker(store=OutboxStore(engine), messenger=messenger, clock=clock)
    print("delivering", flush=True)
    await worker.run_forever(asyncio.Event())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
