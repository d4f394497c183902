"""Every schedule type a pack may name. A new type is one module beside the others, listed here."""

from __future__ import annotations

from rules.schedules.after_session import AfterSession
from rules.schedules.assignment import Assignment
from rules.schedules.base import Schedule
from rules.schedules.before_booking import BeforeBooking
from rules.schedules.booked_ahead import BookedAhead
from rules.schedules.calendar_month import CalendarMonth
from rules.schedules.form_content import FormContent
from rules.schedules.interval import Interval
from rules.schedules.once_after import OnceAfter
from rules.schedules.phased import Phased
from rules.schedules.shifts import Shifts
from rules.schedules.with_personal_supervision import WithPersonalSupervision
from rules.schedules.yearly_count import YearlyCount

SCHEDULES: dict[str, type[Schedule]] = {
    cls.type: cls
    for cls in (
        Interval,
        CalendarMonth,
        Phased,
        Shifts,
        OnceAfter,
        AfterSession,
        BeforeBooking,
        BookedAhead,
        YearlyCount,
        WithPersonalSupervision,
        FormContent,
        Assignment,
    )
}


class UnknownSchedule(LookupError):
    """A schedule type no module provides; the message names the known ones."""


def schedule_type(name: object) -> type[Schedule]:
    found = SCHEDULES.get(name) if isinstance(name, str) else None
    if found is None:
        raise UnknownSchedule(f"'schedule' needs a 'type', one of {', '.join(SCHEDULES)}; not {name!r}")
    return found
