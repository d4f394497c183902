"""A stand-in for webhook intake during a long piece of work: it writes an inbox row every `every` seconds and
records how long each write waited for the write lock. Used by `bench/daily.py`; prints nothing.

Two ways in, as intake meets the daily run in production: through the service's own `Database` from another
thread (`connector serve` with its background work: intake and the tick share the process's lock), or through
a `Database` of its own (another process: `connector serve` while cron runs `connector tick`), which waits in
SQLite's busy handler instead. The rows are stored `discarded`, so nothing folds or processes them.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from connector.store.database import Database


class IntakeProbe:
    def __init__(self, db: Database, name: str, every: float = 0.05) -> None:
        self.db = db
        self.name = name
        self.every = every
        self.waits: list[float] = []
        self.when: list[float] = []  # seconds after the start at which each write began
        self.began = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"probe-{name}", daemon=True)

    def start(self) -> IntakeProbe:
        self._thread.start()
        return self

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        waits = sorted(self.waits)
        if not waits:
            return {"writes": 0, "p50_ms": 0.0, "p99_ms": 0.0, "p100_ms": 0.0, "worst_at_s": 0.0}
        return {
            "worst_at_s": self.when[self.waits.index(waits[-1])],
            "writes": len(waits),
            "p50_ms": 1000 * waits[len(waits) // 2],
            "p99_ms": 1000 * waits[min(len(waits) - 1, int(len(waits) * 0.99))],
            "p100_ms": 1000 * waits[-1],
        }

    def _run(self) -> None:
        self.db.conn.execute("SELECT 1")  # opened before the first write: opening the file is no wait
        self.began = time.perf_counter()
        n = 0
        while not self._stop.wait(self.every):
            n += 1
            now = datetime.now(UTC).isoformat()
            started = time.perf_counter()
            with self.db.transaction() as conn:
                # The wait for the lock: BEGIN IMMEDIATE has returned once the first statement runs.
                self.waits.append(time.perf_counter() - started)
                self.when.append(started - self.began)
                conn.execute(
                    "INSERT INTO inbox (tenant, platform, webhook_id, event_type, occurred_at, received_at,"
                    " event, state) VALUES ('probe', 'mosaic', ?, 'probe', ?, ?, '{}', 'discarded')",
                    (f"probe-{self.name}-{n}-{time.time_ns()}", now, now),
                )
