"""The fold cache: bounded by count and by its folds' estimated bytes, least recently used dropped first; the
estimate stays near what a fold really takes in memory, whatever its kind and history."""

from __future__ import annotations

import pickle
import tracemalloc
from datetime import UTC, date, datetime, timedelta

import pytest

from connector.pipeline.fold_cache import FoldCache, estimated_bytes
from connector.pipeline.folds import Fold, new_fold
from rules.events import CaseAllocated, Relationship, SupervisionRecorded, WorkerUpdated

START = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _worker_fold(worker_id: str, sessions: int) -> Fold:
    """A case-holding worker with a case supervision every few days, as on the daily bench's store."""
    fold = new_fold(f"worker:{worker_id}")
    fold.apply(
        WorkerUpdated(
            f"w-{worker_id}", START, worker_id, "310", "5500", "SOCIAL_WORKER", True, False, True, False,
            "permanent", date(2025, 3, 1),
        )
    )  # fmt: skip
    for n in range(sessions):
        held = START + timedelta(days=1 + n * 3)
        case_id = str(100_000 + n % 17)
        fold.apply(
            SupervisionRecorded(
                f"cs-{case_id}-{worker_id}-{n}", held, "case", worker_id, None, "310", (case_id,),
                held.date(), held.date(), False,
            )
        )  # fmt: skip
    return fold


def _case_fold(case_id: str, sessions: int) -> Fold:
    fold = new_fold(f"case:{case_id}")
    fold.apply(
        CaseAllocated(
            f"a-{case_id}", START, case_id, "5521", "310", Relationship.ALLOCATED_WORKER, START.date()
        )
    )
    for n in range(sessions):
        held = START + timedelta(days=1 + n * 30)
        fold.apply(
            SupervisionRecorded(
                f"cs-{case_id}-{n}",
                held,
                "case",
                "5521",
                None,
                "310",
                (case_id,),
                held.date(),
                held.date(),
                False,
            )
        )
    return fold


def _team_fold(team_id: str, sessions: int) -> Fold:
    fold = new_fold(f"team:{team_id}")
    for n in range(sessions):
        held = START + timedelta(hours=1 + n)
        fold.apply(
            SupervisionRecorded(
                f"cs-{team_id}-{n}", held, "case", str(5_500 + n % 14), None, team_id, (str(100_000 + n),),
                held.date(), held.date(), False,
            )
        )  # fmt: skip
    return fold


def _in_memory(fold: Fold) -> int:
    """The bytes a fold takes once read back from the store, as the cache holds it (tracemalloc)."""
    blob = pickle.dumps(fold, protocol=5)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = pickle.loads(blob)
        taken = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept.applied == fold.applied
    return taken


@pytest.mark.parametrize(
    "fold",
    [_case_fold("100234", 6), _worker_fold("5521", 100), _team_fold("310", 1_000)],
    ids=["case", "worker", "team"],
)
def test_a_folds_estimated_bytes_are_within_half_and_twice_what_it_takes_in_memory(fold: Fold) -> None:
    taken = _in_memory(fold)
    assert taken / 2 <= estimated_bytes(fold) <= taken * 2


def test_the_cache_drops_the_least_recently_used_folds_once_their_estimated_bytes_pass_the_budget() -> None:
    folds = {f"55{n:02}": _worker_fold(f"55{n:02}", 100) for n in range(6)}
    weight = estimated_bytes(folds["5500"])
    cache = FoldCache(size=50_000, budget=3 * weight)

    def kept() -> list[str]:
        return [w for w in folds if cache.get(("t", "mosaic", f"worker:{w}"), 1) is not None]

    for worker_id in ("5500", "5501", "5502"):
        cache.put(("t", "mosaic", f"worker:{worker_id}"), 1, folds[worker_id])
    assert cache.get(("t", "mosaic", "worker:5500"), 1) is folds["5500"]  # now the most recently used
    cache.put(("t", "mosaic", "worker:5503"), 1, folds["5503"])
    assert kept() == ["5500", "5502", "5503"]
    for worker_id in ("5504", "5505"):
        cache.put(("t", "mosaic", f"worker:{worker_id}"), 1, folds[worker_id])
    assert kept() == ["5503", "5504", "5505"]
    assert cache.bytes == 3 * weight <= cache.budget


def test_putting_a_fold_again_weighs_it_again_and_drop_and_clear_give_its_bytes_back() -> None:
    cache = FoldCache(size=10, budget=10**9)
    key = ("t", "mosaic", "worker:5521")
    fold = _worker_fold("5521", 10)
    cache.put(key, 1, fold)
    small = cache.bytes
    grown = _worker_fold("5521", 200)  # as a fold changed in place is put again when its batch commits
    cache.put(key, 2, grown)
    assert cache.bytes == estimated_bytes(grown) > small
    assert len(cache) == 1
    assert cache.get(key, 1) is None and cache.get(key, 2) is grown
    cache.drop(key)
    assert cache.bytes == 0 and len(cache) == 0
    cache.put(key, 3, fold)
    cache.clear()
    assert cache.bytes == 0 and cache.get(key, 3) is None


def test_a_fold_larger_than_the_whole_budget_is_not_kept_and_the_count_still_bounds_the_cache() -> None:
    team = _team_fold("310", 500)
    cache = FoldCache(size=2, budget=estimated_bytes(team) - 1)
    cache.put(("t", "mosaic", "case:1"), 1, _case_fold("1", 1))
    cache.put(("t", "mosaic", "team:310"), 1, team)
    assert cache.get(("t", "mosaic", "team:310"), 1) is None
    assert len(cache) == 0  # the small one went first, then the team that alone passes the budget
    for n in range(3):
        cache.put(("t", "mosaic", f"case:{n}"), 1, _case_fold(str(n), 1))
    assert len(cache) == 2 and cache.get(("t", "mosaic", "case:0"), 1) is None
