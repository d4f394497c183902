"""Prometheus metrics: counters and histograms as things happen, depths and obligations read at scrape time.

Each Service has its own CollectorRegistry (never the process-global one), so two services in one process, as in
the tests, never share or double-register a metric. Labels are bounded: tenants and platforms from the config
(anything else is "unknown"), HTTP status codes, outcomes and obligation kinds; never an id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from connector.pipeline.compaction import refused_count
from connector.store.database import Database

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNKNOWN = "unknown"

# Every metric name, as the README documents them (a test scrapes /metrics and finds each one).
METRIC_NAMES = (
    "connector_webhooks_total",
    "connector_inbox_depth",
    "connector_events_before_compaction",
    "connector_outbox_depth",
    "connector_dead_letters",
    "connector_platform_writes_total",
    "connector_platform_write_seconds",
    "connector_tick_seconds",
    "connector_obligations_open",
    "connector_obligations_overdue",
)


class _StoreCollector(Collector):
    """Backlogs and obligations, counted in the database when scraped (always true, even after a restart)."""

    def __init__(self, db: Database, today: Callable[[], date]) -> None:
        self.db = db
        self.today = today

    def collect(self) -> Iterable[Metric]:
        inbox = GaugeMetricFamily(
            "connector_inbox_depth",
            "Accepted events by state (pending: not yet processed).",
            labels=["state"],
        )
        counts = {
            r["state"]: r["n"] for r in self.db.query("SELECT state, COUNT(*) AS n FROM inbox GROUP BY state")
        }
        for state in ("pending", "failed"):
            inbox.add_metric([state], counts.get(state, 0))
        yield inbox
        yield GaugeMetricFamily(
            "connector_events_before_compaction",
            "Failed events set aside because they occurred before their subject's compaction base.",
            value=refused_count(self.db),
        )
        outbox = {
            r["state"]: r["n"]
            for r in self.db.query("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state")
        }
        yield GaugeMetricFamily(
            "connector_outbox_depth",
            "Writes the platform has not confirmed yet, including those waiting to retry.",
            value=outbox.get("pending", 0),
        )
        yield GaugeMetricFamily(
            "connector_dead_letters",
            "Writes parked after the platform would not take them.",
            value=outbox.get("dead", 0),
        )
        opened = GaugeMetricFamily(
            "connector_obligations_open", "Open obligations.", labels=["tenant", "kind"]
        )
        overdue = GaugeMetricFamily(
            "connector_obligations_overdue",
            "Open obligations past their due date.",
            labels=["tenant", "kind"],
        )
        for row in self.db.query(
            "SELECT tenant, kind, COUNT(*) AS n, SUM(CASE WHEN due_date < ? THEN 1 ELSE 0 END) AS late FROM obligations"
            " WHERE status = 'open'"
            " GROUP BY tenant, kind",
            (self.today().isoformat(),),
        ):
            opened.add_metric([row["tenant"], row["kind"]], row["n"])
            overdue.add_metric([row["tenant"], row["kind"]], row["late"] or 0)
        yield opened
        yield overdue

    def describe(self) -> Iterator[Metric]:
        # Described as nothing so registering does not query the database before it is migrated.
        return iter(())


class Metrics:
    def __init__(self, db: Database, today: Callable[[], date], tenants: dict[str, tuple[str, ...]]) -> None:
        self.registry = CollectorRegistry()
        self.tenants = tenants  # tenant -> its platforms, to keep labels bounded
        self.webhooks = Counter(
            "connector_webhooks",
            "Webhooks answered, by tenant, platform and HTTP status.",
            ["tenant", "platform", "status"],
            registry=self.registry,
        )
        self.writes = Counter(
            "connector_platform_writes",
            "Write attempts to a platform by outcome (confirmed, retry_scheduled, dead_letter).",
            ["platform", "outcome"],
            registry=self.registry,
        )
        self.write_seconds = Histogram(
            "connector_platform_write_seconds",
            "Time to deliver one write to the platform, retries within the call included.",
            ["platform"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.tick_seconds = Histogram(
            "connector_tick_seconds",
            "Time the time-driven work (reminders, overdue marks, escalations) took.",
            buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900),
            registry=self.registry,
        )
        self.registry.register(_StoreCollector(db, today))

    def webhook(self, tenant: str, platform: str, status: int) -> None:
        known = platform in self.tenants.get(tenant, ())
        self.webhooks.labels(tenant if known else UNKNOWN, platform if known else UNKNOWN, str(status)).inc()

    def write(self, platform: str, outcome: str, seconds: float) -> None:
        self.writes.labels(platform, outcome).inc()
        self.write_seconds.labels(platform).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
