"""The fold from stored domain events to the rule engine's facts.

Events are applied in `occurred_at` order (ties by event id) whatever order they arrived in, and an event id seen
twice counts once, so duplicates and any delivery order give the same facts: the status with the latest
`occurred_at` wins; allocations, transfers, de-allocations and closure apply in the order they happened.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

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

# Rule 13: a joining the connector hears of within this many days is a joining it saw happen.
SEEN_WITHIN = timedelta(days=28)


def local_date(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


def in_order(events: Iterable[Event]) -> list[Event]:
    unique = {e.event_id: e for e in events}
    return sorted(unique.values(), key=lambda e: (e.occurred_at, e.event_id))


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


def fold_case(case_id: str, events: Iterable[Event]) -> CaseFacts | None:
    """The case as the events tell it, or None if none of them mentions it."""
    ordered = [e for e in in_order(events) if case_id in e.case_ids()]
    if not ordered:
        return None
    status: StatusSpell | None = None
    allocations: dict[str, CaseAllocation] = {}
    closed_on: date | None = None
    sessions: list[Session] = []
    bookings: dict[str, Booking] = {}
    for event in ordered:
        if isinstance(event, CaseAllocated):
            allocations[event.worker_id] = CaseAllocation(
                event.worker_id, event.team_id, event.relationship.value, event.start_date
            )
            closed_on = None
        elif isinstance(event, CaseTransferred):
            allocations.pop(event.from_worker_id, None)
            allocations[event.to_worker_id] = CaseAllocation(
                event.to_worker_id,
                event.to_team_id,
                event.relationship.value,
                event.transfer_date,
                transferred=True,
            )
            closed_on = None
        elif isinstance(event, CaseDeallocated):
            allocations.pop(event.worker_id, None)
        elif isinstance(event, CaseStatusChanged):
            status = _status(status, event)
            closed_on = None
        elif isinstance(event, CaseClosed):
            closed_on = event.end_date
            allocations.clear()
        elif isinstance(event, SupervisionRecorded):
            sessions.append(session_of(event))
        elif isinstance(event, SupervisionBooked):
            bookings[event.booking_id] = booking_of(event)
    return CaseFacts(
        case_id=case_id,
        known_since=local_date(ordered[0].occurred_at),
        status=status,
        allocations=tuple(sorted(allocations.values(), key=lambda a: a.worker_id)),
        closed_on=closed_on,
        sessions=tuple(sessions),
        bookings=tuple(sorted(bookings.values(), key=lambda b: b.booking_id)),
    )


def fold_worker(worker_id: str, events: Iterable[Event]) -> WorkerFacts | None:
    """The worker as the events tell it, or None until a `worker.updated` about them was seen."""
    ordered = [e for e in in_order(events) if worker_id in e.worker_ids()]
    if not ordered:
        return None
    known_since = local_date(ordered[0].occurred_at)
    latest: WorkerUpdated | None = None
    supervisor_since: date | None = None
    sessions: list[Session] = []
    shifts: set[date] = set()
    bookings: dict[str, Booking] = {}
    cases: dict[str, None] = {}
    leave: dict[str, Leave | None] = {}
    for event in ordered:
        if isinstance(event, WorkerUpdated) and event.worker_id == worker_id:
            if latest is None:
                # The first word of the worker: a supervisor from joining, if the joining was seen (rule 13);
                # otherwise the relationship began at some unknown time before the connector heard of it.
                seen_joining = known_since - event.start_date <= SEEN_WITHIN
                supervisor_since = event.start_date if seen_joining and event.supervisor_id else None
            elif event.supervisor_id != latest.supervisor_id:
                supervisor_since = local_date(event.occurred_at) if event.supervisor_id else None
            latest = event
        elif isinstance(event, ShiftWorked) and event.worker_id == worker_id:
            shifts.add(event.shift_date)
        elif isinstance(event, WorkerLeave) and event.worker_id == worker_id:
            # The latest word on each leave wins: a cancellation takes it back.
            leave[event.leave_id] = (
                None
                if event.cancelled
                else Leave(event.leave_id, event.reason, event.start_date, event.end_date)
            )
        elif isinstance(event, SupervisionRecorded) and event.worker_id == worker_id:
            sessions.append(session_of(event))
        elif isinstance(event, SupervisionBooked) and event.worker_id == worker_id:
            bookings[event.booking_id] = booking_of(event)
        elif isinstance(event, CaseAllocated) and event.worker_id == worker_id:
            cases[event.case_id] = None
        elif isinstance(event, CaseTransferred):
            if event.from_worker_id == worker_id:
                cases.pop(event.case_id, None)
            if event.to_worker_id == worker_id:
                cases[event.case_id] = None
        elif isinstance(event, CaseDeallocated) and event.worker_id == worker_id:
            cases.pop(event.case_id, None)
    if latest is None:
        return None
    return WorkerFacts(
        worker_id=worker_id,
        known_since=known_since,
        team_id=latest.team_id,
        supervisor_id=latest.supervisor_id,
        supervisor_since=supervisor_since,
        job_role=latest.job_role,
        case_holding=latest.case_holding,
        supervises_case_holders=latest.supervises_case_holders,
        frontline=latest.frontline,
        asye=latest.asye,
        employment=latest.employment,
        start_date=latest.start_date,
        end_date=latest.end_date,
        sessions=tuple(sessions),
        shifts=tuple(sorted(shifts)),
        bookings=tuple(sorted(bookings.values(), key=lambda b: b.booking_id)),
        allocated_case_ids=tuple(sorted(cases)),
        leave=tuple(sorted((v for v in leave.values() if v is not None), key=lambda v: v.start_date)),
    )


def fold_team(
    team_id: str, members: Sequence[WorkerFacts], events: Iterable[Event], tags: frozenset[str]
) -> TeamFacts:
    """The team: its current members (folded by the caller), the sessions held for it, its tenant's tags."""
    # What tells the connector about a team is its people and its sessions; a case allocated "in" the team says
    # nothing about the team's own duties, so case events are left out (and need not re-evaluate the team).
    ordered = [e for e in in_order(events) if team_id in e.team_ids() and isinstance(e, TEAM_FACT_EVENTS)]
    sessions = [session_of(e) for e in ordered if isinstance(e, SupervisionRecorded)]
    return TeamFacts(
        team_id=team_id,
        members=tuple(sorted(members, key=lambda m: m.worker_id)),
        sessions=tuple(sessions),
        tags=tags,
        known_since=local_date(ordered[0].occurred_at) if ordered else None,
    )
