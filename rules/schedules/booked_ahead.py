"""`booked_ahead`: sessions booked at least N calendar months ahead; owed when bookings stop reaching that far."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Self

from rules import codes
from rules.dates import add_days, add_months
from rules.model import Basis, Booking
from rules.schedules.base import Candidate, Clock, Schedule, booked_on, new_candidate

if TYPE_CHECKING:
    from rules.pack import Rule
    from rules.pack.reader import Reader


@dataclass(frozen=True)
class BookedAhead(Schedule):
    type: ClassVar[str] = "booked_ahead"
    times: ClassVar[frozenset[str]] = frozenset({"supervision_booking"})
    required: ClassVar[frozenset[str]] = frozenset({"booking_kinds", "months"})
    scope: ClassVar[str | None] = "booking-ahead"
    booking_kinds: frozenset[str] = frozenset()
    months: int = 3
    depends_on_date: ClassVar[bool] = True

    @classmethod
    def parse(cls, table: Mapping[str, Any], kind: str, reader: Reader) -> Self:
        return cls(
            booking_kinds=reader.codes(table["booking_kinds"], "booking_kinds", codes.OBLIGATION_KINDS),
            months=reader.positive(table["months"], "months"),
        )

    def _bookings(self, clock: Clock) -> list[Booking]:
        bookings = clock.worker.bookings if clock.worker is not None else ()
        return [b for b in bookings if b.kind in self.booking_kinds]

    def marks(self, clock: Clock) -> Iterable[str]:
        # A new booking starts a new cycle; a cancellation only moves the date.
        return (b.booking_id for b in self._bookings(clock))

    def changes_after(self, clock: Clock) -> Iterable[date]:
        # The first day whose horizon reaches past the furthest booking: from then it no longer suffices.
        furthest = max((booked_on(b) for b in self._bookings(clock) if not b.cancelled), default=None)
        if furthest is None or furthest < add_months(clock.as_of, self.months):
            return ()  # owed already, from a date the day does not move: only a new booking changes it
        # add_months clamps to a month's last day, so step to the exact day rather than inverting it.
        day = max(add_days(clock.as_of, 1), add_days(add_months(furthest, -self.months), -3))
        while add_months(day, self.months) <= furthest:
            day = add_days(day, 1)
        return (day,)

    def due(self, rule: Rule, clock: Clock) -> Candidate | None:
        furthest = max((booked_on(b) for b in self._bookings(clock) if not b.cancelled), default=None)
        if furthest is None:
            return new_candidate(rule, clock.start.on, clock.start)
        if furthest >= add_months(clock.as_of, self.months):
            return None
        # Bookings stopped reaching far enough the day after the furthest was exactly that far ahead.
        due = max(add_days(add_months(furthest, -self.months), 1), clock.start.on)
        return new_candidate(rule, due, Basis("furthest session booked", furthest))
