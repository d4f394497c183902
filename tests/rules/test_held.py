"""Held sessions indexed for the rules: the index answers as filtering and sorting the sessions would, a prefix
is an unchanging snapshot of an append-only list, and the engine reads a long history through the index."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import overload

import pytest

from rules.calendar import WorkingCalendar
from rules.engine import Engine
from rules.engine.settle import held_sessions
from rules.held import Prefix, SessionsKept, held_order
from rules.model import CaseAllocation, CaseFacts, Session, StatusSpell, TeamFacts, WorkerFacts
from rules.pack import load_pack

LINC = Engine(load_pack("lincolnshire"), WorkingCalendar())
TODAY = date(2026, 12, 1)
KINDS = ("case", "personal", "team_brief", "practice_observation", "group")


def sessions(count: int, seed: int = 7) -> list[Session]:
    """Sessions of several kinds and workers, arriving out of held order, some on the same day."""
    rng = random.Random(seed)
    start = date(2026, 1, 5)
    return [
        Session(
            f"s{n:05d}",
            KINDS[rng.randrange(len(KINDS))],
            ("5521", "5522")[rng.randrange(2)],
            "5500",
            "310",
            ("100234",),
            start + timedelta(days=rng.randrange(300)),
            start + timedelta(days=300),
        )
        for n in range(count)
    ]


def kept(all_sessions: list[Session]) -> SessionsKept:
    index = SessionsKept()
    for s in all_sessions:
        index.add(s)
    return index


@pytest.mark.parametrize("kinds", [frozenset({"case"}), frozenset({"case", "group"}), frozenset({"missing"})])
def test_the_index_answers_as_filtering_and_sorting_the_sessions(kinds: frozenset[str]) -> None:
    history = sessions(400)
    index = kept(history).index()
    assert list(index.of_kinds(kinds)) == sorted((s for s in history if s.kind in kinds), key=held_order)
    since = date(2026, 6, 1)
    assert list(index.own_since(kinds, "5521", since)) == sorted(
        (s for s in history if s.kind in kinds and s.worker_id == "5521" and s.held_on >= since),
        key=held_order,
    )
    assert index.has_kind(kinds) == any(s.kind in kinds for s in history)


def test_a_copy_of_the_index_is_not_changed_by_the_next_session() -> None:
    history = sessions(50)
    original = kept(history[:49])
    copied = original.copy()
    original.add(history[49])
    assert len(copied.index().of_kinds(frozenset(KINDS))) == 49


def test_a_prefix_is_the_list_as_it_stood() -> None:
    history = sessions(10)
    growing = history[:6]
    prefix = Prefix(growing)
    growing.extend(history[6:])
    assert prefix == tuple(history[:6]) and tuple(history[:6]) == prefix
    assert len(prefix) == 6 and prefix[-1] == history[5] and list(prefix[1:3]) == history[1:3]
    assert list(reversed(prefix)) == list(reversed(history[:6]))
    assert hash(prefix) == hash(tuple(history[:6]))
    with pytest.raises(IndexError):
        prefix[6]


class _Unscanned(Sequence[Session]):
    """A long history that fails the test if it is passed over (its newest few may be looked at)."""

    def __init__(self, items: list[Session]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, at: int) -> Session: ...
    @overload
    def __getitem__(self, at: slice) -> Sequence[Session]: ...
    def __getitem__(self, at: int | slice) -> Session | Sequence[Session]:
        return self.items[at]

    def __iter__(self) -> Iterator[Session]:
        raise AssertionError("the whole history was passed over")


def test_the_engine_reads_a_long_history_through_the_index_with_the_same_obligations() -> None:
    history = sorted(sessions(3000), key=lambda s: s.session_id)
    index = kept(history).index()
    worker = WorkerFacts(
        "5521", date(2026, 1, 1), "310", "5500", None, "SOCIAL_WORKER", True, False, True, False, "permanent",
        date(2025, 1, 6), None, sessions=tuple(s for s in history if s.worker_id == "5521"),
    )  # fmt: skip
    own = kept(list(worker.sessions)).index()
    case = CaseFacts(
        "100234", date(2026, 1, 1), StatusSpell("CP", date(2026, 1, 5)),
        (CaseAllocation("5521", "310", "ALLWKR", date(2026, 1, 5)),), None, tuple(history),
    )  # fmt: skip
    team = TeamFacts("310", (worker,), tuple(history), known_since=date(2026, 1, 1))
    plain = (
        LINC.for_case(case, {"5521": worker}, TODAY),
        LINC.for_worker(worker, TODAY),
        LINC.for_team(team, TODAY),
        LINC.case_changes(case, {"5521": worker}, TODAY),
        LINC.worker_changes(worker, TODAY),
    )
    LINC.personal.clear()
    worker = dataclasses.replace(worker, sessions=_Unscanned(list(worker.sessions)), held=own)
    case = dataclasses.replace(case, sessions=_Unscanned(history), held=index)
    team = dataclasses.replace(team, members=(worker,), sessions=_Unscanned(history), held=index)
    indexed = (
        LINC.for_case(case, {"5521": worker}, TODAY),
        LINC.for_worker(worker, TODAY),
        LINC.for_team(team, TODAY),
        LINC.case_changes(case, {"5521": worker}, TODAY),
        LINC.worker_changes(worker, TODAY),
    )
    assert indexed == plain
    assert plain[0] and plain[1]
    # The plain path's answer is what filtering gives, so the two agree on the history itself too.
    assert list(held_sessions(history, frozenset({"case"}), index)) == list(
        held_sessions(history, frozenset({"case"}))
    )
