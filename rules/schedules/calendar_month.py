"""`calendar_month`: at least once in each calendar month (rule 2)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

from rules.dates import end_of_next_month, month_end
from rules.kinds import CLOCKED
from rules.schedules.base import Candidate, Clock, Schedule, new_candidate

if TYPE_CHECKING:
    from rules.pack import Rule
    from rules.pack.reader import Reader


@dataclass(frozen=True)
class CalendarMonth(Schedule):
    type: ClassVar[str] = "calendar_month"
    times: ClassVar[frozenset[str]] = CLOCKED

    @classmethod
    def parse(cls, table: Mapping[str, Any], kind: str, reader: Reader) -> Self:
        return cls()

    def due(self, rule: Rule, clock: Clock) -> Candidate | None:
        # Rule 2: by the end of the month after the last session's; with none, by the end of the first month.
        last, basis = clock.last_or_start(rule)
        due = end_of_next_month(basis.on) if last is not None else month_end(basis.on)
        return new_candidate(rule, due, basis)
