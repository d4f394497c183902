"""Sharing the background work between several processes on one PostgreSQL database.

On SQLite one process processes events (store/worker_lock.py), so its turns let everything through.

- Turns (`turn`): a session-level advisory lock per kind of work. Processing events and re-evaluating take the
  `processing` turn: folding and the rules run outside the write transaction, and an owner's obligations read
  other subjects' folds (a case reads its workers'), so two processes evaluating at once could each diff from
  a fold the other is changing. The daily run takes the `daily` turn and re-checks `last_tick` inside it, so a
  day's re-evaluation runs once. PostgreSQL drops a session's advisory locks when its connection ends, so a
  process killed mid-turn never leaves the turn taken.
- Leases (`claim_outbox`): a write is sent outside any transaction (it waits on the platform), so its row
  cannot stay locked while in flight; `lease_until` marks it taken until then. Rows are claimed with
  `FOR UPDATE SKIP LOCKED`, so two processes never claim one row and never wait on each other; a process
  killed mid-send leaves a lease that simply expires and the row is sent again (writes find-or-create by
  reference, so a resend never makes a second record). SQLite takes leases too: its delivery runs in a process
  of its own (`service.delivery_process`) beside the one that processes events, and a write in flight must not
  look unsent to the other (`Outbox.drop_unsent`). Its write transaction is the whole database's, so it needs
  no row locks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from connector.store.database import Database
from connector.store.engines.base import Row

# Long enough for one delivery round (each write has its own timeout), short enough that a killed process's
# writes go out again within a minute.
LEASE_SECONDS = 60.0


def _key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for a name, the same in every process."""
    return int.from_bytes(
        hashlib.blake2b(f"connector:{name}".encode(), digest_size=8).digest(), "big", signed=True
    )


def shared(db: Database) -> bool:
    """True when other processes may work on this database at the same time (PostgreSQL)."""
    return db.dialect == "postgresql"


@contextmanager
def turn(db: Database, name: str, wait: bool = False) -> Iterator[bool]:
    """Hold the `name` turn for the block; yields False (and holds nothing) when another process has it and
    `wait` is False. Re-entrant within one thread (PostgreSQL counts a session's locks)."""
    if not shared(db):
        yield True
        return
    conn, key = db.conn, _key(name)
    if wait:
        conn.execute("SELECT pg_advisory_lock(?)", (key,))
        got = True
    else:
        got = bool(conn.execute("SELECT pg_try_advisory_lock(?)", (key,)).fetchone()[0])
    try:
        yield got
    finally:
        if got:
            conn.execute("SELECT pg_advisory_unlock(?)", (key,))


def _text(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def claim_outbox(
    db: Database, where: str, params: list[object], limit: int, now: datetime, release: Iterable[int] = ()
) -> list[Row]:
    """Give back the rows of this process's last round (`release`: sent, confirmed or set to retry since), then
    claim up to `limit` outbox rows matching `where` (due, pending) that no other process holds, oldest first."""
    now_text, until = _text(now), _text(now + timedelta(seconds=LEASE_SECONDS))
    skip_locked = " FOR UPDATE SKIP LOCKED" if shared(db) else ""
    with db.transaction() as conn:
        conn.executemany("UPDATE outbox SET lease_until = NULL WHERE id = ?", [(i,) for i in sorted(release)])
        return sorted(
            conn.execute(
                "UPDATE outbox SET lease_until = ? WHERE id IN (SELECT id FROM outbox WHERE"
                f" {where} AND (lease_until IS NULL OR lease_until <= ?) ORDER BY id LIMIT ?{skip_locked})"
                " RETURNING *",
                (until, *params, now_text, limit),
            ).fetchall(),
            key=lambda row: int(row["id"]),
        )
