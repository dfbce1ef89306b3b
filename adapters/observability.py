"""Logs and metrics (SPEC §11).

Logs are structlog events: readable lines for people (`console`), one JSON
object per line for machines (`json`). A stdlib `logging` call's `extra`
fields become the event's fields. Nothing logs message texts or tokens:
log calls pass ids, counts, status codes and error types only, and a
processor drops any key that looks like a secret or a text in case one
slips through. An exception is shown as
its stack and the types of its chain, never its local variables and never
its message (a database error's message can quote what a member wrote; a
library's can carry a request body), except an operating-system error's,
which names only an address or a file.

Metrics live in one `Metrics` object with its own Prometheus registry (no
module-level globals), created by the composition root and passed to the
parts that count things.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections import Counter as Counts
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from types import TracebackType
from typing import Any, TextIO

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from scheduler.delivery import Tally

REDACTED_KEYS = frozenset(
    {"text", "token", "password", "secret", "authorization", "body", "payload"}
)


def _redact(
    _logger: object, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event):
        if key.lower() in REDACTED_KEYS or any(
            part in key.lower() for part in ("token", "secret", "password")
        ):
            event[key] = "[redacted]"
    return event


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def without_secrets(exc_info: ExcInfo) -> str:
    """A traceback of files, lines and code, and the type of each exception in the chain."""
    chain: list[BaseException] = []
    error: BaseException | None = exc_info[1]
    while error is not None and error not in chain:
        chain.append(error)
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    parts: list[str] = []
    for error in reversed(chain):
        kind = type(error)
        name = (
            kind.__qualname__
            if kind.__module__ == "builtins"
            else f"{kind.__module__}.{kind.__qualname__}"
        )
        shown = (
            f": {error}"
            if isinstance(error, OSError) and not isinstance(error, TimeoutError)
            else ""
        )
        parts += [
            "Traceback (most recent call last):\n",
            *traceback.format_list(traceback.extract_tb(error.__traceback__)),
            f"{name}{shown}\n",
        ]
    return "".join(parts).rstrip("\n")


def _console_exception(out: TextIO, exc_info: ExcInfo) -> None:
    out.write("\n" + without_secrets(exc_info))


def _exception_field(
    _logger: object, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """For JSON: `exception` as text without locals or messages (structlog's own would show them)."""
    exc_info = event.pop("exc_info", None)
    if exc_info is True:
        exc_info = sys.exc_info()
    if isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    if isinstance(exc_info, tuple) and exc_info[0] is not None:
        event["exception"] = without_secrets(exc_info)
    return event


def configure_logging(
    *, level: str = "INFO", json: bool = False, stream: TextIO | None = None
) -> None:
    """Route stdlib logging and structlog through one renderer, to `stream` (stderr)."""
    renderer: list[Any] = (
        [_exception_field, structlog.processors.JSONRenderer()]
        if json
        else [structlog.dev.ConsoleRenderer(colors=False, exception_formatter=_console_exception)]
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            # A stdlib call's `extra={...}` fields, before `_redact` sees them.
            foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiohttp.access", "apscheduler", "alembic", "sqlalchemy.engine"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


OutboxStats = Callable[[], Awaitable[tuple[int, float]]]


class _OutboxCollector(Collector):
    """Outbox depth and the age of its oldest pending row, read at scrape time."""

    def __init__(self) -> None:
        self.last: tuple[int, float] = (0, 0.0)

    def collect(self) -> Iterable[Metric]:
        depth, age = self.last
        yield GaugeMetricFamily(
            "circles_outbox_depth", "Messages waiting to be delivered", value=depth
        )
        yield GaugeMetricFamily(
            "circles_outbox_oldest_age_seconds", "Age of the oldest undelivered message", value=age
        )


class _WorkCollector(Collector):
    """Deliveries, delivery failures and job runs, read at scrape time from the
    counts the delivery workers (`Tally`) and the scheduler (`Runner.runs`) keep."""

    def __init__(self) -> None:
        self.tallies: dict[str, Tally] = {}  # by platform
        self.runs: Counts[tuple[str, str]] = Counts()

    def collect(self) -> Iterable[Metric]:
        sent = CounterMetricFamily("circles_deliveries", "Messages delivered", labels=["platform"])
        failed = CounterMetricFamily(
            "circles_delivery_failures",
            "Delivery failures: retried (transient), failed (for good), lost (lease expired)",
            labels=["platform", "reason"],
        )
        for platform, tally in self.tallies.items():
            sent.add_metric([platform], tally.sent)
            failed.add_metric([platform, "retried"], tally.retried)
            failed.add_metric([platform, "failed"], tally.failed)
            failed.add_metric([platform, "lost"], tally.lost_claims)
        runs = CounterMetricFamily(
            "circles_job_runs", "Scheduler job runs", labels=["job", "outcome"]
        )
        for (job, outcome), count in self.runs.items():
            runs.add_metric([job, outcome], count)
        yield from (sent, failed, runs)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.inbound = Counter(
            "circles_inbound_events",
            "Inbound platform events",
            ["platform", "outcome"],
            registry=self.registry,
        )
        self.leader = Gauge(
            "circles_scheduler_leader",
            "1 when this process runs the scheduler",
            registry=self.registry,
        )
        self._outbox = _OutboxCollector()
        self.registry.register(self._outbox)
        self._work = _WorkCollector()
        self.registry.register(self._work)

    def watch(self, *, tallies: dict[str, Tally], runs: Counts[tuple[str, str]]) -> None:
        """Report what the delivery workers (by platform) and the scheduler have done."""
        self._work.tallies, self._work.runs = tallies, runs

    async def render(self, outbox_stats: OutboxStats | None = None) -> bytes:
        """The Prometheus text exposition, with outbox figures read fresh."""
        if outbox_stats is not None:
            self._outbox.last = await outbox_stats()
        return generate_latest(self.registry)
