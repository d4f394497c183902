"""The inbox: accepted events, stored once per webhook id, which is also the event log facts are folded from."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from connector.pipeline.folds import position
from connector.store.database import Database, utc_now_text
from connector.store.engines.base import Connection, Row
from connector.store.event_codec import event_from_json, event_to_json
from rules.events import Event

# The states whose events facts are folded from; 'failed' and 'discarded' are left out.
FOLDED_STATES = "('pending', 'processed')"


@dataclass(frozen=True)
class InboxItem:
    seq: int
    tenant: str
    platform: str
    webhook_id: str
    event: Event


@dataclass(frozen=True)
class FailedEvent:
    seq: int
    tenant: str
    platform: str
    webhook_id: str
    event_type: str
    occurred_at: str
    failed_at: str
    reason: str


def subject_keys(event: Event) -> set[str]:
    """The subjects an event tells us about, as "case:<id>", "worker:<id>", "team:<id>"."""
    keys = {f"case:{c}" for c in event.case_ids()}
    keys |= {f"worker:{w}" for w in event.worker_ids()}
    keys |= {f"team:{t}" for t in event.team_ids()}
    return keys


def _held() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass
class _Accept:
    row: tuple[str, ...]
    subjects: list[str]
    at: str
    stored: bool = False
    done: bool = False
    error: Exception | None = None
    # Held from the start; its thread waits by acquiring it, and whoever commits its event (or hands it the
    # lead) releases it: each waiter is woken once, by name, not all of them for every commit.
    ready: threading.Lock = field(default_factory=_held)


class Inbox:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._group = threading.Lock()
        self._queue: list[_Accept] = []
        self._committing = False
        # Told once per commit that stored anything (the background work's wake-up): a group of webhooks
        # sharing a commit need one wake-up, not one each (a pipe write and a lock per webhook, on intake's path).
        self.on_stored: Callable[[], None] | None = None

    def accept(self, tenant: str, platform: str, webhook_id: str, event: Event) -> bool:
        """Store the event durably; False when this webhook id was accepted before (nothing is stored).

        Group commit: webhooks arriving together are written in one transaction, so they share one fsync.
        Each caller returns only once the transaction holding its event has committed.
        """
        request = _Accept(
            (
                tenant,
                platform,
                webhook_id,
                event.type_name,
                event.occurred_at.isoformat(),
                utc_now_text(),
                json.dumps(event_to_json(event), separators=(",", ":")),
            ),
            sorted(subject_keys(event)),
            position(event)[0],
        )
        with self._group:
            self._queue.append(request)
            leads = not self._committing
            self._committing = True
        if not leads:
            # Woken when a leader has committed this event, or has handed this caller the lead.
            request.ready.acquire()
        if not request.done:
            self._lead(request)
        if request.error is not None:
            raise request.error
        return request.stored

    def _lead(self, request: _Accept) -> None:
        """Commit everything queued so far (`request` included), wake those callers, and hand the lead to the
        first caller that queued meanwhile, if any."""
        with self._group:
            batch, self._queue = self._queue, []
        try:
            self._commit(batch)
            if self.on_stored is not None and any(waiting.stored for waiting in batch):
                self.on_stored()
        finally:
            for waiting in batch:
                if not waiting.done:  # only when the commit itself was interrupted
                    waiting.error, waiting.done = RuntimeError("the commit was interrupted"), True
            with self._group:
                successor = self._queue[0] if self._queue else None
                self._committing = successor is not None
            for waiting in batch:
                if waiting is not request:
                    waiting.ready.release()
            if successor is not None:
                successor.ready.release()

    def _commit(self, batch: list[_Accept]) -> None:
        try:
            self._write(batch)
        except Exception as exc:
            if len(batch) == 1:
                batch[0].stored, batch[0].error = False, exc
            else:
                # One event the store refuses must not fail the webhooks that happened to share its
                # transaction: each is written again in one of its own, so only the refused one is not answered.
                for request in batch:
                    self._commit([request])
        for request in batch:
            request.done = True

    def _write(self, batch: list[_Accept]) -> None:
        with self.db.transaction() as conn:
            for request in batch:
                # A webhook whose event was compacted away is a duplicate too (pipeline/compaction.py).
                cursor = conn.execute(
                    "INSERT INTO inbox (tenant, platform, webhook_id, event_type, occurred_at, received_at, event,"
                    " state) SELECT ?, ?, ?, ?, ?, ?, ?, 'pending' WHERE NOT EXISTS (SELECT 1 FROM"
                    " compacted_webhooks WHERE tenant = ? AND platform = ? AND webhook_id = ?)"
                    " ON CONFLICT (tenant, platform, webhook_id) DO NOTHING RETURNING seq",
                    (*request.row, *request.row[:3]),
                )
                returned = cursor.fetchall()
                request.stored = bool(returned)
                if request.stored:
                    seq = returned[0][0]
                    tenant, platform = request.row[0], request.row[1]
                    conn.executemany(
                        "INSERT INTO event_subjects (seq, tenant, platform, subject, at) VALUES (?, ?, ?, ?, ?)"
                        " ON CONFLICT (tenant, platform, subject, seq) DO NOTHING",
                        [(seq, tenant, platform, key, request.at) for key in request.subjects],
                    )

    def last_seq(self) -> int:
        """The seq of the latest event accepted (0: none yet), whichever process accepted it."""
        return int(self.db.scalar("SELECT MAX(seq) FROM inbox") or 0)

    def pending(self, limit: int = 200) -> list[InboxItem]:
        rows = self.db.query(
            "SELECT seq, tenant, platform, webhook_id, event FROM inbox WHERE state = 'pending' ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [_item(row) for row in rows]

    def events_about(self, tenant: str, platform: str, subject: str) -> list[Event]:
        """Every accepted event that mentions the subject, in no particular order (the fold sorts them).

        Failed and discarded events are left out: an event that cannot be processed must not stop every later
        fold of the same worker, case or team (it waits, listed, until an operator retries or discards it).
        """
        rows = self.db.query(
            "SELECT i.event FROM event_subjects s JOIN inbox i ON i.seq = s.seq"
            f" WHERE s.tenant = ? AND s.platform = ? AND s.subject = ? AND i.state IN {FOLDED_STATES}",
            (tenant, platform, subject),
        )
        return [event_from_json(json.loads(row["event"])) for row in rows]

    def events_to_fold(
        self,
        tenant: str,
        platform: str,
        subject: str,
        since: str | None,
        batch: frozenset[int],
        types: frozenset[str] | None = None,
    ) -> list[Event]:
        """The processed events about the subject (and those of the batch being processed) that occurred at or
        after `since` (a UTC position; None: all), in no particular order: what a fold of it is built from.
        `types`: only events of these types (those the subject's fold takes; None: all).

        Events still pending outside the batch are left for their own batch, which applies them to the kept
        state; failed and discarded ones are left out, as in `events_about`.
        """
        batch_clause = f" OR i.seq IN ({','.join(str(int(seq)) for seq in batch)})" if batch else ""
        params: list[object] = [tenant, platform, subject, since or ""]
        type_clause = ""
        if types is not None:
            type_clause = f" AND i.event_type IN ({', '.join('?' * len(types))})"
            params += sorted(types)
        rows = self.db.query(
            "SELECT i.event FROM event_subjects s JOIN inbox i ON i.seq = s.seq"
            " WHERE s.tenant = ? AND s.platform = ? AND s.subject = ? AND s.at >= ?"
            f" AND (i.state = 'processed'{batch_clause}){type_clause}",
            params,
        )
        return [event_from_json(json.loads(row["event"])) for row in rows]

    def subjects(self, tenant: str, platform: str, prefix: str) -> list[str]:
        """Every subject id of one type ("case", "worker", "team") the tenant's events ever mentioned."""
        # Each subject of the type once, from the index alone (a range, where LIKE, case-insensitive in SQLite,
        # scanned every subject of the tenant for each type; "<prefix>;" is the first text after every
        # "<prefix>:..." byte by byte, as both engines compare these columns), then one event of it found to be
        # folded: a worker or team is named by thousands of events, and a join read the inbox row of each.
        rows = self.db.query(
            "SELECT d.subject FROM (SELECT DISTINCT subject FROM event_subjects WHERE tenant = ? AND platform = ?"
            " AND subject >= ? AND subject < ?) d WHERE EXISTS (SELECT 1 FROM event_subjects s JOIN inbox i"
            " ON i.seq = s.seq WHERE s.tenant = ? AND s.platform = ? AND s.subject = d.subject"
            f" AND i.state IN {FOLDED_STATES})",
            (tenant, platform, f"{prefix}:", f"{prefix};", tenant, platform),
        )
        return [row["subject"].split(":", 1)[1] for row in rows]

    def mark_processed(self, conn: Connection, seqs: list[int]) -> None:
        now = utc_now_text()
        conn.executemany(
            "UPDATE inbox SET state = 'processed', processed_at = ?, error = NULL WHERE seq = ?",
            [(now, seq) for seq in seqs],
        )

    def mark_failed(self, seq: int, error: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE inbox SET state = 'failed', processed_at = ?, error = ? WHERE seq = ?",
                (utc_now_text(), error[:500], seq),
            )

    def set_pending(self, seq: int) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE inbox SET state = 'pending', error = NULL WHERE seq = ?", (seq,))

    def failed(self) -> list[FailedEvent]:
        rows = self.db.query(
            "SELECT seq, tenant, platform, webhook_id, event_type, occurred_at, processed_at, error FROM inbox"
            " WHERE state = 'failed' ORDER BY seq"
        )
        return [FailedEvent(*tuple(row)) for row in rows]

    def state_of(self, seq: int) -> tuple[str, str | None] | None:
        """(state, error) of one event, or None when there is no such event."""
        rows = self.db.query("SELECT state, error FROM inbox WHERE seq = ?", (seq,))
        return None if not rows else (rows[0]["state"], rows[0]["error"])

    def item(self, seq: int) -> InboxItem | None:
        rows = self.db.query(
            "SELECT seq, tenant, platform, webhook_id, event FROM inbox WHERE seq = ?", (seq,)
        )
        return _item(rows[0]) if rows else None

    def discard(self, seq: int) -> bool:
        """Set a failed event aside for good: kept for the audit trail, never folded; False if not failed."""
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE inbox SET state = 'discarded', processed_at = ? WHERE seq = ? AND state = 'failed'",
                (utc_now_text(), seq),
            )
        return cursor.rowcount == 1

    def count(self, state: str) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM inbox WHERE state = ?", (state,)) or 0)


def _item(row: Row) -> InboxItem:
    return InboxItem(
        seq=row["seq"],
        tenant=row["tenant"],
        platform=row["platform"],
        webhook_id=row["webhook_id"],
        event=event_from_json(json.loads(row["event"])),
    )
