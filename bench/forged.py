"""Forged Slack requests (issue 14): what does one cost, and what do many cost everyone else?

    .venv/bin/python bench/forged.py --forged 300 --normal 200
    .venv/bin/python bench/forged.py --source /path/to/another/checkout   # the same, on other code

Starts `circles serve` (Slack configured against a fake Slack Web API,
SQLite in a temporary folder, console logs as by default) and measures:

- the server's CPU time (from /proc) and log bytes per request for each kind
  of forgery: a wrong signature (the baseline), a timestamp that is not a
  whole number (`abc`, `12.5`), a correctly signed body that is not UTF-8;
  each kind's cost is also printed as a ratio to the wrong signature's;
- the p50 and p99 latency of genuine `/circle help` commands sent one at a
  time, alone and then while `--forged` forged requests arrive at once.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.test_serve import Server

SECRET = "bench-signing-secret"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def signed(body: bytes, stamp: str, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), b"v0:%s:%s" % (stamp.encode(), body), hashlib.sha256)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + digest.hexdigest()}


def command(n: int) -> bytes:
    return urlencode(
        {
            "command": "/circle",
            "text": "help",
            "team_id": "T0ACME",
            "user_id": "U0ANA",
            "user_name": "ana",
            "channel_id": "D0ANA",
            "channel_name": "directmessage",
            "trigger_id": f"bench.{n}",
        }
    ).encode()


def forgery(kind: str, n: int) -> tuple[bytes, dict[str, str]]:
    body, now = command(n), str(int(time.time()))
    match kind:
        case "wrong signature":
            return body, signed(body, now, secret="not-the-secret")
        case "timestamp abc":
            return body, signed(body, "abc")
        case "timestamp 12.5":
            return body, signed(body, "12.5")
    not_utf8 = body + b"&x=%s" % b"\xff\xfe"
    return not_utf8, signed(not_utf8, now)


KINDS = ("wrong signature", "timestamp abc", "timestamp 12.5", "signed, not UTF-8")


async def main(forged: int, normal: int, source: Path | None) -> None:
    fake = FakeSlack()
    await fake.start()
    with tempfile.TemporaryDirectory(prefix="circles-forged-") as folder:
        server = Server(
            Path(folder),
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=fake.api_url,
            source=source,
            LOG_FORMAT="console",
        )
        await server.start()
        assert server.process is not None and server.process.stderr is not None
        pid, logged = server.process.pid, 0

        async def drain_log(stream: asyncio.StreamReader) -> None:
            nonlocal logged
            while chunk := await stream.read(65536):
                logged += len(chunk)

        reader = asyncio.create_task(drain_log(server.process.stderr))
        url = server.base + "/slack/events"
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        try:
            async with aiohttp.ClientSession() as http:

                async def post(body: bytes, headers: dict[str, str]) -> int:
                    async with http.post(url, data=body, headers={**form, **headers}) as response:
                        await response.read()
                        return response.status

                async def genuine(rounds: int) -> list[float]:
                    took = []
                    for n in range(rounds):
                        body = command(10_000_000 + n)
                        began = time.perf_counter()
                        assert await post(body, signed(body, str(int(time.time())))) == 200
                        took.append((time.perf_counter() - began) * 1000)
                    return took

                await genuine(20)  # warm up
                costs: dict[str, tuple[float, float, set[int]]] = {}
                for kind in KINDS:
                    await asyncio.sleep(0.5)  # let the log of the previous kind be written
                    cpu, log_before = cpu_seconds(pid), logged
                    statuses = set()
                    for n in range(forged):
                        statuses.add(await post(*forgery(kind, n)))
                    await asyncio.sleep(0.5)
                    per = (cpu_seconds(pid) - cpu) * 1000 / forged
                    costs[kind] = (per, (logged - log_before) / forged, statuses)

                alone = await genuine(normal)
                flood = [post(*forgery("timestamp abc", n)) for n in range(forged)]
                flooding = asyncio.gather(*flood)
                beside = await genuine(normal)
                await flooding
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await server.stop()
            await fake.close()
    base = costs["wrong signature"][0] or 1 / TICK
    print(f"per forged request ({forged} of each; CPU resolution {1000 / TICK:.0f} ms in total):")
    for kind, (per, log_bytes, statuses) in costs.items():
        print(
            f"  {kind:18} {sorted(statuses)}  CPU {per:6.2f} ms ({per / base:5.1f}x)"
            f"  log {log_bytes:7.0f} bytes"
        )
    for name, took in (("alone", alone), (f"beside {forged} forged", beside)):
        took.sort()
        p99 = took[int(len(took) * 0.99) - 1]
        print(f"genuine commands {name}: p50 {statistics.median(took):.1f} ms, p99 {p99:.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--forged", type=int, default=300)
    parser.add_argument("--normal", type=int, default=200)
    parser.add_argument("--source", type=Path, help="run the server from this checkout")
    options = parser.parse_args()
    asyncio.run(main(options.forged, options.normal, options.source))
