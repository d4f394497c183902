"""Weeks, calendar months and month ends, including 31 January and 29 February 2028."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from rules.dates import (
    add_days,
    add_months,
    add_weeks,
    end_of_next_month,
    format_day,
    month_end,
    year_starting,
)


def test_a_week_is_seven_days() -> None:
    assert add_weeks(date(2026, 11, 2), 4) == add_days(date(2026, 11, 2), 28) == date(2026, 11, 30)


@pytest.mark.parametrize(
    ("day", "end"),
    [
        (date(2026, 1, 31), date(2026, 1, 31)),
        (date(2027, 2, 3), date(2027, 2, 28)),
        (date(2028, 2, 3), date(2028, 2, 29)),
        (date(2026, 12, 1), date(2026, 12, 31)),
    ],
)
def test_month_end(day: date, end: date) -> None:
    assert month_end(day) == end


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2026, 11, 2), 6, date(2027, 5, 2)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2027, 3, 31), -1, date(2027, 2, 28)),
        (date(2027, 2, 15), -3, date(2026, 11, 15)),
    ],
)
def test_calendar_months_after(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2027, 1, 31), date(2027, 2, 28)),
        (date(2028, 1, 1), date(2028, 2, 29)),
        (date(2026, 12, 31), date(2027, 1, 31)),
        (date(2026, 11, 2), date(2026, 12, 31)),
    ],
)
def test_end_of_next_month(day: date, expected: date) -> None:
    assert end_of_next_month(day) == expected


def test_the_year_from_1_april() -> None:
    assert year_starting(date(2027, 3, 31), 4) == date(2026, 4, 1)
    assert year_starting(date(2027, 4, 1), 4) == date(2027, 4, 1)


def test_a_day_as_a_practitioner_reads_it() -> None:
    assert format_day(date(2026, 11, 2)) == "2 Nov 2026"


@pytest.mark.parametrize("days", [0, 1, -1, 28, -3660, 3660, 3661, -40_000, 40_000])
def test_adding_days_within_and_beyond_the_steps_kept(days: int) -> None:
    day = date(2026, 11, 2)
    for _ in range(2):  # the second time from the step kept, where one is
        assert add_days(day, days) == day + timedelta(days=days)
