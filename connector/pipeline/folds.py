"""Fold states: a case's, worker's or team's facts built one event at a time, so they can be kept.

`apply(event)` takes events in `(occurred_at, event id)` order; `facts()` says what the events so far tell. A
full re-fold is the same code path (apply every event in order to a fresh state), which is what
`connector/pipeline/facts.py` does, so a kept state and a re-fold cannot drift apart. Each state also keeps
what the ledger's met-check and the processor's expansion need (held sessions, standing bookings, the cases
and teams a worker was in), so neither reads a subject's raw events again.
"""

from __future__ import annotations

import copy
from bisect import insort
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Self, TypeAlias
from zoneinfo import ZoneInfo

from connector.store.event_codec import utc_position
from rules.events import (
    CaseAllocated,
    CaseClosed,
    CaseDeallocated,
    CaseStatusChanged,
    CaseTransferred,
    Event,
    ShiftWorked,
    SupervisionBooked,
    SupervisionRecorded,
    WorkerLeave,
    WorkerUpdated,
)
from rules.held import Prefix, SessionsKept
from rules.model import (
    AgreedAction,
    Booking,
    CaseAllocation,
    CaseFacts,
    Leave,
    Session,
    StatusSpell,
    TeamFacts,
    WorkerFacts,
)

LONDON = ZoneInfo("Europe/London")
TEAM_FACT_EVENTS = (WorkerUpdated, SupervisionRecorded, SupervisionBooked)
TEAM_FACT_TYPES = frozenset(kind.type_name for kind in TEAM_FACT_EVENTS)
# Rule 13: a joining the connector hears of within this many days is a joining it saw happen.
SEEN_WITHIN = timedelta(days=28)

# Where a fold has got to: the UTC `occurred_at` (fixed-width text, so it sorts as the moment does) and event id.
Position: TypeAlias = tuple[str, str]


def position(event: Event) -> Position:
    return position_of(event.occurred_at, event.event_id)


def position_of(moment: datetime, event_id: str) -> Position:
    return utc_position(moment), event_id


