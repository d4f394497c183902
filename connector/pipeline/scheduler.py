"""Time-driven work, run as of a given date: reminders before a due date, overdue marks and escalations.

Reminders go out once per obligation and due date (a moved due date earns a fresh one); escalations go to the
supervisor of the worker whose clock it is, once per due date. References are deterministic, so a repeated tick
or a retried write never makes a second notification.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from connector.config import Config
from connector.pipeline.facts import fold_worker
from connector.pipeline.failures import record_failures
from connector.pipeline.inbox import Inbox
from connector.pipeline.outbox import Outbox
from connector.store.database import Database, utc_now_text

log = logging.getLogger(__name__)

LABELS = {
    "case_supervision": "Case supervision",
    "personal_supervision": "Personal supervision",
    "group_supervision": "Group supervision",
    "supervision_agreement": "The supervision agreement",
    "practice_observation": "A practice observation",
    "team_brief": "The team brief",
    "fsm_group_supervision": "FSM group supervision",
    "supervision_record": "The supervision record",
    "dip_sample": "A dip sample",
    "agenda": "The supervision agenda",
}


@dataclass(frozen=True)
class TickCounts:
    reminders: int = 0
    overdue: int = 0
    escalations: int = 0


def describe(kind: str, case_id: str | None) -> str:
    label = LABELS.get(kind, kind.replace("_", " ").capitalize())
    return f"{label} for person {case_id}" if case_id else label


class Scheduler:
    def __init__(self, db: Database, config: Config) -> None:
        self.db = db
        self.config = config
        self.outbox = Outbox(db)
        self.inbox = Inbox(db)

    def tick(self, as_of: date) -> TickCounts:
        """Queue the day's reminders, overdue marks and escalations. Each obligation row is its own savepoint:
        one row's error is logged (references only) and recorded in `failures`, and the others go on."""
        totals = [0, 0, 0]
        days_before = self.config.reminders.days_before
        rows = self.db.query(
            "SELECT * FROM obligations WHERE status = 'open' AND platform_id IS NOT NULL AND due_date <= ?",
            ((as_of + timedelta(days=days_before)).isoformat(),),
        )
        with self.db.transaction() as conn:
            for row in rows:
                counts = self._isolated(conn, row, lambda r: self._tick_row(conn, r, as_of, days_before))
                totals = [a + b for a, b in zip(totals, counts, strict=True)]
            dated = conn.execute(
                "SELECT * FROM obligations WHERE status = 'open' AND platform_id IS NOT NULL AND form LIKE ?",
                ('%"reminder_on"%',),
            ).fetchall()
            for row in dated:
                totals[0] += self._isolated(
                    conn, row, lambda r: (self._dated_reminder(conn, r, as_of), 0, 0)
                )[0]
        return TickCounts(*totals)

    def _isolated(
        self,
        conn: sqlite3.Connection,
        row: sqlite3.Row,
        work: Callable[[sqlite3.Row], tuple[int, int, int]],
    ) -> tuple[int, int, int]:
        conn.execute("SAVEPOINT tick_row")
        try:
            counts = work(row)
        except Exception as exc:
            conn.execute("ROLLBACK TO tick_row")
            conn.execute("RELEASE tick_row")
            log.exception("tick: obligation %s failed", row["reference"])
            record_failures(
                conn,
                row["tenant"],
                row["platform"],
                "tick",
                [],
                {row["reference"]: f"{type(exc).__name__}: {exc}"},
            )
            return 0, 0, 0
        conn.execute("RELEASE tick_row")
        record_failures(conn, row["tenant"], row["platform"], "tick", [row["reference"]], {})
        return counts

    def _tick_row(
        self, conn: sqlite3.Connection, row: sqlite3.Row, as_of: date, days_before: int
    ) -> tuple[int, int, int]:
        reminders = overdue = escalations = 0
        tenant = self.config.tenants.get(row["tenant"])
        if tenant is None:
            return 0, 0, 0
        due = date.fromisoformat(row["due_date"])
        what = describe(row["kind"], row["case_id"])
        reference = f"{tenant.reference_prefix}:reminder:{row['platform_id']}:due-{days_before}:{due:%Y%m%d}:{row['assignee_id']}"
        show_on = due - timedelta(days=days_before)
        message = f"{what} is due on {due.isoformat()}."
        if self._queue(conn, row, reference, row["assignee_id"], show_on, as_of, message, escalation=False):
            reminders += 1
        if due >= as_of:
            return reminders, overdue, escalations
        if row["overdue_since"] is None:
            conn.execute(
                "UPDATE obligations SET overdue_since = ? WHERE tenant = ? AND platform = ? AND reference = ?",
                (
                    (due + timedelta(days=1)).isoformat(),
                    row["tenant"],
                    row["platform"],
                    row["reference"],
                ),
            )
            overdue += 1
        if not self.config.reminders.escalate:
            return reminders, overdue, escalations
        manager = manager_of(self.inbox, row["tenant"], row["platform"], row["holder"]) or row["assignee_id"]
        reference = f"{tenant.reference_prefix}:overdue:{row['platform_id']}:{due:%Y%m%d}:{manager}"
        message = f"Overdue: {what[0].lower() + what[1:]} was due on {due.isoformat()} (assigned to worker {row['assignee_id']})."
        if self._queue(conn, row, reference, manager, as_of, as_of, message, escalation=True):
            escalations += 1
        return reminders, overdue, escalations

    def _dated_reminder(self, conn: sqlite3.Connection, row: sqlite3.Row, as_of: date) -> int:
        """A reminder a rule dates itself (LINC-PO: 30 September if no observation is done yet), once."""
        tenant = self.config.tenants.get(row["tenant"])
        on = dict((k, v) for k, v in json.loads(row["form"] or "[]")).get("reminder_on")
        if tenant is None or on is None or date.fromisoformat(on) > as_of:
            return 0
        due = date.fromisoformat(row["due_date"])
        reference = f"{tenant.reference_prefix}:reminder:{row['platform_id']}:on-{on.replace('-', '')}:{row['assignee_id']}"
        message = f"{describe(row['kind'], row['case_id'])} is due on {due.isoformat()}; none has been recorded yet."
        return int(
            self._queue(
                conn,
                row,
                reference,
                row["assignee_id"],
                date.fromisoformat(on),
                as_of,
                message,
                escalation=False,
            )
        )

    def _queue(
        self,
        conn: sqlite3.Connection,
        row: sqlite3.Row,
        reference: str,
        worker_id: str,
        show_on: date,
        as_of: date,
        message: str,
        escalation: bool,
    ) -> bool:
        # Never dated before the day it is queued: a date already past is shown from today instead.
        show_on = max(show_on, as_of)
        cursor = conn.execute(
            "INSERT OR IGNORE INTO reminders (tenant, platform, reference, obligation_reference, worker_id, show_on,"
            " escalation, created_at, due_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row["tenant"],
                row["platform"],
                reference,
                row["reference"],
                worker_id,
                show_on.isoformat(),
                int(escalation),
                utc_now_text(),
                row["due_date"],
            ),
        )
        if cursor.rowcount == 0:
            return False
        self.outbox.put(
            conn,
            row["tenant"],
            row["platform"],
            reference,
            "reminder",
            "send",
            {
                "worker_id": worker_id,
                "platform_id": row["platform_id"],
                "case_id": row["case_id"],
                "show_on": show_on.isoformat(),
                "due_date": row["due_date"],
                "message": message,
                "escalation": escalation,
            },
        )
        return True


def manager_of(inbox: Inbox, tenant: str, platform: str, holder: str) -> str | None:
    """Who gets the escalation for a holder's obligation: the holder's current supervisor, if known."""
    if holder == "-":
        return None
    worker = fold_worker(holder, inbox.events_about(tenant, platform, f"worker:{holder}"))
    return None if worker is None else worker.supervisor_id
