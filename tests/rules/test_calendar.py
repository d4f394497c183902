"""Working days: weekends, England and Wales bank holidays (substitute days included), a council's closures."""

from __future__ import annotations

from datetime import date

from rules.calendar import WorkingCalendar


def test_weekends_are_not_working_days() -> None:
    calendar = WorkingCalendar()
    assert calendar.is_working_day(date(2026, 11, 20))  # Friday
    assert not calendar.is_working_day(date(2026, 11, 21))
    assert not calendar.is_working_day(date(2026, 11, 22))


def test_english_bank_holidays_include_easter_monday_august_and_substitute_days() -> None:
    calendar = WorkingCalendar()
    assert not calendar.is_working_day(date(2026, 4, 6))  # Easter Monday: England only, not all of GB
    assert not calendar.is_working_day(date(2026, 8, 31))  # August bank holiday, England's date
    assert not calendar.is_working_day(date(2026, 12, 25))
    # Boxing Day 2026 is a Saturday: its substitute is Monday 28 December.
    assert not calendar.is_working_day(date(2026, 12, 28))
    assert calendar.bank_holiday_name(date(2026, 12, 28)) is not None
    assert calendar.is_working_day(date(2026, 12, 29))


def test_adding_working_days_over_christmas_2026() -> None:
    calendar = WorkingCalendar()
    # Thu 24 Dec + 3 working days: skips Fri 25 (Christmas), the weekend and Mon 28 (Boxing Day substitute).
    assert calendar.add_working_days(date(2026, 12, 24), 3) == date(2026, 12, 31)
    assert calendar.add_working_days(date(2026, 11, 20), 3) == date(2026, 11, 25)
    assert calendar.add_working_days(date(2026, 11, 21), 1) == date(2026, 11, 23)  # from a Saturday
    assert calendar.add_working_days(date(2026, 11, 20), 0) == date(2026, 11, 20)


def test_a_councils_own_closure_days_are_not_working_days() -> None:
    calendar = WorkingCalendar([date(2026, 12, 29), date(2026, 12, 30)])
    assert not calendar.is_working_day(date(2026, 12, 29))
    assert calendar.add_working_days(date(2026, 12, 24), 3) == date(2027, 1, 5)


def test_answers_kept_by_one_calendar_stay_its_own() -> None:
    # Each calendar keeps the answers it gave: a council's closures must not reach another council's calendar.
    closed, open_ = WorkingCalendar([date(2026, 12, 29)]), WorkingCalendar()
    for _ in range(2):  # the second time from what each kept
        assert not closed.is_working_day(date(2026, 12, 29))
        assert open_.is_working_day(date(2026, 12, 29))
        assert closed.add_working_days(date(2026, 12, 24), 2) == date(2026, 12, 31)
        assert open_.add_working_days(date(2026, 12, 24), 2) == date(2026, 12, 30)
