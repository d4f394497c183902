"""The folds kept in memory between batches and re-evaluation slices (see kept_state.py), bounded in count and
in an estimate of their bytes.

A count alone did not bound memory: folds differ in size by a hundred times (measured with tracemalloc on the
daily bench's store, as unpickled: a case 4.6 KB with 7 events, a worker 40 KB with 106, a team 570 KB with
1,339), and 1 April's re-evaluation of every worker kept all 28,000 worker folds, about 1.1 GB at 500,000
cases. A fold's size is estimated from the events folded into it, which it counts anyway (`applied`): each
event adds at most a session, a booking or an entry, about 400 bytes with its indexes, over a fixed part of
about 2 KB (the dataclass, its lists, dicts and index).
"""

from __future__ import annotations

from collections import OrderedDict

from connector.pipeline.folds import Fold

FIXED_BYTES = 2_000
BYTES_PER_EVENT = 400
# The estimated bytes of all the cached folds: about 1,500 worker folds of the bench's shape (a year of case
# supervisions of 17 cases each). Bounded by the garbage collector as much as by memory: a fold holds about one
# object the collector tracks per event, and a full collection walks them all while every thread waits (2,800
# cached worker folds, 300,000 objects, took 270 ms of CPU on the project's machine: intake waited for it).
BUDGET_BYTES = 64 * 2**20


def estimated_bytes(fold: Fold) -> int:
    return FIXED_BYTES + BYTES_PER_EVENT * fold.applied


class FoldCache:
    """Folds kept in memory across batches and re-evaluation slices, least recently used dropped first once
    there are more than `size` or their estimated bytes pass `budget`, each with the stored revision it was
    read at (so another process's write is noticed, not shadowed)."""

    def __init__(self, size: int = 50_000, budget: int = BUDGET_BYTES) -> None:
        self.size = size
        self.budget = budget
        self.bytes = 0
        self._folds: OrderedDict[tuple[str, str, str], tuple[int, Fold, int]] = OrderedDict()

    def get(self, key: tuple[str, str, str], revision: int) -> Fold | None:
        found = self._folds.get(key)
        if found is None or found[0] != revision:
            return None
        self._folds.move_to_end(key)
        return found[1]

    def put(self, key: tuple[str, str, str], revision: int, fold: Fold) -> None:
        if self.size <= 0:
            return
        self.drop(key)
        # Weighed when put: a fold changed in place is put again once its batch commits (`publish`).
        weight = estimated_bytes(fold)
        self._folds[key] = (revision, fold, weight)
        self.bytes += weight
        # A fold over the whole budget alone is not kept at all.
        while self._folds and (len(self._folds) > self.size or self.bytes > self.budget):
            self.bytes -= self._folds.popitem(last=False)[1][2]

    def drop(self, key: tuple[str, str, str]) -> None:
        found = self._folds.pop(key, None)
        if found is not None:
            self.bytes -= found[2]

    def clear(self) -> None:
        self._folds.clear()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._folds)
