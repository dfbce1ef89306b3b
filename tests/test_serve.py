"""`circles serve` as an operator runs it: a real process, real HTTP, SIGTERM.

These start the installed `circles` command in a temporary folder on a free
port and talk to it over the socket, as a load balancer and a browser would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

CIRCLES = Path(sys.executable).with_name("circles")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any Circles settings of the developer's shell."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "MICROSOFT_", "TEAMS_", "CIRCLES_", "DATABASE_"))
    }
    return {**keep, **extra}


async def came_up(
    base: str, process: asyncio.subprocess.Process, *, probe: str = "/healthz", within: float = 30
) -> None:
    """Waits until the server answers `probe` with 200; AssertionError if it exits or never does."""
    async with aiohttp.ClientSession() as http:
        deadline = time.monotonic() + within
        while True:
            try:
                async with http.get(f"{base}{probe}") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            if process.returncode is not None or time.monotonic() > deadline:
                raise AssertionError("circles serve did not come up")
            await asyncio.sleep(0.1)


class Server:
    def __init__(self, folder: Path, *, source: Path | None = None, **env: str) -> None:
        """`circles serve` in `folder`, with `env` added to a clean environment;
        from another checkout's `source` if given (the benches compare two)."""
        self.folder = folder
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = clean_env(**{"PORT": str(self.port), "LOG_FORMAT": "json", **env})
        self.command = [str(CIRCLES), "serve"]
        if source is not None:
            self.env["PYTHONPATH"] = str(source)
            self.command = [sys.executable, "-c", "from adapters.cli import main; main()", "serve"]
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.command,
            cwd=self.folder,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        await came_up(self.base, self.process)

    async def stop(self) -> tuple[int, float, str]:
        assert self.process is not None
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(self.process.communicate(), timeout=15)
        return int(self.process.returncode or 0), time.monotonic() - began, stderr.decode()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    running = Server(tmp_path)
    await running.start()
    try:
        yield running
    finally:
        if running.process and running.process.returncode is None:
            running.process.kill()
            await running.process.wait()


async def api(http: aiohttp.ClientSession, server: Server, path: str, **body: Any) -> Any:
    async with http.post(f"{server.base}/playground/api/{path}", json=body) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_serve_answers_probes_runs_a_circle_and_stops_cleanly(server: Server) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.base}/readyz") as response:
            assert response.status == 200
            assert await response.json() == {
                "database": "reachable",
                "migrations": "current",
                "scheduler": "leader",
            }
        async with http.get(f"{server.base}/metrics") as response:
            metrics = await response.text()
            assert "circles_outbox_depth 0.0" in metrics
            assert "circles_scheduler_leader 1.0" in metrics
        async with http.get(f"{server.base}/") as response:
            assert response.status == 200 and "Circles" in await response.text()
        async with http.post(f"{server.base}/api/messages", json={"type": "message"}) as response:
            assert response.status == 404  # Teams is not configured: its endpoint is absent

        # A session of the playground's circle, through its HTTP API.
        for member in ("ben", "chen", "dara"):
            await api(http, server, "dm", member=member, text="agree")
        await api(http, server, "clock", member="ana", step="open")
        await api(http, server, "dm", member="ana", text="Feedback is my theme this month.")
        closed = await api(http, server, "clock", member="ana", step="close")
        posts = closed["state"]["channel"]["posts"]
        replies = [r for p in posts if p["kind"] == "kickoff" for r in p["replies"]]
        assert "Summary · Growth Circle, session 1" in str(replies[-1])
        assert "Feedback is my theme this month." in str(replies)

    code, seconds, log = await server.stop()
    assert code == 0, log
    assert seconds < 10
    assert '"stopping"' in log
    assert "Feedback is my theme" not in log, "logs never carry message texts"
    with sqlite3.connect(server.folder / "circles.db") as db:
        waiting = db.execute("select count(*) from outbox where status in ('pending', 'sending')")
        assert waiting.fetchone() == (0,)


