"""The SQLite store: one connection per thread, explicit transactions, numbered migrations.

WAL lets webhook intake, processing and delivery run in parallel threads; `synchronous=FULL` makes a commit
durable before the webhook is answered 202, so a crash right after the answer loses nothing.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from connector.store.migrations import MIGRATIONS

# SQLite's default: a commit that leaves the WAL this many pages long checkpoints it.
AUTOCHECKPOINT_PAGES = 1000


class StorageError(Exception):
    """The database file cannot be opened or set up; the message is one line for the operator."""


def utc_now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Database:
    """Opens the file lazily per thread; `transaction()` holds the write lock from its first statement."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        if self.path != ":memory:":
            # A path that cannot be used is reported by check() (or the first query), not here.
            with suppress(OSError):
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)

    @property
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self._create_private()
            # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a read-then-write never deadlocks.
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _create_private(self) -> None:
        """Create the file readable by its owner only, before SQLite would create it with the umask's mode.

        SQLite gives the -wal and -shm files the mode of the database file, so they are private too.
        """
        if self.path == ":memory:" or os.path.exists(self.path):
            return
        with suppress(FileExistsError):
            os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))

    @property
    def utils(self) -> sqlite_utils.Database:
        db: sqlite_utils.Database | None = getattr(self._local, "utils", None)
        if db is None:
            db = sqlite_utils.Database(self.conn)
            self._local.utils = db
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        # Threads of this process queue on a lock rather than on SQLite's busy handler, which sleeps in
        # growing steps and would leave the write lock idle while webhooks wait for it.
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
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
        if self.path == ":memory:" or getattr(self._local, "checkpoint_after_commit", False):
            yield
            return
        conn.execute("PRAGMA wal_autocheckpoint=0")
        self._local.checkpoint_after_commit = True
        try:
            yield
        finally:
            self._local.checkpoint_after_commit = False
            conn.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")

    def query(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        return list(self.conn.execute(sql, params).fetchall())

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def migrate(self) -> int:
        """Apply the migrations not yet applied; returns the schema version."""
        with self.transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]
            for version, migration in enumerate(MIGRATIONS, start=1):
                if version <= current:
                    continue
                migration(self.utils)
                conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                    (version, utc_now_text()),
                )
        return len(MIGRATIONS)

    def schema_version(self) -> int:
        try:
            return int(self.scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations") or 0)
        except sqlite3.OperationalError:
            return 0

    def is_ready(self) -> bool:
        return self.schema_version() == len(MIGRATIONS)

    def check(self) -> None:
        """Open the file and apply the migrations, or raise StorageError saying why not."""
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            if Path(self.path).is_dir():
                raise StorageError(f"storage.database: cannot open {self.path}: it is a directory")
            self.migrate()
        except (sqlite3.Error, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise StorageError(f"storage.database: cannot open {self.path}: {reason}") from None

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with suppress(sqlite3.ProgrammingError):
                    conn.close()
            self._all.clear()
        self._local = threading.local()
