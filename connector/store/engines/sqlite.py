"""The SQLite engine: a file, one connection per thread, WAL, durable commits; every PRAGMA lives here.

WAL lets webhook intake, processing and delivery run in parallel threads; `synchronous=FULL` makes a commit
durable before the webhook is answered 202, so a crash right after the answer loses nothing.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import sqlite_utils

from connector.store.engines.base import Connection

BUSY_TIMEOUT_SECONDS = 30
# How often a writer waiting for another process's write lock tries again. SQLite's own busy handler sleeps in
# growing steps (up to 100 ms), so a waiter missed the moments a process committing short transactions back to
# back left the lock free (the daily run's slices under cron while `serve` takes webhooks): waits of 400 ms and
# more behind holds of 10 to 50 ms. Trying every millisecond costs a failed BEGIN (microseconds) per try.
BUSY_POLL_SECONDS = 0.001


class SqliteEngine:
    name = "sqlite"
    errors: tuple[type[Exception], ...] = (sqlite3.Error,)
    # Threads of one process queue on a lock of ours rather than on SQLite's busy handler, which sleeps in
    # growing steps and would leave the write lock idle while webhooks wait for it.
    serialise_writers = True

    def __init__(
        self,
        path: Path | str,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = str(path)
        self.label = self.path
        self.sleep = sleep
        self.clock = clock
        if self.path != ":memory:":
            # A path that cannot be used is reported by check() (or the first query), not here.
            with suppress(OSError):
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)

    def connect(self) -> Connection:
        self._create_private()
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a read-then-write never deadlocks.
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_SECONDS
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        return conn

    def _create_private(self) -> None:
        """Create the file readable by its owner only, before SQLite would create it with the umask's mode.

        SQLite gives the -wal and -shm files the mode of the database file, so they are private too.
        """
        if self.path == ":memory:" or os.path.exists(self.path):
            return
        with suppress(FileExistsError):
            os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))

    def begin(self, conn: Connection) -> None:
        """BEGIN IMMEDIATE (the write lock from the first statement, so a read-then-write never deadlocks),
        waiting for another process's lock by trying again every `BUSY_POLL_SECONDS`, up to the busy timeout."""
        conn.execute("PRAGMA busy_timeout=0")  # this statement's waiting is ours
        try:
            deadline = None
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                        raise
                    now = self.clock()
                    deadline = now + BUSY_TIMEOUT_SECONDS if deadline is None else deadline
                    if now >= deadline:
                        raise
                self.sleep(BUSY_POLL_SECONDS)
        finally:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")

    def migration_target(self, conn: Connection) -> sqlite_utils.Database:
        return sqlite_utils.Database(conn)  # type: ignore[arg-type]  # the raw sqlite3 connection, passed through

    def lock_migrations(self, conn: Connection) -> None:
        """BEGIN IMMEDIATE already holds the file's write lock: a second process waits, then sees the version."""

    def has_table(self, conn: Connection, name: str) -> bool:
        found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        return found.fetchone() is not None

    def precheck(self) -> None:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        if Path(self.path).is_dir():
            raise IsADirectoryError(21, "it is a directory")

    def close(self, conn: Any) -> None:
        with suppress(sqlite3.ProgrammingError):
            conn.close()

    def bulk_load_hint(self, conn: Connection, cache_kib: int) -> None:
        """A bigger page cache for one connection's bulk import (the index pages stay in memory)."""
        conn.execute(f"PRAGMA cache_size = -{int(cache_kib)}")

    def reason(self, exc: BaseException) -> str:
        return str(exc)