async def test_bad_configuration_is_one_clear_list_and_exit_code_2(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        str(CIRCLES),
        "serve",
        cwd=tmp_path,
        env=clean_env(
            PORT="99999",
            SLACK_BOT_TOKEN="xoxb-very-secret",
            MICROSOFT_APP_ID="app",
            CIRCLES_DEFAULT_TZ="Mars/Olympus",
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert stdout == b""
    problems = stderr.decode().splitlines()
    assert problems[0] == "Circles cannot start; please fix the configuration:"
    assert any("PORT" in line for line in problems)
    assert any("CIRCLES_DEFAULT_TZ" in line and "Mars/Olympus" in line for line in problems)
    assert "xoxb-very-secret" not in stderr.decode()
    assert not (tmp_path / "circles.db").exists(), "nothing else happens"


async def test_inconsistent_settings_are_listed_together(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        str(CIRCLES),
        "serve",
        cwd=tmp_path,
        env=clean_env(SLACK_BOT_TOKEN="xoxb-secret", MICROSOFT_APP_ID="app"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    text = stderr.decode()
    assert process.returncode == 2
    assert "SLACK_SIGNING_SECRET" in text and "MICROSOFT_APP_PASSWORD" in text
    assert "xoxb-secret" not in text


async def test_unauthenticated_teams_is_refused_unless_only_loopback_listens(
    tmp_path: Path,
) -> None:
    """Without tokens anyone could make the bot post to a `serviceUrl` of their choosing."""
    for host in ("0.0.0.0", "192.0.2.7", "::"):
        process = await asyncio.create_subprocess_exec(
            str(CIRCLES),
            "serve",
            cwd=tmp_path,
            env=clean_env(TEAMS_ALLOW_UNAUTHENTICATED="true", HOST=host, PORT=str(free_port())),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        finally:
            if process.returncode is None:  # it started serving
                process.kill()
                await process.wait()
        assert process.returncode == 2, host
        assert "TEAMS_ALLOW_UNAUTHENTICATED" in stderr.decode() and "loopback" in stderr.decode()
    local = Server(tmp_path, TEAMS_ALLOW_UNAUTHENTICATED="true", HOST="127.0.0.1")
    await local.start()
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{local.base}/api/messages", json={"type": "message"}) as response,
    ):
        assert response.status == 400  # served (and this activity is malformed)
    code, _, _ = await local.stop()
    assert code == 0


async def test_metrics_report_deliveries_failures_and_job_runs() -> None:
    from collections import Counter

    from adapters.observability import Metrics
    from scheduler.delivery import Tally

    metrics = Metrics()
    slack = Tally(sent=3, retried=2, failed=1)
    runs: Counter[tuple[str, str]] = Counter({("open", "ok"): 2})
    metrics.watch(tallies={"slack": slack}, runs=runs)
    slack.sent += 1  # read at scrape time, not copied
    runs[("close", "failed")] += 1
    text = (await metrics.render()).decode()
    assert 'circles_deliveries_total{platform="slack"} 4.0' in text
    assert 'circles_delivery_failures_total{platform="slack",reason="failed"} 1.0' in text
    assert 'circles_delivery_failures_total{platform="slack",reason="retried"} 2.0' in text
    assert 'circles_job_runs_total{job="open",outcome="ok"} 2.0' in text
    assert 'circles_job_runs_total{job="close",outcome="failed"} 1.0' in text


async def test_a_port_in_use_is_one_line_saying_what_to_do(tmp_path: Path) -> None:
    """A second `make run` while the first still runs: no traceback, and nothing starts."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        process = await asyncio.create_subprocess_exec(
            str(CIRCLES),
            "serve",
            cwd=tmp_path,
            env=clean_env(PORT=str(port)),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert stdout == b""
    (line,) = stderr.decode().splitlines()
    assert f"Port {port} on 127.0.0.1 is already in use" in line
    assert "Stop that process, or choose a free port: PORT=" in line
    assert not (tmp_path / "circles.db").exists(), "nothing else happens"


def test_the_server_loads_a_platforms_sdk_only_when_that_platform_is_configured() -> None:
    """Bolt and the Bot Framework are loaded by `platforms_for`, for the platforms configured:
    a playground, or a Teams-only deployment, never pays for Bolt (nor Slack-only for
    botbuilder), whatever else imports a light part of an adapter."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, adapters.serve; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "'slack_bolt'" not in loaded and "'botbuilder.core'" not in loaded
