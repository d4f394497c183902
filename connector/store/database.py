"""The store: one connection per thread, explicit transactions, numbered migrations, on SQLite or PostgreSQL.

The engine is chosen by `storage.database`: a file path is SQLite (engines/sqlite.py), a `postgresql://` URL is
PostgreSQL (engines/postgresql.py). Every other module sees only `engines.base.Connection`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connector.store.engines.base import Connection, Params, Row
from connector.store.engines.sqlite import SqliteEngine
from connector.store.migrations import MIGRATIONS
from connector.store.url import DatabaseUrl

# SQLite's default: a commit that leaves the WAL this many pages long checkpoints it.
AUTOCHECKPOINT_PAGES = 1000


class StorageError(Exception):
    """The database cannot be opened or set up; the message is one line for the operator."""


def utc_now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _engine(target: Path | str | DatabaseUrl) -> Any:
    if isinstance(target, DatabaseUrl):
        # Imported here so that a SQLite deployment never needs psycopg installed or loaded.
        from connector.store.engines.postgresql import PostgresEngine

        return PostgresEngine(target)
    return SqliteEngine(target)


class Database:
    """Opens a connection lazily per thread; `transaction()` holds the write lock from its first statement."""

    def __init__(self, target: Path | str | DatabaseUrl) -> None:
        self.target = target  # what another process opens to reach the same database
        self.engine = _engine(target)
        self.path = self.engine.label
        self._local = threading.local()
        self._all: list[Connection] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`, for the few statements that must be spelled per engine."""
        return str(self.engine.name)

    @property
    def conn(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.engine.connect()
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @property
    def utils(self) -> Any:
        """What a migration function is given: sqlite_utils on SQLite, its PostgreSQL stand-in on PostgreSQL."""
        return self.engine.migration_target(self.conn)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        if not self.engine.serialise_writers:
            yield from self._run_transaction(conn)
            return
        with self._write_lock:
            yield from self._run_transaction(conn)
        if getattr(self._local, "checkpoint_after_commit", False):
            # Outside the lock: a passive checkpoint lets writers go on appending to the WAL meanwhile.
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    @contextmanager
    def checkpoints_outside_the_lock(self) -> Iterator[None]:
        """For a long run of short transactions on this thread (the daily tick, a re-evaluation): its commits
        stop checkpointing the WAL, and each checkpoints it just after, outside the write lock. SQLite's own
        checkpoint runs inside COMMIT, so inside the lock, and copying a slice's pages into the database kept
        webhooks waiting for hundreds of milliseconds; after every slice the WAL stays short, so neither do
        intake's own commits find a long one to checkpoint."""
        conn = self.conn
        # PostgreSQL has no WAL of ours to checkpoint: its commits never copy pages under a lock we hold.
        if (
            self.dialect != "sqlite"
            or self.path == ":memory:"
            or getattr(self._local, "checkpoint_after_commit", False)
        ):
            yield
            return
        conn.execute("PRAGMA wal_autocheckpoint=0")
        self._local.checkpoint_after_commit = True
        try:
            yield
        finally:
            self._local.checkpoint_after_commit = False
            conn.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")

    def _run_transaction(self, conn: Connection) -> Iterator[Connection]:
        self.engine.begin(conn)
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def query(self, sql: str, params: Params = ()) -> list[Row]:
        return list(self.conn.execute(sql, params).fetchall())

    def scalar(self, sql: str, params: Params = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def migrate(self) -> int:
        """Apply the migrations not yet applied, under the engine's migration lock; returns the schema version.

        Several processes starting together each wait for the lock, then find the migrations applied.
        """
        with self.transaction() as conn:
            self.engine.lock_migrations(conn)
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]
            target = self.utils
            for version, migration in enumerate(MIGRATIONS, start=1):
                if version <= current:
                    continue
                migration(target)
                conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                    (version, utc_now_text()),
                )
        return len(MIGRATIONS)

    def schema_version(self) -> int:
        try:
            if not self.engine.has_table(self.conn, "schema_migrations"):
                return 0
            return int(self.scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations") or 0)
        except self.engine.errors:
            return 0

    def is_ready(self) -> bool:
        return self.schema_version() == len(MIGRATIONS)

    def check(self) -> None:
        """Open the database and apply the migrations, or raise StorageError saying why not."""
        try:
            self.engine.precheck()
            self.migrate()
        except (*self.engine.errors, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else self.engine.reason(exc)
            raise StorageError(f"storage.database: cannot open {self.path}: {reason}") from None

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                self.engine.close(conn)
            self._all.clear()
        self._local = threading.local()
