"""A subject's held sessions indexed the way the rules ask of them, so a long history is never passed over.

The rules ask "the sessions of these kinds, in held order", "this worker's sessions of these kinds since that
day" and "the sessions that agreed actions"; a worker with ten thousand earlier sessions asks the same questions
as one with ten. `SessionsKept` is built beside a fold's sessions one session at a time (its lists are replaced,
never changed in place, so a copy of a fold costs the number of kinds, not of sessions); `HeldIndex` is the
read-only view the facts carry. Both answer exactly as filtering and sorting `sessions` would.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
from typing import TypeVar

from rules.model import Session

held_order = attrgetter("held_on", "session_id")
K = TypeVar("K")


def _held_on(session: Session) -> date:
    return session.held_on


@dataclass(frozen=True)
class HeldIndex:
    """The sessions by kind and by (kind, worker), each in held order (held on, then session id)."""

    by_kind: Mapping[str, Sequence[Session]]
    by_kind_worker: Mapping[tuple[str, str], Sequence[Session]]
    with_actions: Sequence[Session]

    def of_kinds(self, kinds: frozenset[str]) -> list[Session]:
        return _merged([run for kind in kinds if (run := self.by_kind.get(kind))])

    def own_since(self, kinds: frozenset[str], worker_id: str, since: date) -> list[Session]:
        """The worker's sessions of these kinds held on or after `since`, in held order."""
        runs = []
        for kind in kinds:
            run = self.by_kind_worker.get((kind, worker_id))
            if run:
                at = bisect_left(run, since, key=_held_on)
                if at < len(run):
                    runs.append(run[at:])
        return _merged(runs)

    def has_kind(self, kinds: frozenset[str]) -> bool:
        return any(self.by_kind.get(kind) for kind in kinds)


def _merged(runs: list[Sequence[Session]]) -> list[Session]:
    if len(runs) == 1:
        return list(runs[0])
    found = [s for run in runs for s in run]
    found.sort(key=held_order)
    return found


@dataclass
class SessionsKept:
    """The builder a fold keeps: add sessions in any order, read a `HeldIndex`."""

    by_kind: dict[str, list[Session]] = field(default_factory=dict)
    by_kind_worker: dict[tuple[str, str], list[Session]] = field(default_factory=dict)
    with_actions: list[Session] = field(default_factory=list)

    def add(self, session: Session) -> None:
        # A new list each time (one copy of that run, in C), so copies of this builder share the old ones safely.
        _insert(self.by_kind, session.kind, session)
        _insert(self.by_kind_worker, (session.kind, session.worker_id), session)
        if session.actions:
            self.with_actions = [*self.with_actions, session]

    def copy(self) -> SessionsKept:
        return SessionsKept(dict(self.by_kind), dict(self.by_kind_worker), self.with_actions)

    def index(self) -> HeldIndex:
        return HeldIndex(dict(self.by_kind), dict(self.by_kind_worker), self.with_actions)


def _insert(runs: dict[K, list[Session]], key: K, session: Session) -> None:
    run = list(runs.get(key, ()))
    insort(run, session, key=held_order)
    runs[key] = run
