"""`after_session`: a deadline after a booked session (met when it is recorded, rule 11) or after a held one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Self

from rules import codes
from rules.calendar import WorkingCalendar
from rules.dates import add_days
from rules.explain import held, label
from rules.model import Basis, Session, StatusSpell
from rules.schedules.base import Candidate, Clock, Schedule, booked_on, new_candidate

if TYPE_CHECKING:
    from collections.abc import Callable

    from rules.pack import Rule
    from rules.pack.reader import Reader

# What each obligation kind's deadline comes after.
AFTER = {"supervision_record": "booking", "dip_sample": "session"}


@dataclass(frozen=True)
class AfterSession(Schedule):
    type: ClassVar[str] = "after_session"
    times: ClassVar[frozenset[str]] = frozenset(AFTER)
    required: ClassVar[frozenset[str]] = frozenset({"after"})
    allowed: ClassVar[frozenset[str]] = frozenset(
        {"booking_kinds", "session_kinds", "working_days", "calendar_days", "significant_calendar_days"}
    )
    after: str = "booking"
    kinds: frozenset[str] = frozenset()
    working_days: int | None = None
    calendar_days: int | None = None
    significant_calendar_days: int | None = None

    @classmethod
    def parse(cls, table: Mapping[str, Any], kind: str, reader: Reader) -> Self:
        after = table["after"]
        expected = AFTER[kind]
        if after != expected:
            raise reader.fail(f"'after' for {kind} must be {expected!r}, not {after!r}")
        key = "booking_kinds" if after == "booking" else "session_kinds"
        other = "session_kinds" if after == "booking" else "booking_kinds"
        if key not in table or other in table:
            raise reader.fail(f"an after_session schedule after a {after} needs '{key}' (and not '{other}')")
        kinds = reader.codes(
            table[key], key, codes.OBLIGATION_KINDS if after == "booking" else codes.SESSION_KINDS
        )
        if ("working_days" in table) == ("calendar_days" in table):
            raise reader.fail(
                "an after_session schedule needs exactly one of 'working_days' and 'calendar_days'"
            )
        significant = table.get("significant_calendar_days")
        return cls(
            after=after,
            kinds=kinds,
            working_days=reader.positive(table["working_days"], "working_days")
            if "working_days" in table
            else None,
            calendar_days=(
                reader.positive(table["calendar_days"], "calendar_days") if "calendar_days" in table else None
            ),
            significant_calendar_days=(
                None if significant is None else reader.positive(significant, "significant_calendar_days")
            ),
        )

    def deadline(self, day: date, significant: bool, calendar: WorkingCalendar) -> date:
        if significant and self.significant_calendar_days is not None:
            return add_days(day, self.significant_calendar_days)
        if self.working_days is not None:
            return calendar.add_working_days(day, self.working_days)
        return add_days(day, self.calendar_days or 0)

    def applies(self, clock: Clock) -> bool:
        # A record rule is about the bookings of its kinds only: another kind's rule never competes (rule 3).
        return clock.booking is None or clock.booking.kind in self.kinds

    def due(self, rule: Rule, clock: Clock) -> Candidate | None:
        if self.after == "booking":
            booking = clock.booking
            if booking is None or booking.kind not in self.kinds:
                return None
            day = booked_on(booking)
            basis = Basis(f"{label(booking.kind)} booked", day)
            return new_candidate(rule, self.deadline(day, False, clock.calendar), basis)
        sessions = sorted(
            (s for s in clock.history if s.kind in self.kinds), key=lambda s: (s.held_on, s.session_id)
        )
        if not sessions:
            return None
        latest = sessions[-1]
        if any(s.kind in clock.met_by and s.held_on >= latest.held_on for s in clock.history):
            return None
        # Each session starts the next cycle: the one owed is the one after the latest session.
        return new_candidate(
            rule,
            self.deadline(latest.held_on, False, clock.calendar),
            Basis(held(latest.kind), latest.held_on),
            cycle=len(sessions),
            supervisor_id=latest.supervisor_id,
        )


def record_deadline(
    rules: Iterable[Rule],
    session: Session,
    status: StatusSpell | None,
    sessions_for: Callable[[str], frozenset[str]],
    calendar: WorkingCalendar,
) -> tuple[date, Rule] | None:
    """When a session held without a booking should have been recorded, by the record rules (rule 11): the
    earliest deadline, a specific rule winning a tie."""
    best: tuple[date, Rule] | None = None
    for rule in rules:
        schedule = rule.schedule
        if not isinstance(schedule, AfterSession):
            continue
        if not any(session.kind in sessions_for(k) for k in schedule.kinds):
            continue
        statuses = rule.applies_to.statuses
        if statuses is not None and (status is None or status.status not in statuses):
            continue
        due = schedule.deadline(session.held_on, session.significant, calendar)
        if best is None or due < best[0] or (rule.precedence == "specific" and due == best[0]):
            best = (due, rule)
    return best
