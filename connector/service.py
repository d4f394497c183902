"""The running connector: its store, the processing and delivery loop, and the daily tick, as threads.

`connector serve` runs these beside the HTTP server unless `service.background = false` (then run
`connector work` or cron `connector tick` elsewhere). Stopping sets an event; loops finish their current step.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic
from zoneinfo import ZoneInfo

import requests

from connector.config import Config
from connector.observability.metrics import Metrics
from connector.pipeline import rule_change
from connector.pipeline.arrivals import InboxArrivals
from connector.pipeline.collector import fewer_collections
from connector.pipeline.compaction import CompactionCounts, apply_compaction, refused_count
from connector.pipeline.dispatcher import Dispatcher
from connector.pipeline.failures import count_failures
from connector.pipeline.inbox import Inbox
from connector.pipeline.ledger import DiffCounts
from connector.pipeline.outbox import Outbox
from connector.pipeline.processor import Processor
from connector.pipeline.retention import RetentionCounts, apply_retention
from connector.pipeline.scheduler import Scheduler, TickCounts
from connector.store.database import Database, utc_now_text
from connector.store.leases import turn
from connector.store.worker_lock import WorkerLock
from connector.web.intake import IntakeMeter, Waker

log = logging.getLogger(__name__)
LONDON = ZoneInfo("Europe/London")
BURST_PAUSE_SECONDS = 0.2
# Events processed, or writes tried, per step while a burst is on: small, so intake keeps the CPU.
BURST_STEP = 25
# Webhooks waiting for their commit, on average over the last half second, that make a burst whatever the rate.
# Fewer is ordinary traffic on a slow disk (measured: at 100 webhooks/s, often two or three wait for one slow
# fsync; taking each such moment for a burst put writes a few hundred ms behind); 16 senders flat out keep 8+.
BURST_WAITING = 4


def london_today() -> date:
    return datetime.now(LONDON).date()


def next_daily_run(now: datetime, tick_at: time) -> datetime:
    """The next moment after `now` that London's clocks read `tick_at` (in UTC). A time the clocks skip
    (a spring-forward gap) runs at the equivalent moment after it; a repeated one, at its first occurrence."""
    local = now.astimezone(LONDON)
    day = local.date()
    for _ in range(3):
        candidate = datetime.combine(day, tick_at, tzinfo=LONDON).astimezone(UTC)
        if candidate > now:
            return candidate
        day += timedelta(days=1)
    raise AssertionError("unreachable: a day later is always later")  # pragma: no cover


class Service:
    def __init__(
        self,
        config: Config,
        today: Callable[[], date] = london_today,
        session_factory: Callable[[], requests.Session] = requests.Session,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.db = Database(config.database)
        self.db.migrate()
        self.today = today
        self.inbox = Inbox(self.db)
        self.outbox = Outbox(self.db)
        self.processor = Processor(self.db, config, today)
        self.clock = clock
        self.dispatcher = Dispatcher(self.db, config, session_factory, clock)
        self.metrics = Metrics(self.db, today, {t.id: tuple(t.platforms) for t in config.tenants.values()})
        self.dispatcher.observe = self.metrics.write
        # How long each run of the time-driven work took (`connector serve`'s child reports it to its parent).
        self.observe_tick: Callable[[float], None] = self.metrics.tick_seconds.observe
        self.scheduler = Scheduler(self.db, config)
        self.worker_lock = WorkerLock(config.database)
        self.wake = threading.Event()
        # Set when processing queued writes, so delivery starts on them at once rather than at its next poll.
        self.deliver_wake = threading.Event()
        # Delivery in another process (`connector work`'s, service.delivery_process): told when writes are queued.
        self.delivery_waker: Waker | None = None
        self.meter = IntakeMeter()
        self.arrivals = InboxArrivals(self.inbox.last_seq)
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- one-shot work, used by the loop, the CLI and tests -------------------------------------------------

    def work_once(self) -> tuple[int, int]:
        """Process what is pending, then deliver what is due; returns (events processed, writes attempted)."""
        # Small batches keep each write transaction short, so webhooks never wait long for the write lock.
        processed = self.processor.run_until_idle(limit=25)
        delivered = self.dispatcher.run_once()
        return processed, delivered

    def drain(self) -> None:
        """Process and deliver until nothing is due now (writes waiting for a later retry stay queued)."""
        while True:
            processed, delivered = self.work_once()
            if processed == 0 and delivered == 0:
                return

    def tick(self, as_of: date) -> TickCounts:
        started = monotonic()
        self.processor.run_until_idle()
        # The tick commits in short slices of its own (intake never waits on it); it is idempotent, so a tick
        # cut short is finished by the next one, and `last_tick` is written once it is done.
        with self.db.checkpoints_outside_the_lock(), fewer_collections():
            counts = self.scheduler.tick(as_of)
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO service_state (key, value, updated_at) VALUES ('last_tick', ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (as_of.isoformat(), utc_now_text()),
            )
        self.observe_tick(monotonic() - started)
        return counts

    def last_tick(self) -> date | None:
        """The date the time-driven work last ran as of, by any process of this database."""
        value = self.db.scalar("SELECT value FROM service_state WHERE key = 'last_tick'")
        return None if value is None else date.fromisoformat(str(value))

    def reevaluate_everything(self, only_due: bool = False) -> None:
        """Re-evaluate every subject of every tenant; with `only_due` (the daily run), only the subjects whose
        obligations the day alone may have changed (a year's observations, booking horizons, a leaving date)."""
        with self.db.checkpoints_outside_the_lock():
            for tenant in self.config.tenants.values():
                for platform in tenant.platforms:
                    self.processor.reevaluate_all(tenant.id, platform, only_due=only_due)

    def daily(self, today: date) -> tuple[bool, TickCounts]:
        """The tick loop's step: the day's re-evaluation once per day (whichever process ran it, even before a
        restart), then the time-driven work, which is idempotent. Returns (re-evaluated, counts). With several
        processes on PostgreSQL, one at a time (the `daily` turn: store/leases.py); the others skip the round."""
        with turn(self.db, "daily") as mine:
            return self._daily(today) if mine else (False, TickCounts())

    def _daily(self, today: date) -> tuple[bool, TickCounts]:
        first_today = self.last_tick() != today
        if first_today:
            self.reevaluate_everything(only_due=True)
        counts = self.tick(today)
        if first_today:
            self.compact(today)
            self.compact_open(today)
        return first_today, counts

    def compact(self, today: date, dry_run: bool = False) -> RetentionCounts:
        """Delete the raw events of cases closed for longer than their tenant's retention (short slices)."""
        with self.db.checkpoints_outside_the_lock():
            counts = apply_retention(self.db, self.config, today, dry_run)
        if counts.cases and not dry_run:
            log.info(
                "retention: %d closed case(s) compacted, %d event(s) deleted",
                counts.cases,
                counts.events_deleted,
            )
        return counts

    def compact_open(self, today: date, dry_run: bool = False) -> CompactionCounts:
        """Fold open subjects' raw events older than their tenant's `compact_after_days` into their bases."""
        with self.db.checkpoints_outside_the_lock():
            counts = apply_compaction(self.db, self.config, today, dry_run, self._processing_turn)
        if counts.subjects and not dry_run:
            log.info(
                "compaction: %d open subject(s) compacted, %d event(s) deleted",
                counts.subjects,
                counts.events_deleted,
            )
        return counts

    @contextmanager
    def _processing_turn(self) -> Iterator[None]:
        # No batch may re-fold a subject from its checkpoints while compaction deletes the events after them.
        with self.processor.one_at_a_time, turn(self.db, "processing", wait=True):
            yield

    def reevaluate_if_rules_changed(self) -> dict[str, DiffCounts]:
        """Re-evaluate the subjects of a tenant whose rule pack or rule settings changed since last time: those of
        the kinds the change can affect (pipeline/rule_change.py), and of the others those the day made due."""
        changed: dict[str, DiffCounts] = {}
        for tenant in self.config.tenants.values():
            fingerprint = rule_change.fingerprint(tenant)
            previous = self.db.scalar("SELECT fingerprint FROM tenant_state WHERE tenant = ?", (tenant.id,))
            if previous == fingerprint:
                continue
            kinds = None if previous is None else rule_change.kinds_changed(previous, fingerprint)
            case_rules = (
                rule_change.case_rules_changed(previous, fingerprint)
                if previous is not None and kinds is not None and "case" in kinds
                else None
            )
            if previous is not None and kinds != frozenset():
                total = DiffCounts()
                for platform in tenant.platforms:
                    with self.db.checkpoints_outside_the_lock():
                        counts = self.processor.reevaluate_all(
                            tenant.id, platform, kinds=kinds, case_rules=case_rules
                        )
                    total = DiffCounts(
                        total.created + counts.created,
                        total.moved + counts.moved,
                        total.withdrawn + counts.withdrawn,
                        total.met + counts.met,
                    )
                changed[tenant.id] = total
                log.info(
                    "rules changed for %s: re-evaluated %s (%s)",
                    tenant.id,
                    "every subject"
                    if kinds is None
                    else ", ".join(sorted(kinds))
                    + ("" if case_rules is None else f" (the cases {', '.join(sorted(case_rules))} applied to)")
                    + " (and the others due)",
                    total,
                )
            with self.db.transaction() as conn:
                conn.execute(
                    "INSERT INTO tenant_state (tenant, fingerprint, evaluated_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (tenant) DO UPDATE SET fingerprint = excluded.fingerprint,"
                    " evaluated_at = excluded.evaluated_at",
                    (tenant.id, fingerprint, utc_now_text()),
                )
        return changed

    def status(self) -> dict[str, int | str | None]:
        return {
            "inbox_pending": self.inbox.count("pending"),
            "inbox_failed": self.inbox.count("failed"),
            "events_before_compaction": refused_count(self.db),
            "subject_failures": count_failures(self.db),
            "outbox_pending": self.outbox.count("pending"),
            "dead_letters": self.outbox.count("dead"),
            "open_obligations": int(
                self.db.scalar("SELECT COUNT(*) FROM obligations WHERE status = 'open'") or 0
            ),
            "overdue_obligations": int(
                self.db.scalar(
                    "SELECT COUNT(*) FROM obligations WHERE status = 'open' AND due_date < ?",
                    (self.today().isoformat(),),
                )
                or 0
            ),
            "schema_version": self.db.schema_version(),
            "last_tick": None if (last := self.last_tick()) is None else last.isoformat(),
        }

    # --- background threads ---------------------------------------------------------------------------------

    def start_background(self, delivery: bool = True) -> None:
        """Start processing, delivery (unless `delivery` is False: another process delivers, woken through
        `delivery_waker`) and the daily run; WorkerLockError when another process already runs them on this
        database."""
        self.worker_lock.acquire()
        self.reevaluate_if_rules_changed()
        loops = [("connector-worker", self._work_loop), ("connector-ticker", self._tick_loop)]
        if delivery:
            loops.append(("connector-delivery", self._delivery_loop))
        self._start(loops)

    def start_delivery(self) -> None:
        """Start delivery alone (`connector work`'s delivery process). It takes no worker lock: the rows a round
        sends are leased (store/leases.py), so it never sends a write another process is sending, and processing
        never drops one it is sending as unsent."""
        self._start([("connector-delivery", self._delivery_loop)])

    def _start(self, loops: list[tuple[str, Callable[[], None]]]) -> None:
        for name, target in loops:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _wake_delivery(self) -> None:
        self.deliver_wake.set()
        if self.delivery_waker is not None:
            self.delivery_waker.set()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        self.wake.set()
        self.deliver_wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def in_burst(self) -> bool:
        """Whether webhooks are arriving at `service.burst_rate` or faster, or several senders are waiting for
        their commit at once (0: never). The second matters as much: background work that takes the CPU slows
        intake below the rate, which alone would then never see the burst it is causing."""
        burst_rate = self.config.service.burst_rate
        if not burst_rate:
            return False
        if self.meter.waiting_average() >= BURST_WAITING or self.meter.rate() >= burst_rate:
            return True
        # Webhooks answered by another process (this one may be `connector work`) are seen in the inbox.
        return self.arrivals.rate() >= burst_rate

    def process_step(self) -> int:
        """One step of processing: during a burst a small one, else up to `service.batch_size` events in one
        transaction (so one fsync), short enough (tens of ms) that webhooks never wait long for the lock."""
        if self.in_burst():
            return self.processor.run_once(limit=BURST_STEP)
        return self.processor.run_once(limit=self.config.service.batch_size)

    def deliver_step(self) -> int:
        """One round of delivery: as `process_step`, small during a burst, else up to `service.batch_size`
        writes (in flight `delivery.workers` at a time, their confirmations committed together)."""
        if self.in_burst():
            return self.dispatcher.run_once(limit=BURST_STEP)
        return self.dispatcher.run_once(limit=self.config.service.batch_size)

    def _work_loop(self) -> None:
        """Processing: accepted events -> facts -> rules -> ledger -> outbox. Delivery has a loop of its own, so
        the two overlap instead of taking turns (a burst's writes go out while its later events are processed)."""
        interval = self.config.service.poll_interval_seconds
        while not self.stopping.is_set():
            self.wake.clear()
            try:
                processed = self.process_step()
                if processed and self.in_burst():
                    # Senders first: while webhooks pour in, answering them quickly matters more than writing
                    # their results at once, so work off the backlog in small steps and leave the CPU to intake.
                    self._wake_delivery()
                    self.stopping.wait(BURST_PAUSE_SECONDS)
                    continue
            except Exception:
                log.exception("processing failed; trying again shortly")
                processed = 0
            if processed:
                self._wake_delivery()
                continue
            self.wake.wait(interval)

    def _delivery_loop(self) -> None:
        """Delivery: what the outbox holds -> the platforms, several writes in flight (the dispatcher's)."""
        interval = self.config.service.poll_interval_seconds
        while not self.stopping.is_set():
            self.deliver_wake.clear()
            try:
                delivered = self.deliver_step()
                if delivered and self.in_burst():
                    self.stopping.wait(BURST_PAUSE_SECONDS)
                    continue
            except Exception:
                log.exception("delivery failed; trying again shortly")
                delivered = 0
            if delivered:
                continue
            self.deliver_wake.wait(interval)

    def _tick_loop(self) -> None:
        """The day's work at start (catching up on days the service was down), then daily at
        `service.tick_at`; a failed run is tried again after `tick_interval_seconds`."""
        interval = self.config.service.tick_interval_seconds
        due_at: datetime | None = None  # None: now
        while not self.stopping.is_set():
            now = self.clock()
            if due_at is not None and now < due_at:
                # Woken in steps, so a clock that jumps (a suspended machine) is noticed within the interval.
                self.stopping.wait(min(interval, (due_at - now).total_seconds()))
                continue
            try:
                self.daily(self.today())
                self.wake.set()
                self._wake_delivery()
                due_at = next_daily_run(self.clock(), self.config.service.tick_at)
            except Exception:
                log.exception("time-driven work failed; trying again in %s seconds", interval)
                due_at = self.clock() + timedelta(seconds=interval)

    def close(self) -> None:
        self.stop()
        self.dispatcher.close()
        self.worker_lock.release()
        self.db.close()
