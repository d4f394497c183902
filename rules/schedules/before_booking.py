"""`before_booking`: N hours before a booked session starts (an agenda shared ahead of it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Self

from rules import codes
from rules.explain import label
from rules.model import Basis
from rules.schedules.base import LONDON, Candidate, Clock, Schedule, booked_on, new_candidate

if TYPE_CHECKING:
    from rules.pack import Rule
    from rules.pack.reader import Reader


@dataclass(frozen=True)
class BeforeBooking(Schedule):
    type: ClassVar[str] = "before_booking"
    times: ClassVar[frozenset[str]] = frozenset({"agenda"})
    required: ClassVar[frozenset[str]] = frozenset({"booking_kinds", "hours"})
    booking_kinds: frozenset[str] = frozenset()
    hours: int = 24

    @classmethod
    def parse(cls, table: Mapping[str, Any], kind: str, reader: Reader) -> Self:
        return cls(
            booking_kinds=reader.codes(table["booking_kinds"], "booking_kinds", codes.OBLIGATION_KINDS),
            hours=reader.positive(table["hours"], "hours"),
        )

    def due(self, rule: Rule, clock: Clock) -> Candidate | None:
        booking = clock.booking
        if booking is None or booking.kind not in self.booking_kinds:
            return None
        due = (booking.starts_at - timedelta(hours=self.hours)).astimezone(LONDON).date()
        return new_candidate(rule, due, Basis(f"{label(booking.kind)} booked", booked_on(booking)))
