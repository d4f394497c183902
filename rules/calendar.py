"""Working days: Monday to Friday, not an England and Wales bank holiday, not a council's own closure day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import holidays


class WorkingCalendar:
    def __init__(self, closures: Iterable[date] = ()) -> None:
        # subdiv="ENG": plain GB misses England's Easter Monday and August bank holiday; substitute days included.
        self._bank_holidays = holidays.country_holidays("GB", subdiv="ENG")
        self._closures = frozenset(closures)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._bank_holidays and day not in self._closures

    def add_working_days(self, day: date, count: int) -> date:
        """The `count`th working day after `day` (day itself not counted)."""
        current = day
        remaining = count
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def bank_holiday_name(self, day: date) -> str | None:
        name = self._bank_holidays.get(day)
        return None if name is None else str(name)
