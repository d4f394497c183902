"""Time-driven work, run as of a given date: the reminder ladder, overdue marks, and rule-dated reminders.

Each open obligation climbs its tenant's ladder for its kind (connector/config/ladder.py): every rung is an
offset from the due date and a recipient. A tick sends the rungs of the latest offset already reached and not
yet sent, so a tick after missed days catches up with the rung that is current, never with stale ones (a
"due in a week" the day after the due date). A rung whose recipient nobody holds (no supervisor known) is
skipped. References are deterministic and name the rung, the due date and the recipient, so a repeated tick or
a retried write never makes a second notification, and a moved due date or a new recipient earns a fresh one.
A live reminder whose text no longer matches its obligation (its rules changed, not its date or recipient) is
corrected (pipeline/reminder_texts.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, NamedTuple, TypeAlias

from connector.config import Config
from connector.config.ladder import Rung
from connector.pipeline.failures import record_failures
from connector.pipeline.inbox import Inbox
from connector.pipeline.ladder import Chain, current_rungs, describe, rung_message, why
from connector.pipeline.outbox import Outbox
from connector.pipeline.reminder_texts import Correction, Said, apply, corrections, digest
from connector.pipeline.tick_rows import (
    already_sent,
    open_due_by,
    open_with_dated_reminders,
    said_for,
    still_as_read,
)
from connector.store.database import Database, utc_now_text
from connector.store.engines.base import Connection, Row

log = logging.getLogger(__name__)
# Obligations per tick transaction: short enough that a webhook waiting for the write lock waits milliseconds.
TICK_SLICE = 2_000
# Writes (overdue marks and reminders) per transaction: a commit's pages are written and synced while the lock
# is held, and 2,000 rows' worth took a webhook's wait past 100 ms.
TICK_WRITES = 250
RUNG_CACHE = 100_000  # (tenant, kind, due date, day) keys kept between rows: bounded, cleared when full


class _Due(NamedTuple):
    """What the obligations of one tenant, kind and due date share on a day."""

    due: date
    compact: str  # the due date as a reminder's reference spells it
    rungs: tuple[tuple[Rung, str], ...]  # the rungs current on the day, each with its tag
    ladder: tuple[Rung, ...]


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
    corrections: list[Correction] = field(default_factory=list)

    def flush(self, conn: Connection, outbox: Outbox) -> None:
        conn.executemany(
            "UPDATE obligations SET overdue_since = ? WHERE tenant = ? AND platform = ? AND reference = ?",
            self.overdue,
        )
        conn.executemany(
            "INSERT INTO reminders (tenant, platform, reference, obligation_reference, worker_id, show_on,"
            " escalation, created_at, due_date, recipient, said, rung) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            self.reminders,
        )
        outbox.put_many(conn, self.outbox)
        for correction in self.corrections:
            apply(conn, outbox, correction)
        self.overdue, self.reminders, self.outbox, self.corrections = [], [], [], []

    def extend(self, other: _Writes) -> None:
        self.overdue += other.overdue
        self.reminders += other.reminders
        self.outbox += other.outbox
        self.added += other.added
        self.corrections += other.corrections

    def give_back(self, sent: set[tuple[str, str, str]]) -> None:
        sent.difference_update(self.added)
        self.added = []


Key: TypeAlias = tuple[str, str, str]  # (tenant, platform, reference)
_Work: TypeAlias = "Callable[[_Writes, Row, set[Key]], tuple[int, int, int]]"


_Decided: TypeAlias = "tuple[Row, _Writes, tuple[int, int, int]]"  # a row, its writes, its counts


def _parts(decided: list[_Decided], most: int) -> list[list[_Decided]]:
    """The slice's rows in parts of at most `most` writes each (a row's writes stay together), at least one."""
    parts: list[list[_Decided]] = [[]]
    held = 0
    for item in decided:
        size = len(item[1].overdue) + len(item[1].reminders) + len(item[1].corrections)
        if held + size > most and held:
            parts.append([])
            held = 0
        parts[-1].append(item)
        held += size
    return parts


def _key(row: Row) -> Key:
    return row["tenant"], row["platform"], row["reference"]


def _sum(first: tuple[int, int, int], *more: tuple[int, int, int]) -> tuple[int, int, int]:
    a, b, c = first
    for x, y, z in more:
        a, b, c = a + x, b + y, c + z
    return a, b, c


class Scheduler:
    def __init__(self, db: Database, config: Config) -> None:
        self.db = db
        self.config = config
        self.outbox = Outbox(db)
        self.inbox = Inbox(db)
        self._rungs: dict[tuple[str, str, str, date], _Due] = {}
        self._live: dict[Key, list[Said]] = {}  # the slice's reminders that kept what they said

    def tick(self, as_of: date) -> TickCounts:
        """Queue the day's rungs, overdue marks and rule-dated reminders, a slice of `TICK_SLICE` obligations at
        a time: each slice is read and decided outside the write lock and its writes committed `TICK_WRITES` at
        a time, so webhooks never wait long for the lock, and memory holds a slice, not the ledger. A row
        whose deciding fails is logged (references only) and recorded in `failures`, and the others go on."""
        totals = (0, 0, 0)
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
        chain = Chain(self.inbox)
        # What failed before (cleared when it now succeeds): read once, so a row costs no query of its own.
        failed_before = {
            (r["tenant"], r["platform"], r["subject"])
            for r in self.db.query("SELECT tenant, platform, subject FROM failures WHERE stage = 'tick'")
        }

        def row_work(writes: _Writes, row: Row, sent: set[Key]) -> tuple[int, int, int]:
            return self._tick_row(writes, row, as_of, chain, sent)

        for rows in open_due_by(self.db.conn, as_of + timedelta(days=ahead), TICK_SLICE):
            totals = _sum(totals, self._slice(rows, row_work, failed_before))

        def dated_work(writes: _Writes, row: Row, sent: set[Key]) -> tuple[int, int, int]:
            return self._dated_reminder(writes, row, as_of, sent), 0, 0

        for rows in open_with_dated_reminders(self.db.conn, TICK_SLICE):
            totals = _sum(totals, self._slice(rows, dated_work, failed_before))
        return TickCounts(*totals)

    def _slice(self, rows: list[Row], work: _Work, failed_before: set[Key]) -> tuple[int, int, int]:
        """Decide the slice from reads alone, then write what it decided in short transactions; if one fails,
        each of its rows' writes again in a savepoint of its own, so one bad row spoils only itself."""
        sent, self._live = said_for(self.db.conn, rows)
        decided, errors = self._decide(rows, work, set(sent))
        # A reminder queued before under another obligation (a platform record taken over) is never sent twice.
        again = already_sent(self.db.conn, [key for _, writes, _ in decided for key in writes.added])
        if again:
            decided, errors = self._decide(rows, work, sent | again)
        totals = (0, 0, 0)
        parts = _parts(decided, TICK_WRITES)
        for n, part in enumerate(parts):
            # The rows that failed to decide are recorded with the last part.
            totals = _sum(totals, self._write(part, errors if n == len(parts) - 1 else {}, failed_before))
        return totals

    def _write(
        self, part: list[_Decided], errors: dict[Key, str], failed_before: set[Key]
    ) -> tuple[int, int, int]:
        """One transaction for the part's writes; if it fails, each row's again in a savepoint of its own."""
        rows = [row for row, _, _ in part]
        # Only the rows with something to write are read again under the lock (most rows on most days have
        # nothing: reading them all again was most of a part's time in the lock), and a part with nothing to
        # write or record takes no lock at all.
        writing = [row for row, writes, _ in part if writes.overdue or writes.reminders or writes.corrections]
        if not writing and not errors and not any(_key(row) in failed_before for row in rows):
            return (0, 0, 0)
        try:
            with self.db.transaction() as conn:
                current = still_as_read(conn, writing)
                part = [decided for decided in part if _key(decided[0]) in current]
                merged = _Writes()
                for _, writes, _ in part:
                    merged.extend(writes)
                merged.flush(conn, self.outbox)
                self._record(conn, rows, errors, failed_before)
            return _sum((0, 0, 0), *(counts for _, _, counts in part))
        except Exception:
            if self.db.conn.in_transaction:
                raise  # inside a caller's transaction: nothing of ours to roll back alone
        totals = (0, 0, 0)
        with self.db.transaction() as conn:
            for row, writes, counts in part:
                failure = self._isolated(conn, row, writes)
                if failure is None:
                    totals = _sum(totals, counts)
                else:
                    errors[_key(row)] = failure
            self._record(conn, rows, errors, failed_before)
        return totals

    def _decide(self, rows: list[Row], work: _Work, sent: set[Key]) -> tuple[list[_Decided], dict[Key, str]]:
        decided: list[_Decided] = []
        errors: dict[Key, str] = {}
        for row in rows:
            writes = _Writes()
            try:
                counts = work(writes, row, sent)
            except Exception as exc:
                writes.give_back(sent)
                log.exception("tick: obligation %s failed", row["reference"])
                errors[_key(row)] = f"{type(exc).__name__}: {exc}"
                continue
            decided.append((row, writes, counts))
        return decided, errors

    def _record(
        self,
        conn: Connection,
        rows: list[Row],
        errors: dict[Key, str],
        failed_before: set[Key],
    ) -> None:
        """Keep the rows that failed in `failures`, and clear those that failed before and now succeeded."""
        by_platform: dict[tuple[str, str], dict[str, str]] = {}
        for (tenant, platform, reference), reason in errors.items():
            by_platform.setdefault((tenant, platform), {})[reference] = reason
        for (tenant, platform), failed in by_platform.items():
            record_failures(conn, tenant, platform, "tick", [], failed)
        cleared = [key for row in rows if (key := _key(row)) in failed_before and key not in errors]
        conn.executemany(
            "DELETE FROM failures WHERE tenant = ? AND platform = ? AND stage = 'tick' AND subject = ?",
            cleared,
        )
        failed_before.difference_update(cleared)

    def _isolated(self, conn: Connection, row: Row, writes: _Writes) -> str | None:
        """One row's writes in a savepoint of their own; the reason when they fail."""
        conn.execute("SAVEPOINT tick_row")
        try:
            writes.flush(conn, self.outbox)
        except Exception as exc:
            conn.execute("ROLLBACK TO tick_row")
            conn.execute("RELEASE tick_row")
            log.exception("tick: obligation %s failed", row["reference"])
            return f"{type(exc).__name__}: {exc}"
        conn.execute("RELEASE tick_row")
        return None

    def _due_on(self, tenant: str, kind: str, due_date: str, as_of: date) -> _Due:
        """What every obligation of a tenant, kind and due date shares in a tick, worked out once (a ledger of
        half a million rows has a few thousand such triples)."""
        key = (tenant, kind, due_date, as_of)
        found = self._rungs.get(key)
        if found is None:
            if len(self._rungs) > RUNG_CACHE:
                self._rungs.clear()
            due = date.fromisoformat(due_date)
            ladder = self.config.ladder(tenant, kind)
            current = tuple((rung, rung.tag) for rung in current_rungs(ladder, due, as_of))
            found = self._rungs[key] = _Due(due, f"{due:%Y%m%d}", current, ladder)
        return found

    def _tick_row(
        self,
        writes: _Writes,
        row: Row,
        as_of: date,
        chain: Chain,
        sent: set[tuple[str, str, str]],
    ) -> tuple[int, int, int]:
        reminders = overdue = escalations = 0
        tenant_id, platform, assignee = row["tenant"], row["platform"], row["assignee_id"]
        tenant = self.config.tenants.get(tenant_id)
        if tenant is None:
            return 0, 0, 0
        on = self._due_on(tenant_id, row["kind"], row["due_date"], as_of)
        due = on.due
        if due < as_of and row["overdue_since"] is None:
            marked = (due + timedelta(days=1)).isoformat()
            writes.overdue.append((marked, tenant_id, platform, row["reference"]))
            overdue += 1
        for rung, tag in on.rungs:
            worker = chain.recipient(tenant_id, platform, rung.to, assignee)
            if worker is None:
                continue  # nobody holds that rung (no supervisor known): `explain` says so
            reference = f"{tenant.reference_prefix}:reminder:{row['platform_id']}:{tag}:{on.compact}:{worker}"
            if (tenant_id, platform, reference) in sent:
                continue  # most rows on most days: the current rung went out before
            message = rung_message(rung, row["kind"], row["case_id"], due, assignee, why(row["rules"]))
            show_on = due + timedelta(days=rung.offset_days)
            what = (message, rung.escalation, rung.to, tag)
            if self._queue(writes, sent, row, reference, worker, show_on, as_of, *what):
                if rung.escalation:
                    escalations += 1
                else:
                    reminders += 1
        if live := self._live.get((tenant_id, platform, row["reference"])):
            writes.corrections += corrections(row, live, on.ladder, chain, as_of)
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
        rung: str | None = None,
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
                digest(message),
                rung,  # None for a dated reminder: it cites no rule, so it is never corrected
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
