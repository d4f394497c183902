"""Workers' facts made once per kept fold for a whole re-evaluation, not once per slice.

A worker's cases are spread over the whole caseload, so each slice of a re-evaluation asked for the facts of
nearly every worker it met again: at 500,000 cases, one `WorkerFold.facts()` per case instead of one per
worker. The facts are a function of the fold alone, so they are kept beside it, and made again when it is
another fold (read again from the store, re-folded) or has taken an event since (`applied` moved: the kept
state changes folds in place). Each is held only while its fold lives (a weak reference, dropped with the
fold), so the memo never keeps more than the bounded fold cache does.
"""

from __future__ import annotations

import weakref
from functools import partial

from connector.pipeline.folds import Fold, WorkerFold
from rules.model import WorkerFacts


class FactsMemo:
    def __init__(self) -> None:
        self._made: dict[str, tuple[weakref.ref[Fold], int, WorkerFacts | None]] = {}

    def worker(self, worker_id: str, fold: Fold) -> WorkerFacts | None:
        made = self._made.get(worker_id)
        if made is not None and made[0]() is fold and made[1] == fold.applied:
            return made[2]
        facts = fold.facts() if isinstance(fold, WorkerFold) else None
        self._made[worker_id] = (weakref.ref(fold, partial(self._forget, worker_id)), fold.applied, facts)
        return facts

    def _forget(self, worker_id: str, dead: weakref.ref[Fold]) -> None:
        made = self._made.get(worker_id)
        if made is not None and made[0] is dead:
            del self._made[worker_id]

    def __len__(self) -> int:
        return len(self._made)
