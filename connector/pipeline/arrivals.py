"""Events accepted per second by any process, read from the inbox's growth.

The intake meter counts only the webhooks its own process answers: a `connector work` process beside a
`connector serve` (`service.background = false`) answers none, so without this it never saw a burst, and worked
off the backlog at full speed while the senders waited (measured: a quarter fewer webhooks answered per second
with the work in a process of its own than in the same one). The inbox's highest seq is one indexed read.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

# The rate is over about the last second, once at least this much of it has been seen.
WINDOW_SECONDS = 1.0
SHORTEST_SPAN_SECONDS = 0.25


class InboxArrivals:
    def __init__(self, last_seq: Callable[[], int], clock: Callable[[], float] = time.monotonic) -> None:
        self.last_seq = last_seq
        self.clock = clock
        self._seen: deque[tuple[float, int]] = deque()
        self._rate = 0.0

    def rate(self) -> float:
        """Events accepted per second over about the last second (0 until a quarter of a second is seen)."""
        now, seq = self.clock(), self.last_seq()
        self._seen.append((now, seq))
        while len(self._seen) > 2 and now - self._seen[1][0] >= WINDOW_SECONDS:
            self._seen.popleft()
        first_at, first_seq = self._seen[0]
        if now - first_at >= SHORTEST_SPAN_SECONDS:
            self._rate = (seq - first_seq) / (now - first_at)
        return self._rate
