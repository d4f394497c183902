"""`shifts`: due on the date of the Nth shift worked since the last session (rule 10)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

from rules.explain import ordinal
from rules.model import Basis
from rules.schedules.base import Candidate, Clock, Schedule, new_candidate

if TYPE_CHECKING:
    from rules.pack import Rule
    from rules.pack.reader import Reader


@dataclass(frozen=True)
class Shifts(Schedule):
    type: ClassVar[str] = "shifts"
    times: ClassVar[frozenset[str]] = frozenset({"personal_supervision"})
    required: ClassVar[frozenset[str]] = frozenset({"every_shifts"})
    every_shifts: int = 8

    @classmethod
    def parse(cls, table: Mapping[str, Any], kind: str, reader: Reader) -> Self:
        return cls(reader.positive(table["every_shifts"], "every_shifts"))

    def due(self, rule: Rule, clock: Clock) -> Candidate | None:
        if clock.worker is None:
            return None
        last = clock.sessions[-1] if clock.sessions else None
        since = [d for d in clock.worker.shifts if (d > last.held_on if last else d >= clock.start.on)]
        if len(since) < self.every_shifts:
            return None
        day = since[self.every_shifts - 1]
        return new_candidate(
            rule, day, Basis(f"{ordinal(self.every_shifts)} shift worked since the last supervision", day)
        )
