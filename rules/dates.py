"""Date arithmetic the policies use: weeks as days, calendar months, month ends (leap years included)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import lru_cache


class _Steps(dict[int, timedelta]):
    """A timedelta of each number of days, made once: making one costs several times adding it to a date, and
    the rules add the same few (their packs' intervals) for every subject."""

    def __missing__(self, days: int) -> timedelta:
        step = timedelta(days=days)
        if -_KEPT <= days <= _KEPT:
            self[days] = step
        return step


_KEPT = 3660  # ten years of days either way: every interval a pack can name, and more
_STEPS = _Steps()


def add_days(day: date, days: int) -> date:
    return day + _STEPS[days]


def add_weeks(day: date, weeks: int) -> date:
    """A policy's week is 7 days: "four weekly" is 28 days."""
    return day + _STEPS[7 * weeks]


# The month arithmetic below is asked for the same few hundred days by every subject (a session's, a start's):
# each answer is kept, as the calendar module and date.replace cost more than looking it up.
@lru_cache(maxsize=1 << 14)
def month_end(day: date) -> date:
    """The last day of `day`'s month (29 February in a leap year)."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


@lru_cache(maxsize=1 << 14)
def add_months(day: date, months: int) -> date:
    """ "N calendar months after": the same day N months later, or that month's last day when it is shorter
    (31 January + 1 month = 28 February, or 29 February in a leap year). N may be negative."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@lru_cache(maxsize=1 << 14)
def end_of_next_month(day: date) -> date:
    """Calendar-month rules: the last day of the month after `day`'s month."""
    return month_end(add_months(day.replace(day=1), 1))


def year_starting(day: date, month: int, start_day: int = 1) -> date:
    """The start of the yearly period (e.g. 1 April) that contains `day`."""
    start = date(day.year, month, start_day)
    return start if day >= start else date(day.year - 1, month, start_day)


@lru_cache(maxsize=4096)
def format_day(day: date) -> str:
    """'2 Nov 2026', as a practitioner reads it."""
    return f"{day.day} {day:%b %Y}"
