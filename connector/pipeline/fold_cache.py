"""The folds kept in memory between batches and re-evaluation slices (see kept_state.py)."""

from __future__ import annotations

from collections import OrderedDict

from connector.pipeline.folds import Fold


class FoldCache:
    """Folds kept in memory across batches and re-evaluation slices, least recently used dropped first, each
    with the stored revision it was read at (so another process's write is noticed, not shadowed)."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._folds: OrderedDict[tuple[str, str, str], tuple[int, Fold]] = OrderedDict()

    def get(self, key: tuple[str, str, str], revision: int) -> Fold | None:
        found = self._folds.get(key)
        if found is None or found[0] != revision:
            return None
        self._folds.move_to_end(key)
        return found[1]

    def put(self, key: tuple[str, str, str], revision: int, fold: Fold) -> None:
        self._folds[key] = (revision, fold)
        self._folds.move_to_end(key)
        while len(self._folds) > self.size:
            self._folds.popitem(last=False)

    def drop(self, key: tuple[str, str, str]) -> None:
        self._folds.pop(key, None)

    def clear(self) -> None:
        self._folds.clear()

    def __len__(self) -> int:
        return len(self._folds)
