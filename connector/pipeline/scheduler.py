"""Time-driven work, run as of a given date: the reminder ladder, overdue marks, and rule-dated reminders.

Each open obligation climbs its tenant's ladder for its kind (connector/config/ladder.py): every rung is an
offset from the due date and a recipient. A tick sends the rungs of the latest offset already reached and not
yet sent, so a tick after missed days catches up with the rung that is current, never with stale ones (a
"due in a week" the day after the due date). A rung whose recipient nobody holds (no supervisor known) is
skipped. References are deterministic and name the rung, the due date and the recipient, so a repeated tick or
a retried write never makes a second notification, and a moved due date or a new recipient earns a fresh one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from connector.config import Config
from connector.pipeline.failures import record_failures
from connector.pipeline.inbox import Inbox
from connector.pipeline.ladder import Chain, current_rungs, describe, rung_message, why
from connector.pipeline.outbox import Outbox
from connector.store.database import Database, utc_now_text
from connector.store.engines.base import Connection, Row

log = logging.getLogger(__name__)
# Obligations per tick transaction: short enough that a webhook waiting for the write lock waits milliseconds.
TICK_SLICE = 2_000


@dataclass(frozen=True)
class TickCounts:
    reminders: int = 0
    overdue: int = 0
    escalations: int = 0


@dataclass
class _Writes:
    """What a slice of the tick writes, gathered and written in one statement each (the tick queues thousands;
    a statement per row was most of its time). `added` are the reminder references it claimed in `sent`, given
    back when what it gathered is rolled back."""

    overdue: list[tuple[str, str, str, str]] = field(default_factory=list)
    reminders: list[tuple[Any, ...]] = field(default_factory=list)
    outbox: list[tuple[str, str, str, str, str, dict[str, Any]]] = field(default_factory=list)
    added: list[tuple[str, str, str]] = field(default_factory=list)

    def flush(self, conn: Connection, outbox: Outbox) -> None:
        conn.executemany(
            "UPDATE obligations SET overdue_since = ? WHERE tenant = ? AND platform = ? AND reference = ?",
            self.overdue,
        )
        conn.executemany(
            "INSERT INTO reminders (tenant, platform, reference, obligation_reference, worker_id, show_on,"
            " escalation, created_at, due_date, recipient) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            self.reminders,
        )
        outbox.put_many(conn, self.outbox)
        self.overdue, self.reminders, self.outbox = [], [], []

    def give_back(self, sent: set[tuple[str, str, str]]) -> None:
        sent.difference_update(self.added)
        self.added = []


class Scheduler:
    def __init__(self, db: Database, config: Config) -> None:
        self.db = db
        self.config = config
        self.outbox = Outbox(db)
        self.inbox = Inbox(db)

    def tick(self, as_of: date) -> TickCounts:
        """Queue the day's rungs, overdue marks and rule-dated reminders, in short transactions of
        `TICK_SLICE` obligations, so webhooks never wait long for the write lock. A slice that fails is done
        again row by row, each its own savepoint: one row's error is logged (references only) and recorded in
        `failures`, and the others go on."""
        totals = [0, 0, 0]
        ahead = max(
            [0]
            + [-rung.offset_days for rung in self.config.reminders.ladder]
            + [
                -rung.offset_days
                for tenant in self.config.tenants.values()
                for ladder in (tenant.ladders.default or (), *tenant.ladders.kinds.values())
                for rung in ladder
            ]
        )
        rows = self.db.query(
            "SELECT * FROM obligations WHERE status = 'open' AND platform_id IS NOT NULL AND due_date <= ?",
            ((as_of + timedelta(days=ahead)).isoformat(),),
        )
        chain = Chain(self.inbox)
        # What failed before (cleared when it now succeeds) and which reminders went out already: read once,
        # so a row costs no query of its own unless it has something to write.
        failed_before = {
            (r["tenant"], r["platform"], r["subject"])
            for r in self.db.query("SELECT tenant, platform, subject FROM failures WHERE stage = 'tick'")
        }
        sent = {
            (r["tenant"], r["platform"], r["reference"])
            for r in self.db.query("SELECT tenant, platform, reference FROM reminders")
        }

        def row_work(writes: _Writes) -> Callable[[Row], tuple[int, int, int]]:
            return lambda r: self._tick_row(writes, r, as_of, chain, sent)

        for start in range(0, len(rows), TICK_SLICE):
            counts = self._slice(rows[start : start + TICK_SLICE], row_work, failed_before, sent)
            totals = [a + b for a, b in zip(totals, counts, strict=True)]
        dated = self.db.query(
            "SELECT * FROM obligations WHERE status = 'open' AND platform_id IS NOT NULL AND form LIKE ?",
            ('%"reminder_on"%',),
        )

        def dated_work(writes: _Writes) -> Callable[[Row], tuple[int, int, int]]:
            return lambda r: (self._dated_reminder(writes, r, as_of, sent), 0, 0)

        for start in range(0, len(dated), TICK_SLICE):
            totals[0] += self._slice(dated[start : start + TICK_SLICE], dated_work, failed_before, sent)[0]
        return TickCounts(*totals)

    def _slice(
        self,
        rows: list[Row],
        work: Callable[[_Writes], Callable[[Row], tuple[int, int, int]]],
        failed_before: set[tuple[str, str, str]],
        sent: set[tuple[str, str, str]],
    ) -> tuple[int, int, int]:
        """One transaction for the slice; if any row fails, the slice again with a savepoint per row."""
        writes = _Writes()
        try:
            with self.db.transaction() as conn:
                totals = [0, 0, 0]
                do = work(writes)
                for row in rows:
                    totals = [a + b for a, b in zip(totals, do(row), strict=True)]
                writes.flush(conn, self.outbox)
                self._clear_failures(conn, rows, failed_before)
            return totals[0], totals[1], totals[2]
        except Exception:
            writes.give_back(sent)
            if self.db.conn.in_transaction:
                raise  # inside a caller's transaction: nothing of ours to roll back alone
        totals = [0, 0, 0]
        with self.db.transaction() as conn:
            for row in rows:
                counts = self._isolated(conn, row, work, sent)
                totals = [a + b for a, b in zip(totals, counts, strict=True)]
        return totals[0], totals[1], totals[2]

    def _clear_failures(
        self, conn: Connection, rows: list[Row], failed_before: set[tuple[str, str, str]]
    ) -> None:
        cleared = [
            key
            for row in rows
            if (key := (row["tenant"], row["platform"], row["reference"])) in failed_before
        ]
        conn.executemany(
            "DELETE FROM failures WHERE tenant = ? AND platform = ? AND stage = 'tick' AND subject = ?",
            cleared,
        )
        failed_before.difference_update(cleared)

    def _isolated(
        self,
        conn: Connection,
        row: Row,
        work: Callable[[_Writes], Callable[[Row], tuple[int, int, int]]],
        sent: set[tuple[str, str, str]],
    ) -> tuple[int, int, int]:
        writes = _Writes()
        conn.execute("SAVEPOINT tick_row")
        try:
            counts = work(writes)(row)
            writes.flush(conn, self.outbox)
        except Exception as exc:
            conn.execute("ROLLBACK TO tick_row")
            conn.execute("RELEASE tick_row")
            writes.give_back(sent)
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
        self,
        writes: _Writes,
        row: Row,
        as_of: date,
        chain: Chain,
        sent: set[tuple[str, str, str]],
    ) -> tuple[int, int, int]:
        reminders = overdue = escalations = 0
        tenant = self.config.tenants.get(row["tenant"])
        if tenant is None:
            return 0, 0, 0
        due = date.fromisoformat(row["due_date"])
        if due < as_of and row["overdue_since"] is None:
            writes.overdue.append(
                ((due + timedelta(days=1)).isoformat(), row["tenant"], row["platform"], row["reference"])
            )
            overdue += 1
        for rung in current_rungs(self.config.ladder(row["tenant"], row["kind"]), due, as_of):
            worker = chain.recipient(row["tenant"], row["platform"], rung.to, row["assignee_id"])
            if worker is None:
                continue  # nobody holds that rung (no supervisor known): `explain` says so
            reference = (
                f"{tenant.reference_prefix}:reminder:{row['platform_id']}:{rung.tag}:{due:%Y%m%d}:{worker}"
            )
            message = rung_message(
                rung, row["kind"], row["case_id"], due, row["assignee_id"], why(row["rules"])
            )
            show_on = due + timedelta(days=rung.offset_days)
            if (row["tenant"], row["platform"], reference) in sent:
                continue
            if self._queue(
                writes, sent, row, reference, worker, show_on, as_of, message, rung.escalation, rung.to
            ):
                if rung.escalation:
                    escalations += 1
                else:
                    reminders += 1
        return reminders, overdue, escalations

    def _dated_reminder(self, writes: _Writes, row: Row, as_of: date, sent: set[tuple[str, str, str]]) -> int:
        """A reminder a rule dates itself (LINC-PO: 30 September if no observation is done yet), once."""
        tenant = self.config.tenants.get(row["tenant"])
        on = dict((k, v) for k, v in json.loads(row["form"] or "[]")).get("reminder_on")
        if tenant is None or on is None or date.fromisoformat(on) > as_of:
            return 0
        due = date.fromisoformat(row["due_date"])
        reference = f"{tenant.reference_prefix}:reminder:{row['platform_id']}:on-{on.replace('-', '')}:{row['assignee_id']}"
        if (row["tenant"], row["platform"], reference) in sent:
            return 0
        message = f"{describe(row['kind'], row['case_id'])} is due on {due.isoformat()}; none has been recorded yet."
        return int(
            self._queue(
                writes,
                sent,
                row,
                reference,
                row["assignee_id"],
                date.fromisoformat(on),
                as_of,
                message,
                escalation=False,
                recipient="assignee",
            )
        )

    def _queue(
        self,
        writes: _Writes,
        sent: set[tuple[str, str, str]],
        row: Row,
        reference: str,
        worker_id: str,
        show_on: date,
        as_of: date,
        message: str,
        escalation: bool,
        recipient: str,
    ) -> bool:
        """Gather one reminder and its send, once: `sent` holds every reference queued before (read at the
        tick's start) and those this tick claims, so a repeated tick or a second rung of one day adds none."""
        key = (row["tenant"], row["platform"], reference)
        if key in sent:
            return False
        sent.add(key)
        writes.added.append(key)
        # Never dated before the day it is queued: a date already past is shown from today instead.
        show_on = max(show_on, as_of)
        writes.reminders.append(
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
                recipient,
            )
        )
        writes.outbox.append(
            (
                row["tenant"],
                row["platform"],
                reference,
                "reminder",
                "send",
                {
                    "worker_id": worker_id,
                    "platform_id": row["platform_id"],
                    "case_id": row["case_id"],
                    "kind": row["kind"],
                    "show_on": show_on.isoformat(),
                    "due_date": row["due_date"],
                    "message": message,
                    "escalation": escalation,
                },
            )
        )
        return True
