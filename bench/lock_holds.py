"""Which write transaction held the lock while an intake probe waited: every transaction of the service's
`Database` is timed (wall and its thread's CPU), named by the code that opened it, and a probe's long waits are
matched with the holds that overlapped them. Used by `bench/daily.py`; prints nothing.

The transaction is wrapped where it begins (`Database._run_transaction`), so the hold runs from `BEGIN` to the
end of `COMMIT`, the span another writer waits for.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from connector.store.database import Database

# Frames of these files are the transaction's machinery, not the code that opened it.
_MACHINERY = ("contextlib.py", "/store/database.py", "lock_holds.py")


@dataclass
class Hold:
    began: float  # perf_counter at BEGIN
    ended: float  # perf_counter at the end of COMMIT
    cpu: float  # the holding thread's CPU seconds meanwhile
    where: str  # the function that opened the transaction
    commit: float  # seconds of it in COMMIT (the WAL's fsync)


@dataclass
class LockHolds:
    """Records every write transaction of `db` made by a thread other than the probes' own."""

    db: Database
    skip_threads: tuple[str, ...] = ("probe-",)
    holds: list[Hold] = field(default_factory=list)
    # The interpreter's full collections (generation 2): (began, seconds, CPU seconds); one walks every object
    # the collector tracks, with the GIL held, so every thread of the process (intake's) waits for it.
    collections: list[tuple[float, float, float]] = field(default_factory=list)
    _real: Any = None
    _collecting: tuple[float, float] = (0.0, 0.0)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._collecting = (time.perf_counter(), time.thread_time())
        else:
            began, cpu = self._collecting
            self.collections.append((began, time.perf_counter() - began, time.thread_time() - cpu))

    def start(self) -> LockHolds:
        real = self._real = Database._run_transaction
        holds, skip = self.holds, self.skip_threads

        def timed(db: Database, conn: Any) -> Iterator[Any]:
            if db is not self.db or threading.current_thread().name.startswith(skip):
                yield from real(db, conn)
                return
            where = _opener()
            began, cpu = time.perf_counter(), time.thread_time()
            committing = began
            # As `Database._run_transaction`, with the COMMIT timed apart.
            db.engine.begin(conn)
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                committing = time.perf_counter()
                conn.execute("COMMIT")
            finally:
                ended = time.perf_counter()
                holds.append(Hold(began, ended, time.thread_time() - cpu, where, ended - committing))

        Database._run_transaction = timed  # type: ignore[method-assign]
        gc.callbacks.append(self._on_gc)
        return self

    def stop(self) -> None:
        Database._run_transaction = self._real  # type: ignore[method-assign]
        gc.callbacks.remove(self._on_gc)

    def summary(self, began: float) -> dict[str, Any]:
        """The longest holds with what opened them, and per opener the count and the longest (ms)."""
        by_where: dict[str, list[Hold]] = {}
        for hold in self.holds:
            by_where.setdefault(hold.where, []).append(hold)
        longest = sorted(self.holds, key=lambda h: h.ended - h.began, reverse=True)[:5]
        return {
            "full_collections": len(self.collections),
            "longest_collection_ms": 1000 * max((took for _, took, _ in self.collections), default=0.0),
            "longest_collection_cpu_ms": 1000 * max((cpu for _, _, cpu in self.collections), default=0.0),
            "longest_collection_at_s": max(self.collections, key=lambda c: c[1], default=(began, 0.0, 0.0))[0]
            - began,
            "transactions": len(self.holds),
            "longest": [_described(h, began) for h in longest],
            "by_opener": {
                where: {
                    "count": len(found),
                    "max_ms": 1000 * max(h.ended - h.began for h in found),
                    "max_cpu_ms": 1000 * max(h.cpu for h in found),
                    "max_commit_ms": 1000 * max(h.commit for h in found),
                }
                for where, found in sorted(by_where.items())
            },
        }

    def during(self, start: float, end: float, began: float) -> list[dict[str, Any]]:
        """The holds that overlapped a wait from `start` to `end` (perf_counter seconds)."""
        return [_described(h, began) for h in self.holds if h.began < end and h.ended > start]


def _described(hold: Hold, began: float) -> dict[str, Any]:
    return {
        "where": hold.where,
        "at_s": round(hold.began - began, 3),
        "ms": round(1000 * (hold.ended - hold.began), 1),
        "cpu_ms": round(1000 * hold.cpu, 1),
        "commit_ms": round(1000 * hold.commit, 1),
    }


def _opener() -> str:
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.endswith(_MACHINERY):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return "?"
    return f"{frame.f_code.co_qualname} ({frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno})"
