"""Writing imported and corrective events into the inbox, many to a transaction.

The inbox's own `accept` commits each webhook before it is answered; an extract of a million rows needs the same
rows written thousands to a commit instead, each batch its own short transaction so webhooks still get in.
Rows are the same as a webhook's (the processor cannot tell them apart) plus their `source`.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from connector.pipeline.inbox import subject_keys
from connector.store.database import Database, utc_now_text
from connector.store.engines.base import Connection
from connector.store.event_codec import event_from_json, event_to_json, utc_position
from rules.events import Event

BATCH_ROWS = 5000


@dataclass(frozen=True)
class Prepared:
    """An event ready for the inbox: its id, and its serialised form and subjects (computed once)."""

    webhook_id: str
    type_name: str
    occurred_at: str
    event_json: str
    subjects: str  # JSON list

    @classmethod
    def of(cls, webhook_id: str, event: Event) -> Prepared:
        return cls(
            webhook_id,
            event.type_name,
            event.occurred_at.isoformat(),
            json.dumps(event_to_json(event), separators=(",", ":")),
            json.dumps(sorted(subject_keys(event))),
        )

    def event(self) -> Event:
        return event_from_json(json.loads(self.event_json))


# The inbox's unique index is keyed by hashed ids, so a big import writes all over it: with SQLite's default
# 2 MB page cache every batch rereads index pages from disk, and an import slows as the table grows.
IMPORT_CACHE_KIB = 64 * 1024


def store_events(
    db: Database, conn: Connection, tenant: str, platform: str, source: str, events: list[Prepared]
) -> int:
    """Insert each event unless held (a webhook id seen before stores nothing); returns how many were new."""
    db.engine.bulk_load_hint(conn, IMPORT_CACHE_KIB)
    now = utc_now_text()
    inserted = conn.executemany(
        "INSERT INTO inbox (tenant, platform, webhook_id, event_type, occurred_at, received_at,"
        " event, state, source) SELECT ?, ?, ?, ?, ?, ?, ?, 'pending', ? WHERE NOT EXISTS (SELECT 1 FROM"
        " compacted_webhooks WHERE tenant = ? AND platform = ? AND webhook_id = ?)"
        " ON CONFLICT (tenant, platform, webhook_id) DO NOTHING",
        [
            # A row whose event was compacted away is held already (pipeline/compaction.py).
            (tenant, platform, p.webhook_id, p.type_name, p.occurred_at, now, p.event_json, source, *held)
            for p in events
            for held in [(tenant, platform, p.webhook_id)]
        ],
    )
    stored = max(inserted.rowcount, 0)
    if stored:
        # Subjects of an event already held are already there: DO NOTHING keeps them once.
        # Each subject row carries the event's position, as webhook intake writes it: the kept folds read only
        # the events after a checkpoint by it.
        conn.executemany(
            "INSERT INTO event_subjects (seq, tenant, platform, subject, at) SELECT seq, tenant,"
            " platform, ?, ? FROM inbox WHERE tenant = ? AND platform = ? AND webhook_id = ? ON CONFLICT DO NOTHING",
            [
                (key, utc_position(p.occurred_at), tenant, platform, p.webhook_id)
                for p in events
                for key in json.loads(p.subjects)
            ],
        )
    return stored


class Spool:
    """Validated rows parked on disk until every row of the extract has passed (memory stays flat).

    A scratch SQLite file in the system's temporary folder: no journal, no fsync, deleted on close.
    """

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="connector-import-")
        self.conn = sqlite3.connect(Path(self._dir.name) / "spool.db", isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=OFF")
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute(
            "CREATE TABLE spool (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL,"
            " webhook_id TEXT NOT NULL, type_name TEXT NOT NULL, occurred_at TEXT NOT NULL,"
            " event TEXT NOT NULL, subjects TEXT NOT NULL)"
        )
        self.conn.execute("BEGIN")

    def add(self, kind: str, subject: str, prepared: Prepared) -> None:
        self.conn.execute(
            "INSERT INTO spool (kind, subject, webhook_id, type_name, occurred_at, event, subjects)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                kind,
                subject,
                prepared.webhook_id,
                prepared.type_name,
                prepared.occurred_at,
                prepared.event_json,
                prepared.subjects,
            ),
        )

    def seal(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.execute("CREATE INDEX spool_kind_subject ON spool (kind, subject)")

    def batches(self, kinds: tuple[str, ...], size: int = BATCH_ROWS) -> Iterator[list[Prepared]]:
        marks = ",".join("?" for _ in kinds)
        last = 0
        while True:
            rows = self.conn.execute(
                "SELECT seq, webhook_id, type_name, occurred_at, event, subjects FROM spool"
                # `+kind`: walk the rowid from `last`; the (kind, subject) index would sort every row each batch.
                f" WHERE seq > ? AND +kind IN ({marks}) ORDER BY seq LIMIT ?",
                (last, *kinds, size),
            ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [Prepared(*row[1:]) for row in rows]

    def by_subject(self, kind: str) -> Iterator[tuple[str, list[Prepared]]]:
        """Each subject's rows of one kind, one subject at a time."""
        current: str | None = None
        group: list[Prepared] = []
        for row in self.conn.execute(
            "SELECT subject, webhook_id, type_name, occurred_at, event, subjects FROM spool WHERE kind = ?"
            " ORDER BY subject, seq",
            (kind,),
        ):
            if row[0] != current and current is not None:
                yield current, group
                group = []
            current = row[0]
            group.append(Prepared(*row[1:]))
        if current is not None:
            yield current, group

    def has(self, kind: str, subject: str) -> bool:
        found = self.conn.execute(
            "SELECT 1 FROM spool WHERE kind = ? AND subject = ? LIMIT 1", (kind, subject)
        )
        return found.fetchone() is not None

    def close(self) -> None:
        self.conn.close()
        self._dir.cleanup()


def write_batches(
    db: Database, tenant: str, platform: str, source: str, batches: Iterator[list[Prepared]]
) -> int:
    stored = 0
    for batch in batches:
        with db.transaction() as conn:
            stored += store_events(db, conn, tenant, platform, source, batch)
    return stored
