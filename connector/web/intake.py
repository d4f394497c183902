"""Connects the webhook edge to the tenants' config and the inbox."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from adapters.base import EventValidationError
from adapters.registry import get_adapter
from connector.config import Config
from connector.pipeline.inbox import Inbox
from rules.events import Event
from webhooks.edge import Rejected, Route
from webhooks.signature import secret_key

# The time constant of the average count of webhooks waiting for their commit.
WAITING_AVERAGE_SECONDS = 0.5


class IntakeMeter:
    """How many events were accepted in about the last second (two one-second buckets, no per-event state), and
    how many webhooks are waiting for their commit: now, and on average over about the last half second."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._second = 0
        self._current = 0
        self._previous = 0
        self._waiting = 0
        self._average = 0.0
        self._settled_at = clock()

    def _settle(self) -> None:
        # An exponential average of the count over time: a moment's crowd behind one slow fsync fades at once.
        now = self.clock()
        weight = 1.0 - math.exp(-max(0.0, now - self._settled_at) / WAITING_AVERAGE_SECONDS)
        self._average += (self._waiting - self._average) * weight
        self._settled_at = now

    def begin_wait(self) -> None:
        with self._lock:
            self._settle()
            self._waiting += 1

    def end_wait(self, stored: bool = False) -> None:
        """The webhook's commit is over; `stored`: it stored an event, counted as accepted (as `record`)."""
        with self._lock:
            self._settle()
            self._waiting -= 1
            if stored:
                self._count()

    def waiting(self) -> int:
        """Webhooks between their checks and their commit: senders that are waiting for an answer now."""
        with self._lock:
            return self._waiting

    def waiting_average(self) -> float:
        """How many webhooks were waiting for their commit, on average over about the last half second."""
        with self._lock:
            self._settle()
            return self._average

    def _roll(self, now: float) -> None:
        second = int(now)
        if second != self._second:
            self._previous = self._current if second == self._second + 1 else 0
            self._current = 0
            self._second = second

    def record(self) -> None:
        with self._lock:
            self._count()

    def _count(self) -> None:
        """One more accepted event this second (the caller holds the lock)."""
        self._roll(self.clock())
        self._current += 1

    def rate(self) -> float:
        with self._lock:
            now = self.clock()
            self._roll(now)
            # Weight the last full second by how much of it still falls inside the one-second window.
            return self._current + self._previous * (1.0 - (now - int(now)))


class Waker(Protocol):
    """What is told after each accepted event: the processing thread's event, or the child process's pipe."""

    def set(self) -> None: ...


class Intake:
    def __init__(
        self,
        config: Config,
        inbox: Inbox,
        wake: Waker | None = None,
        meter: IntakeMeter | None = None,
    ) -> None:
        self.inbox = inbox
        self.wake = wake
        self.meter = meter
        if wake is not None:
            inbox.on_stored = wake.set
        self.routes: dict[tuple[str, str], Route] = {}
        for tenant in config.tenants.values():
            for platform, settings in tenant.platforms.items():
                adapter = get_adapter(platform)
                keys = tuple(secret_key(s) for s in adapter.webhook_secrets(settings))
                self.routes[(tenant.id, platform)] = Route(keys=keys, parse=_rejecting(adapter.parse_event))

    def route(self, tenant: str, platform: str) -> Route | None:
        return self.routes.get((tenant, platform))

    def accept(self, tenant: str, platform: str, webhook_id: str, event: Event) -> bool:
        if self.meter is not None:
            self.meter.begin_wait()
        stored = False
        try:
            # The background work is woken by the inbox, once per commit that stored anything.
            stored = self.inbox.accept(tenant, platform, webhook_id, event)
        finally:
            if self.meter is not None:
                self.meter.end_wait(stored)
        return stored


def _rejecting(parse: Callable[[Mapping[str, Any]], Event]) -> Callable[[Mapping[str, Any]], Event]:
    """The adapter's parser, its schema errors told to the edge in the edge's own terms."""

    def parse_or_reject(body: Mapping[str, Any]) -> Event:
        try:
            return parse(body)
        except EventValidationError as exc:
            raise Rejected(exc.message, exc.errors) from None

    return parse_or_reject