def local_date(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


def session_of(event: SupervisionRecorded) -> Session:
    return Session(
        session_id=event.event_id,
        kind=event.kind,
        worker_id=event.worker_id,
        supervisor_id=event.supervisor_id,
        team_id=event.team_id,
        case_ids=event.case_ids_discussed,
        held_on=event.held_on,
        recorded_on=event.recorded_on,
        significant=event.significant,
        step_ref=event.step_ref,
        actions=tuple(AgreedAction(a.owner_worker_id, a.due_date) for a in event.actions),
    )


def booking_of(event: SupervisionBooked) -> Booking:
    return Booking(
        booking_id=event.booking_id,
        kind=event.kind,
        worker_id=event.worker_id,
        supervisor_id=event.supervisor_id,
        team_id=event.team_id,
        case_ids=event.case_ids_discussed,
        starts_at=event.starts_at,
        duration_minutes=event.duration_minutes,
        cancelled=event.status == "cancelled",
    )


def _status(current: StatusSpell | None, event: CaseStatusChanged) -> StatusSpell:
    same = current is not None and current.status == event.status
    # A flag the event leaves out is unchanged: a Family Safeguarding case stays one through a change of plan,
    # and a Looked After child's agreed permanency plan stays agreed while the child is still Looked After.
    fsm = event.fsm if event.fsm is not None else (current.fsm if current is not None else False)
    agreed = event.permanency_plan_agreed
    if agreed is None:
        agreed = current.permanency_plan_agreed if same and current is not None else False
    looked_after = event.looked_after
    if looked_after is None:
        looked_after = current.looked_after if current is not None else False
    # The same status sent again (say, to say the permanency plan is agreed) does not restart it.
    start = current.start_date if same and current is not None else event.start_date
    return StatusSpell(event.status, start, agreed, fsm, looked_after)


def _hold(fold: CaseFold | WorkerFold | TeamFold, session: Session) -> None:
    """Keep a session in the order it was folded, in held order (ties in the order folded, as a stable sort
    would leave them: the met-check finds the session after a date by halving, not by a pass over all), and
    indexed as the rules ask of it (rules/held.py)."""
    fold.sessions.append(session)
    insort(fold.in_held_order, session, key=_held_on)
    fold.indexed.add(session)


def _held_on(session: Session) -> date:
    return session.held_on


@dataclass
class _Fold:
    """What every fold keeps: where it has got to, and the first moment it heard of its subject."""

    at: Position | None = None
    known_since: date | None = None
    applied: int = 0

    def _advance(self, event: Event) -> None:
        if self.known_since is None:
            self.known_since = local_date(event.occurred_at)
        self.at = position(event)
        self.applied += 1

    def copy(self) -> Self:
        # Containers are copied, the frozen values in them shared. The kept state changes its folds in place
        # (a copy per event touched every session); this is for a caller that must keep one as it was.
        return copy.copy(self)._own()

    def _own(self) -> Self:
        return self


@dataclass
class CaseFold(_Fold):
    case_id: str = ""
    status: StatusSpell | None = None
    allocations: dict[str, CaseAllocation] = field(default_factory=dict)
    closed_on: date | None = None
    sessions: list[Session] = field(default_factory=list)
    in_held_order: list[Session] = field(default_factory=list)
    indexed: SessionsKept = field(default_factory=SessionsKept)
    bookings: dict[str, Booking] = field(default_factory=dict)

    def _own(self) -> Self:
        self.allocations = dict(self.allocations)
        self.sessions = list(self.sessions)
        self.in_held_order = list(self.in_held_order)
        self.indexed = self.indexed.copy()
        self.bookings = dict(self.bookings)
        return self

    def apply(self, event: Event) -> None:
        if self.case_id not in event.case_ids():
            return
        self._advance(event)
        if isinstance(event, CaseAllocated):
            self.allocations[event.worker_id] = CaseAllocation(
                event.worker_id, event.team_id, event.relationship.value, event.start_date
            )
            self.closed_on = None
        elif isinstance(event, CaseTransferred):
            self.allocations.pop(event.from_worker_id, None)
            self.allocations[event.to_worker_id] = CaseAllocation(
                event.to_worker_id,
                event.to_team_id,
                event.relationship.value,
                event.transfer_date,
                transferred=True,
            )
            self.closed_on = None
        elif isinstance(event, CaseDeallocated):
            self.allocations.pop(event.worker_id, None)
        elif isinstance(event, CaseStatusChanged):
            self.status = _status(self.status, event)
            self.closed_on = None
        elif isinstance(event, CaseClosed):
            self.closed_on = event.end_date
            self.allocations.clear()
        elif isinstance(event, SupervisionRecorded):
            _hold(self, session_of(event))
        elif isinstance(event, SupervisionBooked):
            self.bookings[event.booking_id] = booking_of(event)

    def facts(self) -> CaseFacts | None:
        """The case as the events tell it, or None if none of them mentioned it."""
        if self.known_since is None:
            return None
        return CaseFacts(
            case_id=self.case_id,
            known_since=self.known_since,
            status=self.status,
            allocations=tuple(sorted(self.allocations.values(), key=lambda a: a.worker_id)),
            closed_on=self.closed_on,
            sessions=Prefix(self.sessions),
            bookings=tuple(sorted(self.bookings.values(), key=lambda b: b.booking_id)),
            held=self.indexed.index(),
        )

    def held(self) -> list[Session]:
        return self.in_held_order

    def booked(self) -> list[Booking]:
        return list(self.bookings.values())


@dataclass
class WorkerFold(_Fold):
    worker_id: str = ""
    latest: WorkerUpdated | None = None
    supervisor_since: date | None = None
    sessions: list[Session] = field(default_factory=list)
    in_held_order: list[Session] = field(default_factory=list)
    indexed: SessionsKept = field(default_factory=SessionsKept)
    shifts: set[date] = field(default_factory=set)
    bookings: dict[str, Booking] = field(default_factory=dict)
    cases: dict[str, None] = field(default_factory=dict)
    leave: dict[str, Leave | None] = field(default_factory=dict)
    # Every team a worker.updated about them named: a move leaves the old team's duties to re-evaluate too.
    teams: set[str] = field(default_factory=set)

    def _own(self) -> Self:
        self.sessions = list(self.sessions)
        self.in_held_order = list(self.in_held_order)
        self.indexed = self.indexed.copy()
        self.shifts = set(self.shifts)
        self.bookings = dict(self.bookings)
        self.cases = dict(self.cases)
        self.leave = dict(self.leave)
        self.teams = set(self.teams)
        return self

    def apply(self, event: Event) -> None:
        worker_id = self.worker_id
        if worker_id not in event.worker_ids():
            return
        self._advance(event)
        if isinstance(event, WorkerUpdated) and event.worker_id == worker_id:
            self.teams.update(event.team_ids())
            if self.latest is None:
                # The first word of the worker: a supervisor from joining, if the joining was seen (rule 13);
                # otherwise the relationship began at some unknown time before the connector heard of it.
                assert self.known_since is not None
                seen_joining = self.known_since - event.start_date <= SEEN_WITHIN
                self.supervisor_since = event.start_date if seen_joining and event.supervisor_id else None
            elif event.supervisor_id != self.latest.supervisor_id:
                self.supervisor_since = local_date(event.occurred_at) if event.supervisor_id else None
            self.latest = event
        elif isinstance(event, ShiftWorked) and event.worker_id == worker_id:
            self.shifts.add(event.shift_date)
        elif isinstance(event, WorkerLeave) and event.worker_id == worker_id:
            # The latest word on each leave wins: a cancellation takes it back.
            self.leave[event.leave_id] = (
                None
                if event.cancelled
                else Leave(event.leave_id, event.reason, event.start_date, event.end_date)
            )
        elif isinstance(event, SupervisionRecorded) and event.worker_id == worker_id:
            _hold(self, session_of(event))
        elif isinstance(event, SupervisionBooked) and event.worker_id == worker_id:
            self.bookings[event.booking_id] = booking_of(event)
        elif isinstance(event, CaseAllocated) and event.worker_id == worker_id:
            self.cases[event.case_id] = None
        elif isinstance(event, CaseTransferred):
            if event.from_worker_id == worker_id:
                self.cases.pop(event.case_id, None)
            if event.to_worker_id == worker_id:
                self.cases[event.case_id] = None
        elif isinstance(event, CaseDeallocated) and event.worker_id == worker_id:
            self.cases.pop(event.case_id, None)

    def facts(self) -> WorkerFacts | None:
        """The worker as the events tell it, or None until a `worker.updated` about them was seen."""
        latest = self.latest
        if latest is None or self.known_since is None:
            return None
        return WorkerFacts(
            worker_id=self.worker_id,
            known_since=self.known_since,
            team_id=latest.team_id,
            supervisor_id=latest.supervisor_id,
            supervisor_since=self.supervisor_since,
            job_role=latest.job_role,
            case_holding=latest.case_holding,
            supervises_case_holders=latest.supervises_case_holders,
            frontline=latest.frontline,
            asye=latest.asye,
            employment=latest.employment,
            start_date=latest.start_date,
            end_date=latest.end_date,
            sessions=Prefix(self.sessions),
            shifts=tuple(sorted(self.shifts)),
            bookings=tuple(sorted(self.bookings.values(), key=lambda b: b.booking_id)),
            allocated_case_ids=tuple(sorted(self.cases)),
            leave=tuple(
                sorted((v for v in self.leave.values() if v is not None), key=lambda v: v.start_date)
            ),
            held=self.indexed.index(),
        )

    @property
    def supervisor_id(self) -> str | None:
        return None if self.latest is None else self.latest.supervisor_id

    def held(self) -> list[Session]:
        # Sessions where this worker was only the supervisor never meet the worker's own rows (the ledger's
        # worker rows are all held by the worker), so the worker's own sessions are all the met-check needs.
        return self.in_held_order

    def booked(self) -> list[Booking]:
        return list(self.bookings.values())


@dataclass
class TeamFold(_Fold):
    """A team: the sessions held for it and the workers a worker.updated named in it. Case events say nothing
    about the team's own duties, so they are left out (and need not re-evaluate the team)."""

    team_id: str = ""
    sessions: list[Session] = field(default_factory=list)
    in_held_order: list[Session] = field(default_factory=list)
    indexed: SessionsKept = field(default_factory=SessionsKept)
    bookings: dict[str, Booking] = field(default_factory=dict)
    named: set[str] = field(default_factory=set)

    def _own(self) -> Self:
        self.sessions = list(self.sessions)
        self.in_held_order = list(self.in_held_order)
        self.indexed = self.indexed.copy()
        self.bookings = dict(self.bookings)
        self.named = set(self.named)
        return self

    def apply(self, event: Event) -> None:
        if self.team_id not in event.team_ids() or not isinstance(event, TEAM_FACT_EVENTS):
            return
        self._advance(event)
        if isinstance(event, SupervisionRecorded):
            _hold(self, session_of(event))
        elif isinstance(event, SupervisionBooked):
            self.bookings[event.booking_id] = booking_of(event)
        else:
            self.named.update(event.worker_ids())

    def facts(self, members: list[WorkerFacts], tags: frozenset[str]) -> TeamFacts:
        """The team: its current members (folded by the caller), its sessions, its tenant's tags."""
        return TeamFacts(
            team_id=self.team_id,
            members=tuple(sorted(members, key=lambda m: m.worker_id)),
            sessions=Prefix(self.sessions),
            tags=tags,
            known_since=self.known_since,
            held=self.indexed.index(),
        )

    def held(self) -> list[Session]:
        return self.in_held_order

    def booked(self) -> list[Booking]:
        return list(self.bookings.values())


Fold: TypeAlias = CaseFold | WorkerFold | TeamFold


def takes(subject: str, event: Event) -> bool:
    """Whether the subject's fold is changed by an event that names it. A team is named by every event about its
    cases, and its fold takes none of them: read and applied, they cost a team with a long caseload more at
    every event, and left its fold with nothing to keep."""
    return not subject.startswith("team:") or isinstance(event, TEAM_FACT_EVENTS)


def types_taken(subject: str) -> frozenset[str] | None:
    """The event types the subject's fold takes (None: every type), for reading only those from the inbox."""
    return TEAM_FACT_TYPES if subject.startswith("team:") else None


def new_fold(subject: str) -> Fold:
    """An empty fold for "case:<id>", "worker:<id>" or "team:<id>"."""
    kind, subject_id = subject.split(":", 1)
    if kind == "case":
        return CaseFold(case_id=subject_id)
    if kind == "worker":
        return WorkerFold(worker_id=subject_id)
    if kind == "team":
        return TeamFold(team_id=subject_id)
    raise ValueError(f"not a subject: {subject!r}")
