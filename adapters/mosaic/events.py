"""Mosaic's webhook payloads: marshmallow schemas, mapped to the connector's domain events.

Raw dicts stop here. Unknown extra fields are ignored; the text of agreed actions is dropped (least data).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from adapters import event_fields
from adapters.event_fields import (
    Bool,
    Builder,
    Data,
    offset_datetime,
    one_of,
    parse_event,
    reason_code,
    sane_date,
)
from rules.codes import (
    EMPLOYMENT_TYPES,
    JOB_ROLES,
    LEAVE_REASONS,
    MOSAIC_STATUSES,
    OBLIGATION_KINDS,
    RELATIONSHIPS,
    SESSION_KINDS,
)
from rules.events import (
    Action,
    CaseAllocated,
    CaseClosed,
    CaseDeallocated,
    CaseStatusChanged,
    CaseTransferred,
    Event,
    Relationship,
    ShiftWorked,
    SupervisionBooked,
    SupervisionRecorded,
    WorkerLeave,
    WorkerUpdated,
)

# A booking system's own reference: no spaces, so no "Jane Doe DOB 2015-03-04".
BOOKING_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
# The webhook id: printable ASCII without spaces, as the edge requires of the webhook-id header it must equal.
# \Z: marshmallow's Regexp matches from the start only, and $ would let a trailing newline through.
EVENT_ID = re.compile(r"[!-~]{1,200}\Z")


# Mosaic's ids are 64-bit integers: a longer one is not Mosaic's, and would be written back to it.
MAX_ID = 2**63 - 1
MAX_PERSON_IDS = event_fields.MAX_IDS
MAX_ACTIONS = 100


def _id(**kw: Any) -> fields.Integer:
    return fields.Integer(
        strict=True, validate=validate.Range(min=1, max=MAX_ID, error=f"Must be from 1 to {MAX_ID}."), **kw
    )


def _person_ids(**kw: Any) -> fields.List[int]:
    return fields.List(_id(), validate=validate.Length(max=MAX_PERSON_IDS), **kw)


class _BookingId(fields.Field[str]):
    """The booking system's id: Mosaic sends an integer, a council's middleware may send a string."""

    message = (
        f"Must be a whole number from 1 to {MAX_ID}, or a code of at most 64 letters, digits, "
        "'_', '.', ':' or '-' starting with a letter or digit (no spaces)."
    )

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
            return str(value)
        if isinstance(value, str) and BOOKING_CODE.fullmatch(value):
            return value
        raise ValidationError(self.message)


class CaseAllocatedSchema(Data):
    person_id = _id(required=True)
    worker_id = _id(required=True)
    team_id = _id(required=True)
    relationship = one_of(RELATIONSHIPS, required=True)
    start_date = sane_date(required=True)


class CaseTransferredSchema(Data):
    person_id = _id(required=True)
    from_worker_id = _id(required=True)
    to_worker_id = _id(required=True)
    to_team_id = _id(required=True)
    # from_worker_id may equal to_worker_id: a worker keeping a case while moving team or relationship.
    relationship = one_of(RELATIONSHIPS, required=True)
    transfer_date = sane_date(required=True)


class CaseDeallocatedSchema(Data):
    person_id = _id(required=True)
    worker_id = _id(required=True)
    end_date = sane_date(required=True)


class CaseStatusChangedSchema(Data):
    person_id = _id(required=True)
    status = one_of(MOSAIC_STATUSES, required=True)
    start_date = sane_date(required=True)
    permanency_plan_agreed = Bool(allow_none=True, load_default=None)
    fsm = Bool(allow_none=True, load_default=None)


class CaseClosedSchema(Data):
    person_id = _id(required=True)
    end_date = sane_date(required=True)
    # Read as anything so that a free-text (or mistyped) reason never blocks the closure; _closed keeps only
    # a code.
    reason = fields.Raw(allow_none=True, load_default=None)


class WorkerUpdatedSchema(Data):
    worker_id = _id(required=True)
    team_id = _id(required=True)
    supervisor_id = _id(required=True, allow_none=True)
    job_role = one_of(JOB_ROLES, required=True)
    case_holding = Bool(required=True)
    supervises_case_holders = Bool(required=True)
    frontline = Bool(required=True)
    asye = Bool(required=True)
    employment = one_of(EMPLOYMENT_TYPES, required=True)
    start_date = sane_date(required=True)
    end_date = sane_date(allow_none=True, load_default=None)

    # skip_on_field_errors=False: report this with the other fields' errors, not after they are fixed.
    @validates_schema(skip_on_field_errors=False)
    def _dates(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("end_date") and data.get("start_date") and data["end_date"] < data["start_date"]:
            raise ValidationError("Must not be before start_date.", "end_date")


class ShiftWorkedSchema(Data):
    worker_id = _id(required=True)
    shift_date = sane_date(required=True)


class WorkerLeaveSchema(Data):
    worker_id = _id(required=True)
    leave_id = _BookingId(required=True)
    reason = one_of(LEAVE_REASONS, required=True)
    start_date = sane_date(required=True)
    end_date = sane_date(required=True)
    status = one_of(("recorded", "cancelled"), load_default="recorded")

    @validates_schema(skip_on_field_errors=False)
    def _dates(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("end_date") and data.get("start_date") and data["end_date"] < data["start_date"]:
            raise ValidationError("Must not be before start_date.", "end_date")


class SupervisionBookedSchema(Data):
    booking_id = _BookingId(required=True)
    kind = one_of(OBLIGATION_KINDS, required=True)
    worker_id = _id(required=True)
    supervisor_id = _id(required=True, allow_none=True)
    team_id = _id(required=True)
    person_ids = _person_ids(load_default=list)
    starts_at = offset_datetime(required=True)
    duration_minutes = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=24 * 60))
    status = one_of(("booked", "cancelled"), required=True)


class ActionSchema(Data):
    """An agreed action. Its `text` is not declared, so EXCLUDE drops it unread: free text about a child."""

    owner_worker_id = _id(allow_none=True, load_default=None)
    due_date = sane_date(allow_none=True, load_default=None)


class SupervisionRecordedSchema(Data):
    kind = one_of(SESSION_KINDS, required=True)
    worker_id = _id(required=True)
    supervisor_id = _id(required=True, allow_none=True)
    team_id = _id(required=True)
    person_ids = _person_ids(required=True)
    held_on = sane_date(required=True)
    recorded_on = sane_date(required=True)
    significant = Bool(required=True)
    workflow_step_id = _id(allow_none=True, load_default=None)
    actions = fields.List(
        fields.Nested(ActionSchema), validate=validate.Length(max=MAX_ACTIONS), load_default=list
    )

    @validates_schema(skip_on_field_errors=False)
    def _dates(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("held_on") and data.get("recorded_on") and data["recorded_on"] < data["held_on"]:
            raise ValidationError("Must not be before held_on.", "recorded_on")


def _s(value: int | None) -> str | None:
    return None if value is None else str(value)


def _allocated(eid: str, at: datetime, d: dict[str, Any]) -> Event:
    return CaseAllocated(
        eid,
        at,
        str(d["person_id"]),
        str(d["worker_id"]),
        str(d["team_id"]),
        Relationship(d["relationship"]),
        d["start_date"],
    )


def _transferred(eid: str, at: datetime, d: dict[str, Any]) -> Event:
    return CaseTransferred(
        eid,
        at,
        str(d["person_id"]),
        str(d["from_worker_id"]),
        str(d["to_worker_id"]),
        str(d["to_team_id"]),
        Relationship(d["relationship"]),
        d["transfer_date"],
    )


def _deallocated(eid: str, at: datetime, d: dict[str, Any]) -> Event:
    return CaseDeallocated(eid, at, str(d["person_id"]), str(d["worker_id"]), d["end_date"])


def _status(eid: str, at: datetime, d: dict[str, Any]) -> Event:
    return CaseStatusChanged(
        eid, at, str(d["person_id"]), d["status"], d["start_date"], d["permanency_plan_agreed"], d["fsm"]
    )


def _closed(eid: str, at: datetime, d: dict[str, Any]) -> Event:
    return CaseClosed(eid, at, str(d["person_id"]), d["end_date"], reason_code(d["reason"]))


def _worker(eid: str, at: datetime, d: dict[str, Any]) -> Event:
    return WorkerUpdated(
        eid,
        at,
        worker_id=str(d["worker_id"]),
        team_id=str(d["team_id"]),
        supervisor_id=_s(d["supervisor_id"]),
        job_role=d["job_role"],
        case_holding=d["case_holding"],
        supervises_case_holders=d["supervises_case_holders"],
        frontline=d["frontline"],
        asye=d["asye"],
        employment=d["employment"],
        start_date=d["start_date"],
        end_date=d["end_date"],
    )


def _shift(eid: str, at: datetime, d: dict[str, Any]) -> Event:
    return ShiftWorked(eid, at, str(d["worker_id"]), d["shift_date"])


def _leave(eid: str, at: datetime, d: dict[str, Any]) -> Event:
    return WorkerLeave(
        eid,
        at,
        worker_id=str(d["worker_id"]),
        leave_id=str(d["leave_id"]),
        reason=d["reason"],
        start_date=d["start_date"],
        end_date=d["end_date"],
        cancelled=d["status"] == "cancelled",
    )


def _booked(eid: str, at: datetime, d: dict[str, Any]) -> Event:
    return SupervisionBooked(
        eid,
        at,
        booking_id=str(d["booking_id"]),
        kind=d["kind"],
        worker_id=str(d["worker_id"]),
        supervisor_id=_s(d["supervisor_id"]),
        team_id=str(d["team_id"]),
        case_ids_discussed=tuple(str(p) for p in d["person_ids"]),
        starts_at=d["starts_at"],
        duration_minutes=d["duration_minutes"],
        status=d["status"],
    )


def _recorded(eid: str, at: datetime, d: dict[str, Any]) -> Event:
    return SupervisionRecorded(
        eid,
        at,
        kind=d["kind"],
        worker_id=str(d["worker_id"]),
        supervisor_id=_s(d["supervisor_id"]),
        team_id=str(d["team_id"]),
        case_ids_discussed=tuple(str(p) for p in d["person_ids"]),
        held_on=d["held_on"],
        recorded_on=d["recorded_on"],
        significant=d["significant"],
        step_ref=_s(d["workflow_step_id"]),
        actions=tuple(Action(_s(a["owner_worker_id"]), a["due_date"]) for a in d["actions"]),
    )


# One instance of each schema, made once: building a marshmallow schema deep-copies its fields, which cost
# a seventh of a webhook's intake when done per request. load() keeps no state between calls: sharing is safe.
EVENT_SCHEMAS: dict[str, tuple[Schema, Builder]] = {
    "case.allocated": (CaseAllocatedSchema(), _allocated),
    "case.transferred": (CaseTransferredSchema(), _transferred),
    "case.deallocated": (CaseDeallocatedSchema(), _deallocated),
    "case.status_changed": (CaseStatusChangedSchema(), _status),
    "case.closed": (CaseClosedSchema(), _closed),
    "worker.updated": (WorkerUpdatedSchema(), _worker),
    "worker.shift_worked": (ShiftWorkedSchema(), _shift),
    "worker.leave": (WorkerLeaveSchema(), _leave),
    "supervision.booked": (SupervisionBookedSchema(), _booked),
    "supervision.recorded": (SupervisionRecordedSchema(), _recorded),
}
ENVELOPE = event_fields.ENVELOPE


def parse_mosaic_event(body: Mapping[str, Any]) -> Event:
    """Validate a Mosaic webhook body; raise EventValidationError naming every bad field."""
    return parse_event(body, EVENT_SCHEMAS)
