from datetime import date

import pytest

from rules.calendar import WorkingCalendar
from rules.dates import add_months, end_of_next_month, format_day, month_end, year_starting


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2026, 11, 2), 6, date(2027, 5, 2)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
    ],
)
def test_calendar_months_clamp_to_the_month_end(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


def test_month_ends() -> None:
    assert month_end(date(2028, 2, 3)) == date(2028, 2, 29)
    assert end_of_next_month(date(2026, 1, 31)) == date(2026, 2, 28)
    assert end_of_next_month(date(2026, 12, 1)) == date(2027, 1, 31)


def test_year_starting_1_april() -> None:
    assert year_starting(date(2027, 3, 31), 4) == date(2026, 4, 1)
    assert year_starting(date(2027, 4, 1), 4) == date(2027, 4, 1)


def test_christmas_2026_with_boxing_days_substitute() -> None:
    calendar = WorkingCalendar()
    # 25 Dec is a Friday, 26 Dec a Saturday: its substitute is Monday 28 December.
    assert not calendar.is_working_day(date(2026, 12, 28))
    assert calendar.add_working_days(date(2026, 12, 23), 3) == date(2026, 12, 30)


def test_english_bank_holidays_and_council_closures() -> None:
    calendar = WorkingCalendar(closures=[date(2026, 12, 24)])
    assert not calendar.is_working_day(date(2026, 4, 6))  # Easter Monday (England)
    assert not calendar.is_working_day(date(2026, 8, 31))  # Summer bank holiday (England)
    assert not calendar.is_working_day(date(2026, 12, 24))  # the council's own closure
    assert calendar.add_working_days(date(2026, 12, 23), 1) == date(2026, 12, 29)


def test_format_day() -> None:
    assert format_day(date(2026, 11, 2)) == "2 Nov 2026"
