"""`yearly_count`: N sessions in each year from `year_starts`, due by its last day; a reminder date if none is done."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Self

from rules.dates import add_days, format_day, year_starting
from rules.model import Basis
from rules.schedules.base import Candidate, Clock, Schedule, new_candidate

if TYPE_CHECKING:
    from rules.pack import Rule
    from rules.pack.reader import Reader


@dataclass(frozen=True)
class YearlyCount(Schedule):
    type: ClassVar[str] = "yearly_count"
    times: ClassVar[frozenset[str]] = frozenset({"practice_observation"})
    required: ClassVar[frozenset[str]] = frozenset({"count", "year_starts"})
    allowed: ClassVar[frozenset[str]] = frozenset({"reminder"})
    count: int = 1
    year_starts: tuple[int, int] = (4, 1)
    reminder: tuple[int, int] | None = None
    depends_on_date: ClassVar[bool] = True

    @classmethod
    def parse(cls, table: Mapping[str, Any], kind: str, reader: Reader) -> Self:
        return cls(
            count=reader.positive(table["count"], "count"),
            year_starts=reader.month_day(table["year_starts"], "year_starts"),
            reminder=reader.month_day(table["reminder"], "reminder") if "reminder" in table else None,
        )

    def changes_after(self, clock: Clock) -> Iterable[date]:
        # A new practice year, and the day after the reminder date (its sentence and form field change then).
        begins = year_starting(clock.as_of, *self.year_starts)
        yield date(begins.year + 1, begins.month, begins.day)
        if self.reminder is not None:
            month, day = self.reminder
            for year in (begins.year, begins.year + 1):
                after = add_days(date(year, month, day), 1)
                if after > clock.as_of:
                    yield after

    def due(self, rule: Rule, clock: Clock) -> Candidate | None:
        begins = year_starting(clock.as_of, *self.year_starts)
        ends = add_days(date(begins.year + 1, begins.month, begins.day), -1)
        done = sum(1 for s in clock.sessions if begins <= s.held_on <= ends)
        if done >= self.count:
            return None
        number = done + 1
        more: list[str] = []
        form = [("observations_done", f"{done} of {self.count}")]
        if done == 0 and self.reminder is not None:
            month, day = self.reminder
            reminder = date(begins.year if (month, day) >= self.year_starts else begins.year + 1, month, day)
            # The connector knows only the sessions it saw since it first heard of the worker: it says no more.
            known = clock.worker.known_since if clock.worker is not None else None
            heard = known if known is not None and known > begins else None
            if clock.as_of <= reminder:
                more.append(f"a reminder falls on {format_day(reminder)} if none is recorded by then")
            elif heard is None:
                more.append(f"none was recorded by the reminder date, {format_day(reminder)}")
            else:
                more.append(
                    f"none has been recorded since the connector first heard of the worker on {format_day(heard)}"
                )
            # A reminder date that passed before the connector knew the worker is not sent as if due then.
            if heard is None or heard <= reminder:
                form.append(("reminder_on", reminder.isoformat()))
        # One cycle per session owed in each year, e.g. 202601 and 202602 for the year from April 2026.
        return new_candidate(
            rule,
            ends,
            Basis("start of the practice year", begins),
            cycle=begins.year * 100 + number,
            form=tuple(form),
            more=tuple(more),
            part=f"{number} of {self.count}",
        )
