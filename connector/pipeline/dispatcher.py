"""Delivery: outbox rows -> the platform's writer, until the platform confirms each one.

Several writes are in flight at once (`delivery.workers` threads, each with its own kept-alive sessions), but
never two writes about the same platform record: a round takes at most one row per record (an obligation's
step, with its reminders and their withdrawals and edits), so they reach the platform in the order they were
queued.
Every writer makes one try per call; a retryable failure waits in the outbox (`next_attempt_at`), never in a
sleep that would hold a worker: first the platform's quick tries (`max_attempts`, short waits up to
`max_retry_wait_seconds`), then a growing delay, and a dead letter after `delivery.max_attempts` more. A 429
also paces that tenant's platform (connector/pipeline/pacing.py). A fatal answer is parked at once. The
confirmations of a round are committed together, in one transaction. Each outcome is kept in the audit table
(references and outcomes only, never personal data).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import requests

from adapters.base import PlatformError, PlatformWriter, ReminderWrite, RetryableError
from adapters.registry import get_adapter
from connector.config import Config
from connector.pipeline.inbox import Inbox
from connector.pipeline.ladder import Chain
from connector.pipeline.ledger import Ledger
from connector.pipeline.obligation_writes import obligation_write
from connector.pipeline.outbox import Outbox, OutboxRow
from connector.pipeline.pacing import Pacing
from connector.pipeline.reminder_texts import AMENDS, WITHDRAW_SUFFIX, amend, reminder_of
from connector.store.database import Database, utc_now_text
from connector.store.engines.base import Connection, Row

log = logging.getLogger(__name__)

# The platform's quick tries wait as its HTTP client used to between tries in one call: 0.5 s, doubling.
QUICK_FIRST_WAIT = 0.5

Confirm = Callable[[Connection], None]


@dataclass(frozen=True)
class Delivery:
    """What one delivery attempt came to: "delivered" (detail: the platform's record id), "parked" as a dead
    letter (detail: the reason), or "retrying" (detail: the reason; `next_attempt_at` when it is tried again)."""

    outcome: str
    detail: str
    next_attempt_at: datetime | None = None


@dataclass(frozen=True)
class _Attempt:
    """One row's try: its delivery (None: not tried, its platform is paused) and, when delivered, what the
    confirmation records (applied with the round's other confirmations, in one transaction)."""

    delivery: Delivery | None
    confirm: Confirm | None = None


def _now() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    def __init__(
        self,
        db: Database,
        config: Config,
        session_factory: Callable[[], requests.Session] = requests.Session,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.db = db
        self.config = config
        self.outbox = Outbox(db)
        self.ledger = Ledger(db, self.outbox)
        self.inbox = Inbox(db)
        self.session_factory = session_factory
        self.clock = clock
        self.workers = config.delivery.workers
        self.pacing = Pacing(self.workers)
        # Writers set here (by tests) serve every thread; otherwise each thread builds its own, because a
        # requests.Session must not be shared across threads.
        self._writers: dict[tuple[str, str], PlatformWriter] = {}
        self.observe: Callable[[str, str, float], None] | None = None  # (platform, outcome, seconds): metrics
        # When each row's attempt began, by outbox id: attempts run on several threads, and their outcome may be
        # audited on another (a round's confirmations commit together).
        self._started: dict[int, float] = {}
        self._local = threading.local()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def writer(self, tenant_id: str, platform: str) -> PlatformWriter:
        key = (tenant_id, platform)
        if key in self._writers:
            return self._writers[key]
        own: dict[tuple[str, str], PlatformWriter] = self._local.__dict__.setdefault("writers", {})
        if key not in own:
            tenant = self.config.tenants[tenant_id]
            adapter = get_adapter(platform)
            own[key] = adapter.writer(
                tenant.platforms[platform], tenant.reference_prefix, self.session_factory(), max_attempts=1
            )
        return own[key]

    def run_once(self, limit: int = 100) -> int:
        """One round: try every write that is due (at most one per platform record, several at once), then
        commit their confirmations together; returns how many were tried."""
        now = self.clock()
        rows = self._one_per_record(self.outbox.due(now, limit, skip=self.pacing.paused(now)))
        attempts: list[_Attempt] = []
        failure: BaseException | None = None
        if self.workers <= 1 or len(rows) <= 1:
            for row in rows:
                try:
                    attempts.append(self._attempt(row, now))
                except Exception as exc:  # kept until the others' confirmations are committed
                    failure = failure or exc
        else:
            # One task per delivery thread, each taking the round's next row until none is left (not one task per
            # row: handing each row to a thread and back cost as much CPU as the dispatcher's own work on it).
            # A thread held up by a slow platform just takes fewer rows, so a hung platform holds the round up
            # for its timeout, not for its timeout once per row.
            left = deque(rows)
            lanes = [
                self._executor().submit(self._attempt_each, left, now)
                for _ in range(min(self.workers, len(rows)))
            ]
            for lane in lanes:
                done, error = lane.result()
                attempts.extend(done)
                failure = failure or error
        confirms = [a.confirm for a in attempts if a.confirm is not None]
        if confirms:
            with self.db.transaction() as conn:
                for confirm in confirms:
                    confirm(conn)
        if failure is not None:
            raise failure
        return sum(1 for a in attempts if a.delivery is not None)

    def _attempt_each(self, left: deque[OutboxRow], now: datetime) -> tuple[list[_Attempt], Exception | None]:
        """Try rows from `left` until it is empty; an unexpected error is kept until the round's confirmations
        are committed, and the rows after it are still tried."""
        attempts: list[_Attempt] = []
        failure: Exception | None = None
        while True:
            try:
                row = left.popleft()  # atomic: the lanes share the one queue
            except IndexError:
                return attempts, failure
            try:
                attempts.append(self._attempt(row, now))
            except Exception as exc:
                failure = failure or exc

    def run_until_idle(self, limit: int = 100) -> int:
        total = 0
        while True:
            count = self.run_once(limit)
            total += count
            if count == 0:
                return total

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="connector-delivery")
            return self._pool

    def _one_per_record(self, rows: list[OutboxRow]) -> list[OutboxRow]:
        """The oldest due row of each platform record; the others wait for a later round, so a reminder never
        overtakes its step's move, nor a withdrawal its reminder."""
        records = self._records(rows)
        seen: set[tuple[str, str, str]] = set()
        first: list[OutboxRow] = []
        for row in rows:
            key = (
                row.tenant,
                row.platform,
                records.get((row.tenant, row.platform, row.reference), row.reference),
            )
            if key not in seen:
                seen.add(key)
                first.append(row)
        return first

    def _records(self, rows: list[OutboxRow]) -> dict[tuple[str, str, str], str]:
        """(tenant, platform, reference) of each reminder row (and each amendment of one) -> the reference of
        the obligation it is about; obligation rows are their own record."""
        wanted: dict[tuple[str, str], dict[str, str]] = {}
        for row in rows:
            if row.item == "obligation":
                continue
            reminder = reminder_of(row.reference, row.item)
            wanted.setdefault((row.tenant, row.platform), {})[reminder] = row.reference
        records: dict[tuple[str, str, str], str] = {}
        for (tenant, platform), by_reminder in wanted.items():
            refs = list(by_reminder)
            marks = ", ".join("?" * len(refs))
            for found in self.db.query(
                "SELECT reference, obligation_reference FROM reminders WHERE tenant = ? AND platform = ?"
                f" AND reference IN ({marks})",
                (tenant, platform, *refs),
            ):
                records[(tenant, platform, by_reminder[found["reference"]])] = found["obligation_reference"]
        return records

    def deliver(self, row: OutboxRow) -> Delivery:
        """Try one row now and commit what came of it (the operator's `connector retry`)."""
        attempt = self._attempt(row, self.clock(), paced=False)
        if attempt.confirm is not None:
            with self.db.transaction() as conn:
                attempt.confirm(conn)
        assert attempt.delivery is not None
        return attempt.delivery

    def _attempt(self, row: OutboxRow, now: datetime, paced: bool = True) -> _Attempt:
        self._started[row.id] = time.monotonic()
        if (
            row.tenant not in self.config.tenants
            or row.platform not in self.config.tenants[row.tenant].platforms
        ):
            reason = f"tenant {row.tenant!r} has no {row.platform} platform configured any more"
            self.outbox.park(row, reason)
            return _Attempt(Delivery("parked", reason))
        pace = self.pacing.of(row.tenant, row.platform)
        if paced and not pace.acquire(now):
            return _Attempt(None)  # paused by a 429 meanwhile: it stays due, untried
        confirmed = False
        try:
            writer = self.writer(row.tenant, row.platform)
            if row.item == "reminder":
                notification_id = self._send_reminder(writer, row)
                confirmed = True
                return _Attempt(
                    Delivery("delivered", notification_id),
                    lambda conn: self._confirm_reminder(conn, row, notification_id),
                )
            if row.item in AMENDS:
                amend(writer, row)
                confirmed = True
                return _Attempt(
                    Delivery("delivered", row.payload["platform_id"]),
                    lambda conn: self._confirm_withdrawal(conn, row),
                )
            platform_id, confirm = self._sync_obligation(writer, row)
            confirmed = True
            return _Attempt(Delivery("delivered", platform_id), confirm)
        except RetryableError as exc:
            if exc.status == 429:
                pace.slow_down(self.clock(), exc.retry_after)
            return _Attempt(self._retry_or_park(row, exc))
        except PlatformError as exc:
            log.warning("write %s parked: %s", row.reference, exc.reason)
            self.outbox.park(row, exc.reason)
            self._audit(row, "dead_letter", exc.reason)
            return _Attempt(Delivery("parked", exc.reason))
        finally:
            if paced:
                pace.release(confirmed)

    def _confirm_withdrawal(self, conn: Connection, row: OutboxRow) -> None:
        self.outbox.confirm(conn, row)
        self._audit(row, "confirmed", row.payload["platform_id"], conn=conn)

    def _sync_obligation(self, writer: PlatformWriter, row: OutboxRow) -> tuple[str, Confirm]:
        platform_id, form_id = self.ledger.platform_ids(row.tenant, row.platform, row.reference)
        # A row tried before may have reached the platform unanswered (a newer state resets its attempts, but
        # not what it first sent).
        if platform_id is None and row.first_sent is None and getattr(writer, "keys_first_body", False):
            self.outbox.note_first_sent(row)
        first = row.first_sent if platform_id is None and row.first_sent != row.payload else None
        earlier = None if first is None else obligation_write(row.reference, first, None, None)
        unsure = row.attempts > 0 or row.first_sent is not None
        write = obligation_write(row.reference, row.payload, platform_id, form_id, unsure, earlier)
        result = writer.sync_obligation(write)

        def confirm(conn: Connection) -> None:
            self.ledger.record_confirmation(
                conn,
                row.tenant,
                row.platform,
                row.reference,
                result.platform_id,
                result.form_id,
                result.closed_on_platform,
            )
            self.outbox.confirm(conn, row)
            self._audit(row, "confirmed", result.platform_id or "", conn=conn)
            self._withdraw_stale_reminders(conn, row)

        return result.platform_id or "", confirm

    def _withdraw_stale_reminders(self, conn: Connection, row: OutboxRow) -> None:
        """A step's reminders that no longer fit it leave the tray: those of an ended step, those that named a
        due date the step no longer has, and those addressed to someone who should no longer get them (an
        assignee's reminder to a former assignee, an escalation to a former supervisor). Sent ones are withdrawn
        on the platform, unsent ones are not sent; the right person gets theirs at the next tick."""
        still_due = row.payload["due_date"] if row.payload.get("open") else None
        reminders = conn.execute(
            "SELECT reference, platform_id, worker_id, escalation, due_date, recipient FROM reminders WHERE"
            " tenant = ? AND platform = ? AND obligation_reference = ? AND withdrawn_at IS NULL",
            (row.tenant, row.platform, row.reference),
        ).fetchall()
        chain = Chain(self.inbox)

        def addressee(reminder: Row) -> str | None:
            # Written before ladders: a reminder went to the assignee, an escalation to the supervisor.
            role = reminder["recipient"] or ("supervisor" if reminder["escalation"] else "assignee")
            return chain.recipient(row.tenant, row.platform, role, str(row.payload["assignee_id"]))

        stale = [
            r
            for r in reminders
            if still_due is None or r["due_date"] != still_due or r["worker_id"] != addressee(r)
        ]
        for reminder in stale:
            conn.execute(
                "UPDATE reminders SET withdrawn_at = ? WHERE tenant = ? AND platform = ? AND reference = ?",
                (utc_now_text(), row.tenant, row.platform, reminder["reference"]),
            )
            # A send tried (or claimed) before may have reached the platform with its answer lost (Mosaic cannot
            # look a notification up): it is finished, and its confirmation withdraws it. One never tried is not sent.
            self.outbox.drop_unsent(conn, row.tenant, row.platform, reminder["reference"])
            if reminder["platform_id"]:
                self._queue_withdrawal(conn, row, reminder["reference"], reminder["platform_id"])

    def _queue_withdrawal(self, conn: Connection, row: OutboxRow, reference: str, sent_as: str) -> None:
        what = ("reminder_withdrawal", "withdraw", {"platform_id": sent_as})
        self.outbox.put(conn, row.tenant, row.platform, f"{reference}{WITHDRAW_SUFFIX}", *what)

    def _send_reminder(self, writer: PlatformWriter, row: OutboxRow) -> str:
        p = row.payload
        notification_id = writer.send_reminder(
            ReminderWrite(
                reference=row.reference,
                worker_id=p["worker_id"],
                platform_id=p["platform_id"],
                case_id=p.get("case_id"),
                kind=p.get("kind"),
                show_on=date.fromisoformat(p["show_on"]),
                due_date=date.fromisoformat(p["due_date"]),
                message=p["message"],
                escalation=bool(p.get("escalation")),
            )
        )
        return notification_id

    def _confirm_reminder(self, conn: Connection, row: OutboxRow, notification_id: str) -> None:
        withdrawn = conn.execute(
            "UPDATE reminders SET platform_id = ? WHERE tenant = ? AND platform = ? AND reference = ?"
            " RETURNING withdrawn_at",
            (notification_id, row.tenant, row.platform, row.reference),
        ).fetchone()
        self.outbox.confirm(conn, row)
        self._audit(row, "confirmed", notification_id, conn=conn)
        if withdrawn is not None and withdrawn["withdrawn_at"] is not None and notification_id:
            # Its step ended while this send waited for another try (_withdraw_stale_reminders kept it).
            self._queue_withdrawal(conn, row, row.reference, notification_id)

    def _retry_or_park(self, row: OutboxRow, exc: RetryableError) -> Delivery:
        """Schedule the next try in the outbox: first the platform's quick tries (what its client once did
        inside one call), then `delivery`'s growing delay; a Retry-After longer than either is honoured."""
        delivery = self.config.delivery
        settings = self.config.tenants[row.tenant].platforms[row.platform]
        quick = max(0, int(getattr(settings, "max_attempts", 1)) - 1)
        tries = row.attempts + 1
        if tries >= quick + delivery.max_attempts:
            reason = f"gave up after {tries} attempts: {exc.reason}"
            self.outbox.park(row, reason)
            self._audit(row, "dead_letter", reason)
            return Delivery("parked", reason)
        if row.attempts < quick:
            most = float(getattr(settings, "max_retry_wait_seconds", 30.0))
            delay = min(QUICK_FIRST_WAIT * (2**row.attempts), most)
        else:
            slow = row.attempts - quick
            delay = min(delivery.backoff_seconds * (2**slow), delivery.backoff_max_seconds)
        if exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        now = self.clock()
        self.outbox.retry_later(row, exc.reason, delay, now)
        self._audit(row, "retry_scheduled", exc.reason)
        return Delivery("retrying", exc.reason, now + timedelta(seconds=delay))

    def _audit(self, row: OutboxRow, outcome: str, detail: str, conn: Any = None) -> None:
        if self.observe is not None:  # every delivery ends in exactly one audited outcome
            started = self._started.pop(row.id, None)
            self.observe(row.platform, outcome, 0.0 if started is None else time.monotonic() - started)
        sql = "INSERT INTO audit (at, tenant, platform, reference, action, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)"
        params = (utc_now_text(), row.tenant, row.platform, row.reference, row.action, outcome, detail[:500])
        if conn is not None:
            conn.execute(sql, params)
        else:
            with self.db.transaction() as own:
                own.execute(sql, params)
