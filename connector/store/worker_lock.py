"""One background worker per SQLite database: a second one on the same file is refused, never left to race.

Processing evaluates outside the write lock and diffs inside it, which is safe for one worker and not for two
(measured: two `connector serve` on one file left steps on the platform the connector no longer knew of). An
exclusive `flock` on a file beside the database is held while the background work runs; the operating system
drops it when the process ends, however it ends (SIGKILL included), so a crash never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from connector.store.url import DatabaseUrl


class WorkerLockError(Exception):
    """Another process already runs the background work on this database."""


class WorkerLock:
    def __init__(self, database: Path | str | DatabaseUrl) -> None:
        # On PostgreSQL any number of workers share the work through leases (store/leases.py): no file lock.
        self.shared = isinstance(database, DatabaseUrl)
        self.path = Path(f"{database}.worker.lock")
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        if self.shared or self._file is not None or str(self.path).startswith(":memory:"):
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="ascii")  # noqa: SIM115 (held open for the process's life)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise WorkerLockError(
                f"the background work on {str(self.path)[: -len('.worker.lock')]} is already run by {holder}; run"
                " one `connector serve` (or `connector work`) per database, and give the others"
                " `service.background = false`"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
