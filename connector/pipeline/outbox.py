"""The outbox: writes the platform has not confirmed yet, one row per reference, plus dead letters.

A newer desired state for the same reference replaces the pending payload and bumps `version`; the dispatcher
deletes a row only if its version is still the one it sent, so nothing newer is ever dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.store.database import Database, utc_now_text
from connector.store.engines.base import Connection, Row
from connector.store.leases import claim_outbox


@dataclass(frozen=True)
class OutboxRow:
    id: int
    tenant: str
    platform: str
    reference: str
    item: str  # "obligation" or "reminder"
    action: str  # "create", "move", "withdraw", "send"
    payload: dict[str, Any]
    version: int
    state: str
    attempts: int
    next_attempt_at: str
    last_error: str | None
    updated_at: str
    # The payload its first create try sent, while the row is not confirmed (see note_first_sent).
    first_sent: dict[str, Any] | None = None


def _row(row: Row) -> OutboxRow:
    return OutboxRow(
        id=row["id"],
        tenant=row["tenant"],
        platform=row["platform"],
        reference=row["reference"],
        item=row["item"],
        action=row["action"],
        payload=json.loads(row["payload"]),
        version=row["version"],
        state=row["state"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        updated_at=row["updated_at"],
        first_sent=None if row["first_sent"] is None else json.loads(row["first_sent"]),
    )


OUTBOX_UPSERT = (
    "INSERT INTO outbox (tenant, platform, reference, item, action, payload, version, state, attempts,"
    " next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, 'pending', 0, ?, ?, ?)"
    " ON CONFLICT (tenant, platform, reference) DO UPDATE SET"
    # A create not yet confirmed stays a create whatever changes next; the writer decides by ids anyway.
    "  action = CASE WHEN outbox.action = 'create' AND excluded.action = 'move' THEN 'create'"
    "                ELSE excluded.action END,"
    "  payload = excluded.payload, version = outbox.version + 1, state = 'pending', attempts = 0,"
    "  next_attempt_at = excluded.next_attempt_at, last_error = NULL, updated_at = excluded.updated_at"
)


def encoded(
    writes: Iterable[tuple[str, str, str, str, str, dict[str, Any]]], now: str | None = None
) -> list[tuple[str, ...]]:
    """`OUTBOX_UPSERT`'s parameters for each (tenant, platform, reference, item, action, payload), due `now`
    (None: this moment)."""
    now = utc_now_text() if now is None else now
    return [
        (tenant, platform, reference, item, action, json.dumps(payload, separators=(",", ":"), sort_keys=True),
         now, now, now)
        for tenant, platform, reference, item, action, payload in writes
    ]  # fmt: skip


class Outbox:
    def __init__(self, db: Database) -> None:
        self.db = db
        # The rows this process's last delivery round leased (store/leases.py), given back next round.
        self._leased: list[int] = []

    def put(
        self,
        conn: Connection,
        tenant: str,
        platform: str,
        reference: str,
        item: str,
        action: str,
        payload: dict[str, Any],
    ) -> None:
        """Queue (or replace) the desired state of one reference; call inside the state change's transaction."""
        self.put_many(conn, [(tenant, platform, reference, item, action, payload)])

    def put_many(
        self, conn: Connection, writes: Iterable[tuple[str, str, str, str, str, dict[str, Any]]]
    ) -> None:
        """`put` for many references in one statement (the daily tick queues thousands)."""
        self.put_encoded(conn, encoded(writes))

    def put_encoded(self, conn: Connection, rows: Sequence[tuple[str, ...]]) -> None:
        """`put_many` of writes `encoded` already (a prepared diff encodes them before the write lock)."""
        conn.executemany(OUTBOX_UPSERT, rows)

    def due(self, now: datetime, limit: int = 100, skip: Iterable[tuple[str, str]] = ()) -> list[OutboxRow]:
        """Pending rows due by `now`, oldest first, leaving out the (tenant, platform) pairs in `skip` (those
        paused after a 429), so their rows never fill the batch and hold up everyone else's."""
        where = "state = 'pending' AND next_attempt_at <= ?"
        params: list[Any] = [now.astimezone(UTC).isoformat(timespec="milliseconds")]
        for tenant, platform in skip:
            where += " AND NOT (tenant = ? AND platform = ?)"
            params += [tenant, platform]
        rows = claim_outbox(self.db, where, params, limit, now.astimezone(UTC), release=self._leased)
        self._leased = [int(r["id"]) for r in rows]
        return [_row(r) for r in rows]

    def next_due_at(self) -> str | None:
        value = self.db.scalar("SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'")
        return None if value is None else str(value)

    def confirm(self, conn: Connection, row: OutboxRow) -> bool:
        """Remove the row if nothing newer replaced it meanwhile; True when removed."""
        cursor = conn.execute("DELETE FROM outbox WHERE id = ? AND version = ?", (row.id, row.version))
        return cursor.rowcount == 1

    def retry_later(self, row: OutboxRow, error: str, delay_seconds: float, now: datetime) -> None:
        at = (now + timedelta(seconds=delay_seconds)).astimezone(UTC).isoformat(timespec="milliseconds")
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, updated_at = ?"
                " WHERE id = ? AND version = ?",
                (at, error[:500], utc_now_text(), row.id, row.version),
            )

    def note_first_sent(self, row: OutboxRow) -> None:
        """Keep the payload a create is about to send, before it is sent (the process may die with it in
        flight): the first one only, whatever replaces the payload later, until the row is confirmed."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE outbox SET first_sent = COALESCE(first_sent, ?) WHERE id = ?",
                (json.dumps(row.payload, separators=(",", ":"), sort_keys=True), row.id),
            )

    def drop_unsent(self, conn: Connection, tenant: str, platform: str, reference: str) -> bool:
        """Drop a write that no longer fits, if nothing can have sent it: pending, never tried, and held by no
        process. One tried before, or claimed by a process (on PostgreSQL, another instance's lease, which may be
        mid-send or dead mid-send), may have reached the platform: it is left to finish, and what it made is
        undone from its confirmation."""
        cursor = conn.execute(
            "DELETE FROM outbox WHERE tenant = ? AND platform = ? AND reference = ? AND state = 'pending'"
            " AND attempts = 0 AND lease_until IS NULL",
            (tenant, platform, reference),
        )
        return bool(cursor.rowcount)

    def park(self, row: OutboxRow, error: str) -> None:
        """Make it a dead letter: kept with its reason until an operator retries it."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ?, updated_at = ?"
                " WHERE id = ? AND version = ?",
                (error[:500], utc_now_text(), row.id, row.version),
            )

    def dead_letters(self) -> list[OutboxRow]:
        return [_row(r) for r in self.db.query("SELECT * FROM outbox WHERE state = 'dead' ORDER BY id")]

    def get(self, row_id: int) -> OutboxRow | None:
        rows = self.db.query("SELECT * FROM outbox WHERE id = ?", (row_id,))
        return _row(rows[0]) if rows else None

    def retry(self, row_id: int) -> bool:
        """Send a dead letter again at the next delivery round; False if there is no such dead letter."""
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ?"
                " WHERE id = ? AND state = 'dead'",
                (utc_now_text(), utc_now_text(), row_id),
            )
        return cursor.rowcount == 1

    def count(self, state: str) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM outbox WHERE state = ?", (state,)) or 0)
