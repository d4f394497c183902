"""Platform-neutral domain events: what adapters turn a platform's webhook into, and what the facts are folded from.

Ids are strings whatever the platform (Mosaic's integers become "100234"); an adapter's writer turns them back.
Only ids, dates, codes and flags live here: no names, no free text (least data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class Relationship(StrEnum):
    """How a worker is attached to a case, in the rules' vocabulary."""

    ALLOCATED_WORKER = "ALLWKR"
    LEAD_PROFESSIONAL = "LEADPROF"
    INVOLVED_WORKER = "INVWKR"


@dataclass(frozen=True)
class Action:
    """An action agreed at a supervision: who owns it and by when. Its text is not kept (least data)."""

    owner_worker_id: str | None
    due_date: date | None


@dataclass(frozen=True)
class Event:
    """What every event carries: the platform's event id (= webhook-id) and when the change happened."""

    event_id: str
    occurred_at: datetime

    type_name = "event"

    def case_ids(self) -> tuple[str, ...]:
        return ()

    def worker_ids(self) -> tuple[str, ...]:
        return ()

    def team_ids(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True)
class CaseAllocated(Event):
    case_id: str
    worker_id: str
    team_id: str | None
    relationship: Relationship
    start_date: date

    type_name = "case.allocated"

    def case_ids(self) -> tuple[str, ...]:
        return (self.case_id,)

    def worker_ids(self) -> tuple[str, ...]:
        return (self.worker_id,)

    def team_ids(self) -> tuple[str, ...]:
        return () if self.team_id is None else (self.team_id,)


@dataclass(frozen=True)
class CaseTransferred(Event):
    case_id: str
    from_worker_id: str
    to_worker_id: str
    to_team_id: str | None
    relationship: Relationship
    transfer_date: date

    type_name = "case.transferred"

    def case_ids(self) -> tuple[str, ...]:
        return (self.case_id,)

    def worker_ids(self) -> tuple[str, ...]:
        return (self.from_worker_id, self.to_worker_id)

    def team_ids(self) -> tuple[str, ...]:
        return () if self.to_team_id is None else (self.to_team_id,)


@dataclass(frozen=True)
class CaseDeallocated(Event):
    case_id: str
    worker_id: str
    end_date: date

    type_name = "case.deallocated"

    def case_ids(self) -> tuple[str, ...]:
        return (self.case_id,)

    def worker_ids(self) -> tuple[str, ...]:
        return (self.worker_id,)


@dataclass(frozen=True)
class CaseStatusChanged(Event):
    case_id: str
    status: str
    start_date: date
    permanency_plan_agreed: bool | None = None
    fsm: bool | None = None
    # Childview's YOS disposals say nothing of care; it sends whether the young person is also looked after.
    looked_after: bool | None = None

    type_name = "case.status_changed"

    def case_ids(self) -> tuple[str, ...]:
        return (self.case_id,)


@dataclass(frozen=True)
class CaseClosed(Event):
    case_id: str
    end_date: date
    reason: str | None = None

    type_name = "case.closed"

    def case_ids(self) -> tuple[str, ...]:
        return (self.case_id,)


@dataclass(frozen=True)
class WorkerUpdated(Event):
    worker_id: str
    team_id: str | None
    supervisor_id: str | None
    job_role: str
    case_holding: bool
    supervises_case_holders: bool
    frontline: bool
    asye: bool
    employment: str
    start_date: date
    end_date: date | None = None

    type_name = "worker.updated"

    def worker_ids(self) -> tuple[str, ...]:
        return (self.worker_id,)

    def team_ids(self) -> tuple[str, ...]:
        return () if self.team_id is None else (self.team_id,)


@dataclass(frozen=True)
class ShiftWorked(Event):
    worker_id: str
    shift_date: date

    type_name = "worker.shift_worked"

    def worker_ids(self) -> tuple[str, ...]:
        return (self.worker_id,)


@dataclass(frozen=True)
class WorkerLeave(Event):
    """Leave a worker records (annual, sickness, other); `cancelled` when it was taken back. Kept for leave
    gaps in supervision; the fold does not use it yet."""

    worker_id: str
    leave_id: str
    reason: str
    start_date: date
    end_date: date
    cancelled: bool = False

    type_name = "worker.leave"

    def worker_ids(self) -> tuple[str, ...]:
        return (self.worker_id,)


@dataclass(frozen=True)
class SupervisionBooked(Event):
    booking_id: str
    kind: str
    worker_id: str
    supervisor_id: str | None
    team_id: str | None
    case_ids_discussed: tuple[str, ...]
    starts_at: datetime
    duration_minutes: int
    status: str

    type_name = "supervision.booked"

    def case_ids(self) -> tuple[str, ...]:
        return self.case_ids_discussed

    def worker_ids(self) -> tuple[str, ...]:
        ids = (self.worker_id,) if self.supervisor_id is None else (self.worker_id, self.supervisor_id)
        return ids

    def team_ids(self) -> tuple[str, ...]:
        return () if self.team_id is None else (self.team_id,)


@dataclass(frozen=True)
class SupervisionRecorded(Event):
    kind: str
    worker_id: str
    supervisor_id: str | None
    team_id: str | None
    case_ids_discussed: tuple[str, ...]
    held_on: date
    recorded_on: date
    significant: bool
    step_ref: str | None = None
    actions: tuple[Action, ...] = field(default=())

    type_name = "supervision.recorded"

    def case_ids(self) -> tuple[str, ...]:
        return self.case_ids_discussed

    def worker_ids(self) -> tuple[str, ...]:
        return (self.worker_id,) if self.supervisor_id is None else (self.worker_id, self.supervisor_id)

    def team_ids(self) -> tuple[str, ...]:
        return () if self.team_id is None else (self.team_id,)


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type_name: cls
    for cls in (
        CaseAllocated,
        CaseTransferred,
        CaseDeallocated,
        CaseStatusChanged,
        CaseClosed,
        WorkerUpdated,
        ShiftWorked,
        WorkerLeave,
        SupervisionBooked,
        SupervisionRecorded,
    )
}
