"""What every schedule type is: how a pack writes it, what it can time, and the due date it gives.

A schedule only works out a date from a `Clock`; which rules apply, which sessions count and how the
obligation is named stay with the engine's level modules, so a new schedule type is one new module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self
from zoneinfo import ZoneInfo

from rules.calendar import WorkingCalendar
from rules.explain import held
from rules.makers import maker
from rules.model import Basis, Booking, Session, WorkerFacts

if TYPE_CHECKING:  # hints only: the pack loads the schedules, so they cannot load it
    from rules.pack import Rule
    from rules.pack.reader import Reader

LONDON = ZoneInfo("Europe/London")


def booked_on(booking: Booking) -> date:
    return _london_day(booking.starts_at)


@lru_cache(maxsize=1 << 16)
def _london_day(starts_at: datetime) -> date:
    # A worker's evaluation asks the day of each booking three or four times (its agenda, its record, booking
    # ahead), and converting to London time costs ten times looking the answer up.
    return starts_at.astimezone(LONDON).date()


@lru_cache(maxsize=1 << 16)
def basis_of(fact: str, on: date) -> Basis:
    """A Basis made once for each fact and day: thousands of subjects count from the same one, and a Basis is a
    frozen value, so they can share it rather than each make its own."""
    return Basis(fact, on)


@lru_cache(maxsize=1 << 16)
def held_basis(kind: str, on: date) -> Basis:
    """What a due date counts from after a session of `kind` held on `on` (the same for every subject)."""
    return Basis(held(kind), on)


class PersonalSupervision(Protocol):
    """A worker's personal supervision as a case's clock may ask about it: worked out once per worker (the
    engine's `workers.Personal`), since every child the worker holds asks the same."""

    def due_date(self) -> date | None:
        """When the worker's next personal supervision is due (None: nothing is due)."""
        ...

    def held_after(self, day: date) -> Basis | None:
        """What a date counts from after the worker's first personal supervision held after `day` (its
        `held_basis`), if one was."""
        ...


# Clock and Candidate are made for every slot of every subject and kept by no one, so they are not frozen: a
# frozen dataclass sets each field through object.__setattr__, twice the cost of building a plain one.
@dataclass(slots=True)
class Clock:
    """What a schedule may count from for one obligation slot, as of `as_of`.

    `sessions` are the sessions that meet the obligation (and restart its clock), in held order; `start` is
    what a first due date counts from (rule 13), `status_start` the same for a rule about a status. `since`
    is when the allocation or supervisory relationship began; `known_since`, when set, lets a rule owe only a
    start the connector heard of soon enough. `history` is every session of the subject and `met_by` the kinds
    that meet the obligation, for a deadline after a held session; `own` the holder's qualifying sessions since
    the allocation (given only when a rule reads it, `Schedule.reads_personal`). `personal`, the worker's personal supervision, is given only when a rule reads it.
    """

    as_of: date
    calendar: WorkingCalendar
    start: Basis
    sessions: Sequence[Session] = ()
    status_start: Basis | None = None
    since: date | None = None
    known_since: date | None = None
    relationship: str | None = None
    permanency_plan_agreed: bool = False
    worker: WorkerFacts | None = None
    booking: Booking | None = None
    history: Sequence[Session] = ()
    met_by: frozenset[str] = frozenset()
    own: Sequence[Session] = ()
    personal: PersonalSupervision | None = None

    def start_for(self, rule: Rule) -> Basis:
        """A rule about a status counts from the status too (rule 13). Asked only when no session has been
        held (`last_or_start`): the engine leaves `status_start` out when there is one."""
        if self.status_start is not None and rule.applies_to.statuses is not None:
            return self.status_start
        return self.start

    def last_or_start(self, rule: Rule) -> tuple[Session | None, Basis]:
        """Rules 1, 4 and 7: the last session held (even if that makes the date overdue at once), or the start."""
        if self.sessions:
            last = self.sessions[-1]
            return last, held_basis(last.kind, last.held_on)
        return None, self.start_for(rule)


@dataclass(slots=True)
class Candidate:
    """The due date one rule gives, the fact it counted from, and what a schedule adds to the obligation:
    its cycle, form fields, sentences, which of several owed it is ("1 of 2"), and the supervisor of the
    session it counted from."""

    rule: Rule
    due: date
    basis: Basis
    cycle: int | None = None
    form: tuple[tuple[str, str], ...] = ()
    more: tuple[str, ...] = ()
    part: str = ""
    supervisor_id: str | None = None


# Made for every slot of every subject: through these, not their classes (rules/makers.py says why).
new_clock = maker(Clock)
new_candidate = maker(Candidate)


class Schedule:
    """A schedule type. Subclasses are frozen dataclasses registered in `registry.SCHEDULES`."""

    type: ClassVar[str]  # the name pack files use
    times: ClassVar[frozenset[str]]  # the obligation kinds it can time
    required: ClassVar[frozenset[str]] = frozenset()  # its keys besides `type`
    allowed: ClassVar[frozenset[str]] = frozenset()
    sets_due_dates: ClassVar[bool] = True
    # Set when the schedule times an obligation of its own beside the kind's usual one (its scope).
    scope: ClassVar[str | None] = None
    # True when `applies` or `due` read `clock.as_of`: the day of evaluation alone can change what the rule
    # gives, so such a schedule must say when (`changes_after`) for the daily run to skip subjects safely.
    depends_on_date: ClassVar[bool] = False
    # True when `due` reads `clock.own` or `clock.personal`: the engine works them out only for such rules.
    reads_personal: ClassVar[bool] = False

    @classmethod
    def parse(cls, table: Mapping[str, Any], kind: str, reader: Reader) -> Self:
        """Checks the pack's table (its keys already checked against `required` and `allowed`) and builds it."""
        raise NotImplementedError

    def applies(self, clock: Clock) -> bool:
        """Whether the rule takes part in settling the slot at all (a specific rule out of force lets the
        general ones count, rule 3)."""
        return True

    def due(self, rule: Rule, clock: Clock) -> Candidate | None:
        """The due date this rule gives, or None when it owes nothing now."""
        return None

    def changes_after(self, clock: Clock) -> Iterable[date]:
        """Days after `clock.as_of` on which this rule could give something else with the same facts (only
        needed when `depends_on_date`); a day that changes nothing may be named, a day that does must be."""
        return ()

    def marks(self, clock: Clock) -> Iterable[str]:
        """Ids of the facts that each start a new cycle of the rule's obligation, where the schedule says."""
        return ()
