"""Memory under oversized bodies (issue 14): what do 10 MB requests cost the server?

    .venv/bin/python bench/bodies.py --requests 60 --size 10

Starts `circles serve` as an operator would (Slack and unauthenticated
Teams configured, SQLite in a temporary folder, loopback), reads its
resident memory (VmRSS) when idle, then sends `--requests` bodies of
`--size` MB all at once, half to `/slack/events` and half to
`/api/messages`, each with its `Content-Length`, and reads the memory again
once every answer is in (and its peak while they were). Prints the
statuses and the figures in MB. `--source` runs the server from another
checkout, to compare two versions on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.test_serve import Server


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError("VmRSS")


async def main(requests: int, size_mb: int, source: Path | None) -> None:
    with tempfile.TemporaryDirectory(prefix="circles-bodies-") as folder:
        server = Server(
            Path(folder),
            source=source,
            SLACK_BOT_TOKEN="xoxb-bench",
            SLACK_SIGNING_SECRET="bench-signing-secret",
            SLACK_API_URL="http://127.0.0.1:9/api/",
            TEAMS_ALLOW_UNAUTHENTICATED="true",
            LOG_LEVEL="WARNING",
        )
        await server.start()
        assert server.process is not None
        pid = server.process.pid
        try:
            async with aiohttp.ClientSession() as http:
                idle = peak = rss_mb(pid)
                body = b"x" * (size_mb * 1024 * 1024)

                async def send(path: str) -> str:
                    try:
                        async with http.post(
                            server.base + path,
                            data=body,
                            headers={"Content-Type": "application/json"},
                        ) as response:
                            return str(response.status)
                    except aiohttp.ClientError as error:
                        return type(error).__name__

                async def watch() -> None:
                    nonlocal peak
                    while True:
                        peak = max(peak, rss_mb(pid))
                        await asyncio.sleep(0.02)

                watcher = asyncio.create_task(watch())
                began = time.monotonic()
                paths = ["/slack/events", "/api/messages"] * (requests // 2)
                statuses = Counter(await asyncio.gather(*(send(p) for p in paths)))
                seconds = time.monotonic() - began
                watcher.cancel()
                after = rss_mb(pid)
        finally:
            await server.stop()
    print(f"{len(paths)} bodies of {size_mb} MB at once, in {seconds:.2f} s: {dict(statuses)}")
    print(f"server RSS: idle {idle:.0f} MB, peak {peak:.0f} MB, after {after:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--size", type=int, default=10, help="MB per body")
    parser.add_argument("--source", type=Path, help="run the server from this checkout")
    options = parser.parse_args()
    asyncio.run(main(options.requests, options.size, options.source))
