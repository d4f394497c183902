"""Delivery: outbox rows -> the platform's writer, until the platform confirms each one.

The writer already retries a call a few times (tenacity, bounded); what still fails retryably is tried again
later with a growing delay, and parked as a dead letter after `delivery.max_attempts`. A fatal answer is parked
at once. Each outcome is kept in the audit table (references and outcomes only, never personal data).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import requests

from adapters.base import ObligationWrite, PlatformError, PlatformWriter, ReminderWrite, RetryableError
from adapters.registry import get_adapter
from connector.config import Config
from connector.pipeline.inbox import Inbox
from connector.pipeline.ledger import Ledger
from connector.pipeline.outbox import Outbox, OutboxRow
from connector.pipeline.scheduler import Chain
from connector.store.database import Database, utc_now_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """What one delivery attempt came to: "delivered" (detail: the platform's record id), "parked" as a dead
    letter (detail: the reason), or "retrying" (detail: the reason; `next_attempt_at` when it is tried again)."""

    outcome: str
    detail: str
    next_attempt_at: datetime | None = None


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
        self._writers: dict[tuple[str, str], PlatformWriter] = {}
        self.observe: Callable[[str, str, float], None] | None = None  # (platform, outcome, seconds): metrics
        self._started = 0.0

    def writer(self, tenant_id: str, platform: str) -> PlatformWriter:
        key = (tenant_id, platform)
        if key not in self._writers:
            tenant = self.config.tenants[tenant_id]
            adapter = get_adapter(platform)
            self._writers[key] = adapter.writer(
                tenant.platforms[platform], tenant.reference_prefix, self.session_factory()
            )
        return self._writers[key]

    def run_once(self, limit: int = 100) -> int:
        """Attempt every write that is due; returns how many were attempted."""
        rows = self.outbox.due(self.clock(), limit)
        for row in rows:
            self.deliver(row)
        return len(rows)

    def run_until_idle(self, limit: int = 100) -> int:
        total = 0
        while True:
            count = self.run_once(limit)
            total += count
            if count == 0:
                return total

    def deliver(self, row: OutboxRow) -> Delivery:
        self._started = time.monotonic()
        if (
            row.tenant not in self.config.tenants
            or row.platform not in self.config.tenants[row.tenant].platforms
        ):
            reason = f"tenant {row.tenant!r} has no {row.platform} platform configured any more"
            self.outbox.park(row, reason)
            return Delivery("parked", reason)
        try:
            writer = self.writer(row.tenant, row.platform)
            if row.item == "reminder":
                return Delivery("delivered", self._send_reminder(writer, row))
            if row.item == "reminder_withdrawal":
                writer.withdraw_reminder(row.payload["platform_id"])
                with self.db.transaction() as conn:
                    self.outbox.confirm(conn, row)
                    self._audit(row, "confirmed", row.payload["platform_id"], conn=conn)
                return Delivery("delivered", row.payload["platform_id"])
            return Delivery("delivered", self._sync_obligation(writer, row))
        except RetryableError as exc:
            return self._retry_or_park(row, exc)
        except PlatformError as exc:
            log.warning("write %s parked: %s", row.reference, exc.reason)
            self.outbox.park(row, exc.reason)
            self._audit(row, "dead_letter", exc.reason)
            return Delivery("parked", exc.reason)

    def _sync_obligation(self, writer: PlatformWriter, row: OutboxRow) -> str:
        platform_id, form_id = self.ledger.platform_ids(row.tenant, row.platform, row.reference)
        write = obligation_write(row.reference, row.payload, platform_id, form_id)
        result = writer.sync_obligation(write)
        with self.db.transaction() as conn:
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
        return result.platform_id or ""

    def _withdraw_stale_reminders(self, conn: sqlite3.Connection, row: OutboxRow) -> None:
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

        def addressee(reminder: sqlite3.Row) -> str | None:
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
            conn.execute(
                "DELETE FROM outbox WHERE tenant = ? AND platform = ? AND reference = ? AND state = 'pending'",
                (row.tenant, row.platform, reminder["reference"]),
            )
            if reminder["platform_id"]:
                self.outbox.put(
                    conn,
                    row.tenant,
                    row.platform,
                    f"{reminder['reference']}:withdraw",
                    "reminder_withdrawal",
                    "withdraw",
                    {"platform_id": reminder["platform_id"]},
                )

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
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE reminders SET platform_id = ? WHERE tenant = ? AND platform = ? AND reference = ?",
                (notification_id, row.tenant, row.platform, row.reference),
            )
            self.outbox.confirm(conn, row)
            self._audit(row, "confirmed", notification_id, conn=conn)
        return notification_id

    def _retry_or_park(self, row: OutboxRow, exc: RetryableError) -> Delivery:
        delivery = self.config.delivery
        if row.attempts + 1 >= delivery.max_attempts:
            reason = f"gave up after {row.attempts + 1} attempts: {exc.reason}"
            self.outbox.park(row, reason)
            self._audit(row, "dead_letter", reason)
            return Delivery("parked", reason)
        delay = min(delivery.backoff_seconds * (2**row.attempts), delivery.backoff_max_seconds)
        if exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        now = self.clock()
        self.outbox.retry_later(row, exc.reason, delay, now)
        self._audit(row, "retry_scheduled", exc.reason)
        return Delivery("retrying", exc.reason, now + timedelta(seconds=delay))

    def _audit(self, row: OutboxRow, outcome: str, detail: str, conn: Any = None) -> None:
        if self.observe is not None:  # every delivery ends in exactly one audited outcome
            self.observe(row.platform, outcome, time.monotonic() - self._started)
        sql = "INSERT INTO audit (at, tenant, platform, reference, action, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)"
        params = (utc_now_text(), row.tenant, row.platform, row.reference, row.action, outcome, detail[:500])
        if conn is not None:
            conn.execute(sql, params)
        else:
            with self.db.transaction() as own:
                own.execute(sql, params)


def obligation_write(
    reference: str, payload: dict[str, Any], platform_id: str | None, form_id: str | None
) -> ObligationWrite:
    return ObligationWrite(
        reference=reference,
        open=bool(payload["open"]),
        kind=payload["kind"],
        case_id=payload.get("case_id"),
        assignee_id=payload["assignee_id"],
        team_id=payload.get("team_id"),
        due_date=date.fromisoformat(payload["due_date"]),
        title=payload["title"],
        notes=payload["notes"],
        incoming_on=date.fromisoformat(payload["incoming_on"]),
        form=tuple((str(k), str(v)) for k, v in payload.get("form", [])),
        platform_id=platform_id,
        form_id=form_id,
        supervisor_id=payload.get("supervisor_id"),
        met=bool(payload.get("met")),
    )
