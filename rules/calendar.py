"""Working days: Monday to Friday, not an England and Wales bank holiday, not a council's own closure day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import holidays

_DAY = timedelta(days=1)
_KEPT = 100_000  # answers kept at most (decades of days: a bound, not a limit a caseload meets)


class WorkingCalendar:
    def __init__(self, closures: Iterable[date] = ()) -> None:
        # subdiv="ENG": plain GB misses England's Easter Monday and August bank holiday; substitute days included.
        self._bank_holidays = holidays.country_holidays("GB", subdiv="ENG")
        self._closures = frozenset(closures)

        # Answers kept per day: `holidays` looks each day up in Python (normalising its key, filling in a year
        # the first time), and every recording deadline of every subject asks about the same few weeks.
        self._working: dict[date, bool] = {}
        self._after: dict[tuple[date, int], date] = {}

    def is_working_day(self, day: date) -> bool:
        known = self._working.get(day)
        if known is None:
            known = day.weekday() < 5 and day not in self._bank_holidays and day not in self._closures
            if len(self._working) < _KEPT:
                self._working[day] = known
        return known

    def add_working_days(self, day: date, count: int) -> date:
        """The `count`th working day after `day` (day itself not counted)."""
        found = self._after.get((day, count))
        if found is not None:
            return found
        current = day
        remaining = count
        while remaining > 0:
            current += _DAY
            if self.is_working_day(current):
                remaining -= 1
        if len(self._after) < _KEPT:
            self._after[(day, count)] = current
        return current

    def bank_holiday_name(self, day: date) -> str | None:
        name = self._bank_holidays.get(day)
        return None if name is None else str(name)
