"""The config as the rest of the connector sees it: plain frozen dataclasses, and the error that refuses one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any

from connector.config.ladder import Ladder, TenantLadders, default_ladder
from connector.store.url import DatabaseUrl
from rules.pack import RulePack


class ConfigError(Exception):
    """A config that cannot be used. `errors` maps dotted field paths to messages."""

    def __init__(self, errors: Mapping[str, list[str]], source: str = "config") -> None:
        self.errors = dict(errors)
        self.source = source
        super().__init__(self.one_line())

    def one_line(self) -> str:
        parts = [f"{path}: {' '.join(msgs)}" for path, msgs in sorted(self.errors.items())]
        return f"{self.source}: " + "; ".join(parts)

    def lines(self) -> list[str]:
        return [f"{path}: {' '.join(msgs)}" for path, msgs in sorted(self.errors.items())]


@dataclass(frozen=True)
class TenantConfig:
    id: str
    rule_pack: RulePack
    reference_prefix: str
    closure_days: tuple[date, ...]
    team_tags: Mapping[str, frozenset[str]]
    platforms: Mapping[str, Any]  # platform name -> that adapter's parsed settings
    ladders: TenantLadders = field(default_factory=TenantLadders)
    compliance: Compliance = field(default_factory=lambda: Compliance())
    viewer_token: str | None = None  # the dashboard's, for this tenant only
    calendar_secret: str | None = None  # team calendar feed URLs are derived from it
    # Days a closed case's raw events are kept after its closing date (see README "What is stored").
    retention_days: int = 400
    # Days an open case's, worker's or team's raw events are kept before they fold into its compaction base:
    # the late-arrival window, and what the session reports read (README "What is stored").
    compact_after_days: int = 400


@dataclass(frozen=True)
class Compliance:
    """Red/amber/green: on time at or above `target` percent is green, below `floor` red, amber between."""

    target: float = 90.0
    floor: float = 80.0

    def rag(self, on_time_percent: float | None) -> str:
        if on_time_percent is None:
            return "none"
        if on_time_percent >= self.target:
            return "green"
        return "red" if on_time_percent < self.floor else "amber"


@dataclass(frozen=True)
class ServiceConfig:
    background: bool = True
    # Under `connector serve`, the background work in a child `connector work` process (False: as threads of
    # the serve process): two processes, so intake and processing do not take turns on one GIL.
    worker_process: bool = True
    # `connector work`'s delivery in a process of its own, which it starts and keeps (False: a thread of it):
    # processing and delivery are both Python, and one process drains a backlog on one core.
    delivery_process: bool = True
    # Processes a whole re-evaluation (a rule-pack change, 1 April's) is split across, this one included; 0: one
    # per core, at most four. The engine is Python, so one process re-evaluates on one core.
    reevaluation_processes: int = 0
    poll_interval_seconds: float = 1.0
    tick_interval_seconds: float = 3600.0
    # When the daily time-driven work runs, Europe/London time (it also runs at start).
    tick_at: time = time(6, 0)
    admin_token: str | None = None
    # A webhook's thread waits for the commit its event shares with the others arriving meanwhile: more threads
    # than cores let more events share one fsync (16 senders: 16 in one commit at most, not 8).
    threads: int = 16
    burst_rate: float = 200.0
    # Events per processing transaction, and writes per delivery round, while no burst is on: a backlog is
    # worked off in few commits (one fsync per batch), each short enough not to hold intake up for long.
    batch_size: int = 200
    connection_limit: int = 500
    channel_timeout_seconds: int = 30
    future_tolerance_seconds: float = 86400.0
    session_secret: str | None = None  # signs the dashboard's session cookie; None: one per process
    public_url: str | None = None  # where people reach the connector, for the calendar links it offers


@dataclass(frozen=True)
class DeliveryConfig:
    max_attempts: int = 10
    backoff_seconds: float = 30.0
    backoff_max_seconds: float = 3600.0
    # Writes in flight at once (threads, each with its own kept-alive connections); also the most one
    # tenant's platform gets, fewer after it answers 429.
    workers: int = 8


@dataclass(frozen=True)
class RemindersConfig:
    """The default ladder of every tenant and kind that sets none of its own."""

    ladder: Ladder = field(default_factory=default_ladder)


@dataclass(frozen=True)
class LoggingConfig:
    format: str = "text"
    level: str | None = None  # None: the command line's --log-level


@dataclass(frozen=True)
class Config:
    database: Path | DatabaseUrl  # a SQLite file, or a PostgreSQL server (store/url.py)
    tenants: Mapping[str, TenantConfig]
    service: ServiceConfig = field(default_factory=ServiceConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    reminders: RemindersConfig = field(default_factory=RemindersConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)

    def ladder(self, tenant: str, kind: str) -> Ladder:
        """The rungs an obligation of this tenant and kind earns: the kind's, the tenant's, or the global."""
        found = self.tenants.get(tenant)
        if found is None:
            return self.reminders.ladder
        return found.ladders.for_kind(kind, self.reminders.ladder)

    # Not errors, but worth an operator's attention: `check-config` prints them, `serve` logs them.
    warnings: tuple[str, ...] = ()
