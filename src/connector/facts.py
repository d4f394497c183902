"""The fold from stored domain events to the rule engine's facts.

Events are applied in `occurred_at` order (ties by event id) whatever order they arrived in, so duplicates and
any delivery order give the same facts: the status with the latest `occurred_at` wins, allocations, transfers,
de-allocations and closure apply in the order they happened.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from connector.domain import (
    CaseAllocated,
    CaseClosed,
    CaseDeallocated,
    CaseStatusChanged,
    CaseTransferred,
    Event,
    ShiftWorked,
    SupervisionBooked,
    SupervisionRecorded,
    WorkerUpdated,
)
from rules.model import (
    AgreedAction,
    Booking,
    CaseAllocation,
    CaseFacts,
    Session,
    StatusSpell,
    TeamFacts,
    WorkerFacts,
)

LONDON = ZoneInfo("Europe/London")


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


def fold_case(case_id: str, events: Iterable[Event]) -> CaseFacts | None:
    ordered = [e for e in in_order(events) if case_id in e.case_ids()]
    if not ordered:
        return None
    status: StatusSpell | None = None
    allocations: dict[str, CaseAllocation] = {}
    closed_on: date | None = None
    sessions: list[Session] = []
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
            status = StatusSpell(
                event.status, event.start_date, bool(event.permanency_plan_agreed), bool(event.fsm)
            )
            closed_on = None
        elif isinstance(event, CaseClosed):
            closed_on = event.end_date
            allocations.clear()
        elif isinstance(event, SupervisionRecorded):
            sessions.append(session_of(event))
    return CaseFacts(
        case_id=case_id,
        known_since=local_date(ordered[0].occurred_at),
        status=status,
        allocations=tuple(allocations.values()),
        closed_on=closed_on,
        sessions=tuple(sessions),
    )


def fold_worker(worker_id: str, events: Iterable[Event]) -> WorkerFacts | None:
    ordered = [e for e in in_order(events) if worker_id in e.worker_ids()]
    latest: WorkerUpdated | None = None
    supervisor_since: date | None = None
    sessions: list[Session] = []
    shifts: set[date] = set()
    bookings: dict[str, Booking] = {}
    cases: dict[str, None] = {}
    for event in ordered:
        if isinstance(event, WorkerUpdated):
            if latest is None:
                supervisor_since = max(event.start_date, local_date(event.occurred_at))
            elif event.supervisor_id != latest.supervisor_id:
                supervisor_since = local_date(event.occurred_at)
            latest = event
        elif isinstance(event, ShiftWorked):
            shifts.add(event.shift_date)
        elif isinstance(event, SupervisionRecorded) and event.worker_id == worker_id:
            sessions.append(session_of(event))
        elif isinstance(event, SupervisionBooked) and event.worker_id == worker_id:
            bookings[event.booking_id] = Booking(
                event.booking_id,
                event.kind,
                event.worker_id,
                event.supervisor_id,
                event.team_id,
                event.case_ids_discussed,
                event.starts_at,
                event.duration_minutes,
                cancelled=event.status == "cancelled",
            )
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
        known_since=local_date(ordered[0].occurred_at),
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
        bookings=tuple(bookings.values()),
        allocated_case_ids=tuple(cases),
    )


def fold_team(
    team_id: str, members: Sequence[WorkerFacts], events: Iterable[Event], tags: frozenset[str]
) -> TeamFacts:
    sessions = [
        session_of(e) for e in in_order(events) if isinstance(e, SupervisionRecorded) and e.team_id == team_id
    ]
    return TeamFacts(
        team_id=team_id,
        members=tuple(sorted(members, key=lambda m: m.worker_id)),
        sessions=tuple(sessions),
        tags=tags,
    )
