"""Logs and metrics (SPEC §11).

Logs are structlog events: readable lines for people (`console`), one JSON
object per line for machines (`json`). Nothing logs message texts or tokens:
log calls pass ids and counts only, and a processor drops any key that looks
like a secret or a text in case one slips through.

Metrics live in one `Metrics` object with its own Prometheus registry (no
module-level globals), created by the composition root and passed to the
parts that count things.
"""

from __future__ import annotations

import logging
import sys
from collections import Counter as Counts
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

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


def configure_logging(*, level: str = "INFO", json: bool = False) -> None:
    """Route stdlib logging and structlog through one renderer."""
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
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
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
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
