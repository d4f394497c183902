"""How fast delivery may write to each tenant's platform: paused after a 429, and fewer writes in flight.

A platform that answers 429 is asking this client to slow down. Only that tenant+platform slows: no write to it
starts before its "not before" time (the Retry-After it sent, or PAUSE_WITHOUT_RETRY_AFTER), and the writes it
may have in flight at once halve, growing back by one with each write it confirms (additive increase,
multiplicative decrease, as TCP does). Every other tenant's writes go on at full speed.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

PAUSE_WITHOUT_RETRY_AFTER = 1.0  # seconds; a 429 without Retry-After still means "not now"

Lane = tuple[str, str]  # (tenant, platform)


class Pace:
    """One tenant+platform: when writing may resume, and how many writes may be in flight at once."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.limit = most
        self.in_flight = 0
        self.not_before: datetime | None = None
        self._cond = threading.Condition()

    def paused(self, now: datetime) -> bool:
        return self.not_before is not None and now < self.not_before

    def acquire(self, now: datetime) -> bool:
        """Take a slot for one write, waiting while the in-flight limit is reached; False when paused."""
        with self._cond:
            while not self.paused(now) and self.in_flight >= self.limit:
                self._cond.wait()
            if self.paused(now):
                return False
            self.in_flight += 1
            return True

    def release(self, confirmed: bool) -> None:
        with self._cond:
            self.in_flight -= 1
            if confirmed and self.limit < self.most:
                self.limit += 1
            self._cond.notify_all()

    def slow_down(self, now: datetime, retry_after: float | None) -> None:
        seconds = PAUSE_WITHOUT_RETRY_AFTER if retry_after is None else retry_after
        with self._cond:
            until = now + timedelta(seconds=seconds)
            if self.not_before is None or until > self.not_before:
                self.not_before = until
            self.limit = max(1, self.limit // 2)
            # Writers waiting for a slot see the pause and give their rows back to the outbox.
            self._cond.notify_all()


class Pacing:
    """The pace of every tenant+platform delivery has written to, created on first use."""

    def __init__(self, most_in_flight: int) -> None:
        self.most = most_in_flight
        self._paces: dict[Lane, Pace] = {}
        self._lock = threading.Lock()

    def of(self, tenant: str, platform: str) -> Pace:
        with self._lock:
            pace = self._paces.get((tenant, platform))
            if pace is None:
                pace = self._paces[(tenant, platform)] = Pace(self.most)
            return pace

    def paused(self, now: datetime) -> list[Lane]:
        """The tenant+platforms no write may start to now."""
        with self._lock:
            return [lane for lane, pace in self._paces.items() if pace.paused(now)]

    def resumes_at(self) -> datetime | None:
        """The earliest time a paused tenant+platform may be written to again."""
        with self._lock:
            times = [p.not_before for p in self._paces.values() if p.not_before is not None]
        return min(times) if times else None
