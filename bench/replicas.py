"""Replicas bench (SPEC §12): what does a company outgrowing one process get from a second?

    .venv/bin/python bench/replicas.py --requests 4000 --concurrency 50

Two real `circles serve` processes run side by side on one fresh PostgreSQL
database (created and migrated for this run, dropped after it), in Slack
single-workspace mode against a fake Slack Web API in a process of its own
(`auth.test` at start, profile look-ups and deliveries meanwhile). Both
replicas run all along, as in production: each its delivery worker, the
elected one the scheduler.

The same signed load as `bench/ack.py` (half `/circle` slash commands, half
`message.im` DM events from 100 people, at the given concurrency) goes either
to one replica, or round-robin to both, as a load balancer would spread it;
the two ways take turns in rounds, so that the machine's ups and downs weigh on
both alike. It prints p50 and p99 from sending a request to having its
acknowledgement and the throughput of each, then the throughput ratio of two
replicas to one, and what each replica's core made of the events (from its
/metrics). There is no goal to miss: it exits with status 1 when a request was
not acknowledged with 200, or the core failed on one.

The PostgreSQL server is named by `--postgres` (a database to connect to for
creating the bench's own), by default CIRCLES_TEST_POSTGRES_URL or the local
`postgres` database.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ack import SECRET, Result, print_results, take_turns
from tests.test_serve import CIRCLES, came_up, clean_env, free_port

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
STARTUP = 60.0  # seconds a replica may take to answer /readyz


# --- the fake Slack Web API (its own process) -----------------------------------------------


def _fake_slack(conn: Connection) -> None:
    asyncio.run(_fake_slack_async(conn))


async def _fake_slack_async(conn: Connection) -> None:
    from tests.slack.fake_slack import FakeSlack

    fake = FakeSlack()
    await fake.start()
    conn.send(fake.api_url)
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until told to stop
    await fake.close()


@asynccontextmanager
async def fake_slack() -> AsyncIterator[str]:
    """The fake Slack's Web API URL, for as long as the block runs."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_fake_slack, args=(theirs,), daemon=True)
    process.start()
    loop = asyncio.get_running_loop()
    try:
        yield await loop.run_in_executor(None, ours.recv)
    finally:
        ours.send("stop")
        await loop.run_in_executor(None, process.join, 10)
        if process.is_alive():
            process.terminate()


# --- a fresh database ---------------------------------------------------------------------------


@asynccontextmanager
async def fresh_database(admin_url: str) -> AsyncIterator[str]:
    """A new PostgreSQL database, migrated; dropped when the block ends."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from storage.db import create_engine, upgrade

    name = f"circles_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        engine = create_engine(url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
        yield url
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


# --- the replicas ------------------------------------------------------------------------------------


@asynccontextmanager
async def replica(*, database_url: str, slack_api_url: str, folder: Path) -> AsyncIterator[str]:
    """A `circles serve` process, as an operator starts one; its base URL."""
    from tests.slack.fake_slack import BOT_TOKEN

    port = free_port()
    env = clean_env(
        PORT=str(port),
        DATABASE_URL=database_url,
        MIGRATE_ON_START="false",  # migrated once, before: replicas never race to do it
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack_api_url,
        LOG_LEVEL="WARNING",
        LOG_FORMAT="json",
    )
    log = folder / f"serve-{port}.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            str(CIRCLES), "serve", cwd=folder, env=env, stdout=output, stderr=output
        )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            await came_up(base, process, probe="/readyz", within=STARTUP)
        except AssertionError:
            raise RuntimeError(f"circles serve did not come up:\n{_tail(log)}") from None
        yield base
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


async def inbound(base: str) -> dict[str, int]:
    """What the replica's core made of the events it was handed, from its /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as response:
        text = await response.text()
    counted: dict[str, int] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "circles_inbound_events_total":
                outcome = sample.labels["outcome"]
                counted[outcome] = counted.get(outcome, 0) + int(sample.value)
    return counted


async def _bench(
    args: argparse.Namespace,
) -> tuple[dict[str, Result], dict[str, Result], list[dict[str, int]]]:
    async with AsyncExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="circles-bench-")))
        database_url = await stack.enter_async_context(fresh_database(args.postgres))
        slack_api_url = await stack.enter_async_context(fake_slack())
        bases = [
            await stack.enter_async_context(
                replica(database_url=database_url, slack_api_url=slack_api_url, folder=folder)
            )
            for _ in range(2)
        ]
        urls = [f"{base}/slack/events" for base in bases]
        results, alone = await take_turns(
            {"one": urls[:1], "two": urls},
            count=args.requests,
            concurrency=args.concurrency,
            rounds=args.rounds,
        )
        return results, alone, [await inbound(base) for base in bases]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10, help="turns each way takes")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("CIRCLES_TEST_POSTGRES_URL", DEFAULT_POSTGRES),
        help="a PostgreSQL database to connect to, to create the bench's own",
    )
    args = parser.parse_args()

    results, alone, outcomes = asyncio.run(_bench(args))

    names = {"one": "one replica", "two": "two replicas"}
    print_results(
        results,
        alone,
        names=names,
        requests=args.requests,
        concurrency=args.concurrency,
        where=", Circles on PostgreSQL",
    )
    ratio = results["two"].throughput / results["one"].throughput
    print(f"throughput ratio two replicas / one: {ratio:.2f}")
    print(f"p99: one replica {results['one'].p99:.1f} ms, two {results['two'].p99:.1f} ms")
    # A slash command the core failed on is still acknowledged (with an apology): count those.
    print(
        "events each replica's core took: "
        + "; ".join(
            f"replica {n}: " + ", ".join(f"{count} {outcome}" for outcome, count in o.items())
            for n, o in enumerate(outcomes, start=1)
        )
    )
    failed = sum(o.get("error", 0) for o in outcomes) + sum(r.errors for r in results.values())
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
