"""A stand-in for webhook intake during a long piece of work: it writes an inbox row every `every` seconds and
records how long each write waited for the write lock. Used by `bench/daily.py`; prints nothing.

Two ways in, as intake meets the daily run in production: through the service's own `Database` from another
thread (`connector serve` with its background work as threads: intake and the tick share the process's lock and
its interpreter), or from another process (`IntakeProbeProcess`: `connector serve`, whose background work is
its child `connector work`, or serve while cron runs `connector tick`), which waits for SQLite's lock alone. A
thread with a connection of its own would wait for the measured process's interpreter too (a garbage
collection of 100-470 ms on 1 April at 100k cases), which no other process does. The rows are stored
`discarded`, so nothing folds or processes them.
"""

from __future__ import annotations

import multiprocessing
import resource
import threading
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

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


class IntakeProbeProcess:
    """An `IntakeProbe` through a `Database` of its own in a process of its own (spawned: it shares nothing with
    the measured process but the database file). After `stop()`, `waits`, `when` and `began` are the probe's, on
    the same clock (`perf_counter` is the system's monotonic clock)."""

    def __init__(self, path: str | Path, name: str, every: float = 0.05) -> None:
        spawn = multiprocessing.get_context("spawn")
        self._pipe, theirs = spawn.Pipe()
        self._process = spawn.Process(target=_probe_process, args=(str(path), name, every, theirs), daemon=True)
        self.waits: list[float] = []
        self.when: list[float] = []
        self.began = time.perf_counter()
        self.cpu = 0.0  # the probe process's own CPU seconds, for a bench that counts its children's

    def start(self) -> IntakeProbeProcess:
        self._process.start()
        self._pipe.recv()  # started: its connection open
        return self

    def stop(self) -> dict[str, float]:
        self._pipe.send("stop")
        found, self.waits, self.when, self.began, self.cpu = self._pipe.recv()
        self._process.join()
        return found


def _probe_process(path: str, name: str, every: float, pipe: Connection) -> None:
    db = Database(path)
    probe = IntakeProbe(db, name, every)
    db.conn.execute("SELECT 1")
    probe.start()
    pipe.send("started")
    pipe.recv()
    found = probe.stop()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    pipe.send((found, probe.waits, probe.when, probe.began, usage.ru_utime + usage.ru_stime))
    db.close()
