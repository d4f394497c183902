"""Platform-neutral domain events: what adapters turn a platform's webhook into.

Ids are strings whatever the platform (Mosaic's integers become "100234"); an adapter's writer turns them back.
Only ids, dates, codes and flags live here: no names, no free text (least data).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any


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


def event_to_json(event: Event) -> dict[str, Any]:
    """Serialise an event for the inbox: plain JSON types, with its type name."""
    # Shallow on purpose: dataclasses.asdict deep-copies every value and costs a fifth of a webhook's intake.
    body: dict[str, Any] = {"type": event.type_name}
    for f in _fields(type(event)):
        value = getattr(event, f)
        if f == "actions":
            value = [{"owner_worker_id": a.owner_worker_id, "due_date": a.due_date} for a in value]
        body[f] = _plain(value)
    return body


_FIELD_NAMES: dict[type[Event], tuple[str, ...]] = {}


def _fields(cls: type[Event]) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def event_from_json(body: dict[str, Any]) -> Event:
    """The inverse of event_to_json: trusted input (written by this service), so no validation here."""
    data = dict(body)
    cls = EVENT_TYPES[data.pop("type")]
    kwargs: dict[str, Any] = {}
    hints = {f.name: f for f in dataclasses.fields(cls)}
    for name, value in data.items():
        if name not in hints:
            continue
        kwargs[name] = _revive(name, value)
    return cls(**kwargs)


_DATETIME_FIELDS = {"occurred_at", "starts_at"}
_DATE_FIELDS = {"start_date", "end_date", "transfer_date", "shift_date", "held_on", "recorded_on"}


def _revive(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _DATETIME_FIELDS:
        return datetime.fromisoformat(value)
    if name in _DATE_FIELDS:
        return date.fromisoformat(value)
    if name == "relationship":
        return Relationship(value)
    if name == "case_ids_discussed":
        return tuple(value)
    if name == "actions":
        return tuple(
            Action(a["owner_worker_id"], date.fromisoformat(a["due_date"]) if a["due_date"] else None)
            for a in value
        )
    return value


# --- What the connector asks a platform to hold -------------------------------------------------------------


@dataclass(frozen=True)
class ObligationWrite:
    """The desired state of one obligation cycle on the platform, keyed by its deterministic reference.

    `open` False means end it: completed when `met` (a session met it), else cancelled. `platform_id`/`form_id` are the platform's ids once a write was confirmed;
    a writer that lacks them looks the reference up first. `form` holds the pre-filled form's logical fields
    (due_date, reason, previous_actions, ...); an adapter maps them to its platform's questions.
    """

    reference: str
    open: bool
    kind: str
    case_id: str | None
    assignee_id: str
    team_id: str | None
    due_date: date
    title: str
    notes: str
    incoming_on: date
    form: tuple[tuple[str, str], ...] = ()
    platform_id: str | None = None
    form_id: str | None = None
    # The assignee's supervisor, for platforms whose form stub names the manager (Childview's manager_id).
    supervisor_id: str | None = None
    met: bool = False


@dataclass(frozen=True)
class WriteResult:
    """What the platform confirmed. `closed_on_platform` is True when the item was already completed or
    cancelled there (it can no longer be changed; the connector stops tracking it)."""

    platform_id: str | None
    form_id: str | None = None
    closed_on_platform: bool = False


@dataclass(frozen=True)
class ReminderWrite:
    """A reminder or escalation shown to a worker from `show_on`, about the item `platform_id`."""

    reference: str
    worker_id: str
    platform_id: str
    case_id: str | None
    show_on: date
    due_date: date
    message: str
    escalation: bool = False
