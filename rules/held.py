"""A subject's held sessions indexed the way the rules ask of them, so a long history is never passed over.

The rules ask "the sessions of these kinds, in held order", "this worker's sessions of these kinds since that
day" and "the sessions that agreed actions"; a worker with ten thousand earlier sessions asks the same questions
as one with ten. `SessionsKept` is built beside a fold's sessions one session at a time, in place (a copy of each run per
session would touch every session, and that alone grew with the history); `HeldIndex` is the view the facts
carry, valid until its fold takes its next session. Both answer exactly as filtering and sorting `sessions`
would. `Prefix` is a fold's append-only session list as it stood, without copying it.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from operator import attrgetter
from typing import overload

from rules.model import Session

held_order = attrgetter("held_on", "session_id")


def _held_on(session: Session) -> date:
    return session.held_on


@dataclass(frozen=True)
class HeldIndex:
    """The sessions by kind and by (kind, worker), each in held order (held on, then session id)."""

    by_kind: Mapping[str, Sequence[Session]]
    by_kind_worker: Mapping[tuple[str, str], Sequence[Session]]
    with_actions: Sequence[Session]

    def of_kinds(self, kinds: frozenset[str]) -> Sequence[Session]:
        return _merged([run for kind in kinds if (run := self.by_kind.get(kind))])

    def own_since(self, kinds: frozenset[str], worker_id: str, since: date) -> Sequence[Session]:
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


def _merged(runs: list[Sequence[Session]]) -> Sequence[Session]:
    if len(runs) == 1:
        return runs[0]
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
        insort(self.by_kind.setdefault(session.kind, []), session, key=held_order)
        insort(self.by_kind_worker.setdefault((session.kind, session.worker_id), []), session, key=held_order)
        if session.actions:
            self.with_actions.append(session)

    def copy(self) -> SessionsKept:
        return SessionsKept(
            {k: list(v) for k, v in self.by_kind.items()},
            {k: list(v) for k, v in self.by_kind_worker.items()},
            list(self.with_actions),
        )

    def index(self) -> HeldIndex:
        return HeldIndex(dict(self.by_kind), dict(self.by_kind_worker), self.with_actions)


class Prefix(Sequence[Session]):
    """The first `len` sessions of a list that is only ever appended to: an unchanging sequence, in O(1)."""

    __slots__ = ("_items", "_length")

    def __init__(self, items: list[Session]) -> None:
        self._items = items
        self._length = len(items)

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, at: int) -> Session: ...
    @overload
    def __getitem__(self, at: slice) -> Sequence[Session]: ...
    def __getitem__(self, at: int | slice) -> Session | Sequence[Session]:
        if isinstance(at, slice):
            return tuple(self._items[: self._length][at])
        if at < 0:
            at += self._length
        if not 0 <= at < self._length:
            raise IndexError(at)
        return self._items[at]

    def __iter__(self) -> Iterator[Session]:
        return islice(self._items, self._length)

    def __reversed__(self) -> Iterator[Session]:
        return islice(reversed(self._items), len(self._items) - self._length, None)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(other) == self._length and all(a == b for a, b in zip(self, other, strict=False))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Prefix({list(self)!r})"
