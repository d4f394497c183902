"""Fewer of Python's cyclic garbage collections while a whole caseload is re-evaluated or ticked.

A re-evaluation reads every subject's kept fold (unpickling millions of small objects) and keeps tens of
thousands of them in the fold cache; with the default threshold (a young collection every 700 allocations, and
a full one as the survivors pile up) the collector walked those objects again and again: about 40% of a
rule-pack change's CPU time. Raising the young threshold alone still left the older generations' collections
(every 10 young ones, and every 10 of those) walking every fold read so far: another tenth. Folds, facts and
obligations hold no reference cycles, so reference counting frees them either way; only the rare cycle waits
longer, and young cycles (a request's, say) are still collected. The thresholds are raised for the
re-evaluation alone and put back after, so the rest of the service runs with the interpreter's own settings.

Full collections are put off too: one walks every object the collector tracks with the GIL held, so every
thread of the process waits for it, intake's included. On 1 April at 50,000 cases, with every worker's fold
kept, one took 270-300 ms of CPU (up to 2 s of wall time on the shared machine); the first one after the run
finds the slices' objects gone. The thresholds apply to the tick as well as the re-evaluation.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Young objects allocated between collections while re-evaluating (the default is 700).
BULK_THRESHOLD = 50_000
# Collections of a generation between collections of the next older one while re-evaluating (the default is 10).
BULK_OLDER = 1_000


@contextmanager
def fewer_collections(threshold: int = BULK_THRESHOLD, older: int = BULK_OLDER) -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], threshold), *(max(t, older) for t in before[1:]))
    try:
        yield
    finally:
        gc.set_threshold(*before)
