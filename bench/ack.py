"""Acknowledgement bench (SPEC §12): how fast does Circles answer Slack, beside a bare Bolt app?

    .venv/bin/python bench/ack.py --requests 4000 --concurrency 50

Two servers run side by side, each in its own process, on loopback ports:

- Circles: the real aiohttp server (`create_app` with the Slack mount) on a
  fresh SQLite database, the real core, a fake Slack Web API for what it
  does in the background (profile look-ups, `auth.test` at start);
- a bare Bolt `AsyncApp` in the same kind of aiohttp server, whose `/circle`
  command and `message` event listeners do nothing but acknowledge.

Both receive the same signed requests (half `/circle` slash commands, half
`message.im` DM events from 100 different people) at the given concurrency,
after a warm-up round; the measured load is cut into rounds the two take in
turn, so that the machine's own ups and downs weigh on both alike. For each it
prints the p50 and p99 time from sending a request to having its
acknowledgement, and the throughput; then the ratio of Circles' throughput to
the bare app's. It exits with status 1 when a goal
is missed: p99 under 100 ms, throughput at least half the bare app's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SECRET = "bench-signing-secret"
TEAM = "T0BENCH"
HOME = "C0HOME"


# --- the servers (each in its own process) -------------------------------------------------


def _serve(kind: str, conn: Connection) -> None:
    import logging

    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve_async(kind, conn))


async def _serve_async(kind: str, conn: Connection) -> None:
    from aiohttp import web

    if kind == "bare":
        app = _bare_app()
        cleanup = None
    else:
        app, cleanup = await _circles_app()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    conn.send(port)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, conn.recv)  # until told to stop
    await runner.cleanup()
    if cleanup is not None:
        await cleanup()


def _bare_app() -> Any:
    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.authorization import AuthorizeResult
    from slack_sdk.web.async_client import AsyncWebClient

    async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token="xoxb-bare",
            bot_user_id="U0BOT",
            bot_id="B0BOT",
        )

    bolt = AsyncApp(
        signing_secret=SECRET,
        authorize=authorize,
        client=AsyncWebClient(base_url="http://127.0.0.1:9/api/"),
        process_before_response=True,
    )

    @bolt.command("/circle")
    async def command(ack: Any) -> None:
        await ack()

    @bolt.event("message")
    async def message() -> None:
        return None

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", events)
    return app


async def _circles_app() -> tuple[Any, Any]:
    from pydantic import SecretStr

    from adapters.bootstrap import bootstrap
    from adapters.clock import SystemClock
    from adapters.config import Settings
    from adapters.serve import settle
    from adapters.server import create_app
    from adapters.slack.wiring import create_slack
    from bot.context import Config
    from storage.db import create_engine, upgrade
    from tests.slack.fake_slack import BOT_TOKEN, FakeSlack

    folder = tempfile.TemporaryDirectory(prefix="circles-bench-")
    engine = create_engine(f"sqlite+aiosqlite:///{Path(folder.name) / 'circles.db'}")
    await upgrade(engine)
    fake = FakeSlack()
    await fake.start()
    clock = SystemClock()
    config = Config()
    # The core exactly as `circles serve` builds it.
    core = bootstrap(engine, clock=clock, config=config).core
    settings = Settings(
        _env_file=None,
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_signing_secret=SecretStr(SECRET),
        slack_api_url=fake.api_url,
    )
    adapter = create_slack(settings, core=core, engine=engine, clock=clock, config=config).adapter

    async def cleanup() -> None:
        await fake.close()
        await engine.dispose()
        folder.cleanup()

    app = create_app(mounts=[adapter])
    settle()  # as `circles serve` does once it is built
    return app, cleanup


# --- the requests -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    body: bytes
    content_type: str


def slack_requests(count: int, *, round_name: str) -> list[Request]:
    """Half `/circle` commands, half DM events, from 100 people; ids unique per round."""
    made: list[Request] = []
    for i in range(count):
        user = f"U0P{i % 100:03d}"
        if i % 2 == 0:
            fields = {
                "token": "x",
                "team_id": TEAM,
                "team_domain": "bench",
                "channel_id": HOME if i % 4 == 0 else "D" + user[1:],
                "channel_name": "growth-circle" if i % 4 == 0 else "directmessage",
                "user_id": user,
                "user_name": user.lower(),
                "command": "/circle",
                "text": "help" if i % 4 == 0 else "mine",
                "api_app_id": "A0CIRCLES",
                "response_url": "http://127.0.0.1:9/respond",
                "trigger_id": f"{round_name}.{i}",
            }
            made.append(Request(urlencode(fields).encode(), "application/x-www-form-urlencoded"))
        else:
            ts = f"{1700000000 + i}.000100"
            event = {
                "token": "x",
                "team_id": TEAM,
                "api_app_id": "A0CIRCLES",
                "type": "event_callback",
                "event_id": f"Ev{round_name}{i:06d}",
                "event_time": 1700000000 + i,
                "authorizations": [
                    {"team_id": TEAM, "user_id": "U0BOT", "is_bot": True, "enterprise_id": None}
                ],
                "event": {
                    "type": "message",
                    "channel_type": "im",
                    "channel": "D" + user[1:],
                    "user": user,
                    "text": "How is everyone doing this week?",
                    "ts": ts,
                    "event_ts": ts,
                    "team": TEAM,
                },
            }
            made.append(Request(json.dumps(event).encode(), "application/json"))
    return made


def _signed(request: Request) -> dict[str, str]:
    from slack_sdk.signature import SignatureVerifier

    stamp = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=request.body)
    assert signature is not None
    return {
        "Content-Type": request.content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }


# --- the load -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    latencies: list[float]  # seconds
    elapsed: float
    errors: int

    @classmethod
    def joined(cls, results: Sequence[Result]) -> Result:
        return cls(
            latencies=[t for r in results for t in r.latencies],
            elapsed=sum(r.elapsed for r in results),
            errors=sum(r.errors for r in results),
        )

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) * 1000

    @property
    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed


async def load(urls: Sequence[str], requests: Sequence[Request], concurrency: int) -> Result:
    """The requests, signed, at `concurrency`; the n-th goes to `urls[n % len(urls)]`."""
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[tuple[str, Request, dict[str, str]]] = asyncio.Queue()
    for n, request in enumerate(requests):
        queue.put_nowait((urls[n % len(urls)], request, _signed(request)))

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while not queue.empty():
            url, request, headers = queue.get_nowait()
            started = time.perf_counter()
            async with session.post(url, data=request.body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return Result(latencies=latencies, elapsed=elapsed, errors=errors)


async def take_turns(
    targets: Mapping[str, Sequence[str]], *, count: int, concurrency: int, rounds: int
) -> tuple[dict[str, Result], dict[str, Result]]:
    """The measured load at `concurrency`, and one request at a time (the fixed cost of each).

    `targets` names each contender and the URLs its load is spread over. The load is
    cut into `rounds`, taken by the contenders in turn (in alternating order), so
    that a machine that slows down or speeds up meanwhile weighs on all alike. Event
    ids differ between contenders too: they may share a database.
    """
    kinds = list(targets)

    async def turn(kind: str, size: int, round_name: str, level: int) -> Result:
        requests = slack_requests(size, round_name=f"{round_name}{kind}")
        return await load(targets[kind], requests, level)

    for kind in kinds:
        await turn(kind, max(count // 4, 200), "warm", concurrency)
    parts: dict[str, list[Result]] = {kind: [] for kind in kinds}
    for number in range(rounds):
        for kind in kinds if number % 2 == 0 else reversed(kinds):
            parts[kind].append(await turn(kind, count // rounds, f"run{number}", concurrency))
    alone = {kind: await turn(kind, 300, "alone", 1) for kind in kinds}
    return {kind: Result.joined(results) for kind, results in parts.items()}, alone


def print_results(
    results: Mapping[str, Result],
    alone: Mapping[str, Result],
    *,
    names: Mapping[str, str],
    requests: int,
    concurrency: int,
    where: str = "",
) -> None:
    """Latency percentiles and throughput under load, then the cost of a request alone."""
    print(
        f"{requests} signed requests (half /circle commands, half DM events), "
        f"{concurrency} concurrent{where}"
    )
    print(f"{'':24} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'errors':>7}")
    for kind, result in results.items():
        print(
            f"{names[kind]:24} {result.p50:8.1f} {result.p99:8.1f} "
            f"{result.throughput:8.0f} {result.errors:7d}"
        )
    print(
        "one request at a time, p50: "
        + ", ".join(f"{names[k]} {r.p50:.1f} ms" for k, r in alone.items())
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10, help="turns each server takes")
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    servers: dict[str, tuple[Any, Connection]] = {}
    ports: dict[str, int] = {}
    for kind in ("bare", "circles"):
        ours, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(kind, theirs), daemon=True)
        process.start()
        ports[kind] = ours.recv()
        servers[kind] = (process, ours)
    targets = {kind: [f"http://127.0.0.1:{port}/slack/events"] for kind, port in ports.items()}
    try:
        results, alone = asyncio.run(
            take_turns(
                targets, count=args.requests, concurrency=args.concurrency, rounds=args.rounds
            )
        )
    finally:
        for process, conn in servers.values():
            conn.send("stop")
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()

    names = {"bare": "bare Bolt app (no-op)", "circles": "Circles (SQLite)"}
    print_results(results, alone, names=names, requests=args.requests, concurrency=args.concurrency)
    ratio = results["circles"].throughput / results["bare"].throughput
    p99 = results["circles"].p99
    print(f"throughput ratio Circles / bare: {ratio:.2f} (goal ≥ 0.50)")
    print(f"Circles p99: {p99:.1f} ms (goal < 100 ms)")
    met = ratio >= 0.5 and p99 < 100 and results["circles"].errors == 0
    print("goals met" if met else "GOAL MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
