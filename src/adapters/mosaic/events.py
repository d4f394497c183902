"""Mosaic's webhook payloads: marshmallow schemas, mapped to the connector's domain events.

Raw dicts stop here. Unknown extra fields are ignored; the text of agreed actions is dropped (least data).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from adapters.base import EventValidationError
from connector.domain import (
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
    WorkerUpdated,
)
from connector.validation import flatten_errors
from rules.codes import (
    EMPLOYMENT_TYPES,
    JOB_ROLES,
    MOSAIC_STATUSES,
    OBLIGATION_KINDS,
    RELATIONSHIPS,
    SESSION_KINDS,
)

REASON_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,40}")


def _id(**kw: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=1), **kw)


def _one_of(choices: tuple[str, ...], **kw: Any) -> fields.String:
    return fields.String(validate=validate.OneOf(choices), **kw)


class _Data(Schema):
    class Meta:
        unknown = EXCLUDE


class _Bool(fields.Boolean):
    """true or false only: no 1, "yes" or "true" strings from a sender that got its types wrong."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def _offset_datetime(**kw: Any) -> fields.AwareDateTime:
    """An ISO 8601 date-time that must carry its offset: a naive time is ambiguous across BST."""
    naive = "Not a valid datetime with a UTC offset (e.g. 2026-11-02T09:30:00Z)."
    return fields.AwareDateTime(format="iso", error_messages={"invalid_awareness": naive}, **kw)


class _BookingId(fields.Field[str]):
    """The booking system's id: Mosaic sends an integer, a council's middleware may send a string."""

    message = "Must be a positive whole number or a non-empty string of at most 100 characters."

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return str(value)
        if isinstance(value, str) and 0 < len(value.strip()) <= 100:
            return value.strip()
        raise ValidationError(self.message)


class EnvelopeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(required=True)
    occurred_at = _offset_datetime(required=True)
    data = fields.Dict(required=True)


class CaseAllocatedSchema(_Data):
    person_id = _id(required=True)
    worker_id = _id(required=True)
    team_id = _id(required=True)
    relationship = _one_of(RELATIONSHIPS, required=True)
    start_date = fields.Date(required=True)


class CaseTransferredSchema(_Data):
    person_id = _id(required=True)
    from_worker_id = _id(required=True)
    to_worker_id = _id(required=True)
    to_team_id = _id(required=True)
    # from_worker_id may equal to_worker_id: a worker keeping a case while moving team or relationship.
    relationship = _one_of(RELATIONSHIPS, required=True)
    transfer_date = fields.Date(required=True)


class CaseDeallocatedSchema(_Data):
    person_id = _id(required=True)
    worker_id = _id(required=True)
    end_date = fields.Date(required=True)


class CaseStatusChangedSchema(_Data):
    person_id = _id(required=True)
    status = _one_of(MOSAIC_STATUSES, required=True)
    start_date = fields.Date(required=True)
    permanency_plan_agreed = _Bool(allow_none=True, load_default=None)
    fsm = _Bool(allow_none=True, load_default=None)


class CaseClosedSchema(_Data):
    person_id = _id(required=True)
    end_date = fields.Date(required=True)
    # Read as any text so that a free-text reason never blocks the closure; _closed keeps only a code.
    reason = fields.String(allow_none=True, load_default=None)


class WorkerUpdatedSchema(_Data):
    worker_id = _id(required=True)
    team_id = _id(required=True)
    supervisor_id = _id(required=True, allow_none=True)
    job_role = _one_of(JOB_ROLES, required=True)
    case_holding = _Bool(required=True)
    supervises_case_holders = _Bool(required=True)
    frontline = _Bool(required=True)
    asye = _Bool(required=True)
    employment = _one_of(EMPLOYMENT_TYPES, required=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(allow_none=True, load_default=None)

    # skip_on_field_errors=False: report this with the other fields' errors, not after they are fixed.
    @validates_schema(skip_on_field_errors=False)
    def _dates(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("end_date") and data.get("start_date") and data["end_date"] < data["start_date"]:
            raise ValidationError("Must not be before start_date.", "end_date")


class ShiftWorkedSchema(_Data):
    worker_id = _id(required=True)
    shift_date = fields.Date(required=True)


class SupervisionBookedSchema(_Data):
    booking_id = _BookingId(required=True)
    kind = _one_of(OBLIGATION_KINDS, required=True)
    worker_id = _id(required=True)
    supervisor_id = _id(required=True, allow_none=True)
    team_id = _id(required=True)
    person_ids = fields.List(_id(), load_default=list)
    starts_at = _offset_datetime(required=True)
    duration_minutes = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=24 * 60))
    status = _one_of(("booked", "cancelled"), required=True)


class ActionSchema(_Data):
    """An agreed action. Its `text` is not declared, so EXCLUDE drops it unread: free text about a child."""

    owner_worker_id = _id(allow_none=True, load_default=None)
    due_date = fields.Date(allow_none=True, load_default=None)


class SupervisionRecordedSchema(_Data):
    kind = _one_of(SESSION_KINDS, required=True)
    worker_id = _id(required=True)
    supervisor_id = _id(required=True, allow_none=True)
    team_id = _id(required=True)
    person_ids = fields.List(_id(), required=True)
    held_on = fields.Date(required=True)
    recorded_on = fields.Date(required=True)
    significant = _Bool(required=True)
    workflow_step_id = _id(allow_none=True, load_default=None)
    actions = fields.List(fields.Nested(ActionSchema), load_default=list)

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
    return CaseClosed(eid, at, str(d["person_id"]), d["end_date"], _code(d["reason"]))


def _code(text: str | None) -> str | None:
    """A closure reason kept only when it is a code (RC1, ADOPTED): a free-text one may name people."""
    return text if text is not None and REASON_CODE.fullmatch(text) else None


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


Builder = Callable[[str, datetime, dict[str, Any]], Event]

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
    "supervision.booked": (SupervisionBookedSchema(), _booked),
    "supervision.recorded": (SupervisionRecordedSchema(), _recorded),
}
ENVELOPE = EnvelopeSchema()


def parse_mosaic_event(body: Mapping[str, Any]) -> Event:
    """Validate a Mosaic webhook body; raise EventValidationError naming every bad field.

    The envelope and `data` are both checked before raising, so a sender sees every problem at once.
    """
    if not isinstance(body, Mapping):
        raise EventValidationError({"body": ["Must be a JSON object."]})
    errors: dict[str, list[str]] = {}
    envelope: dict[str, Any] | None = None
    try:
        envelope = ENVELOPE.load(dict(body))
    except ValidationError as exc:
        errors.update(flatten_errors(exc.messages))
    event_type = body.get("type")
    entry = EVENT_SCHEMAS.get(event_type) if isinstance(event_type, str) else None
    if entry is None:
        if isinstance(event_type, str):
            errors["type"] = [f"Unknown event type {event_type[:80]!r}."]
        raise EventValidationError(errors)
    schema, build = entry
    data = body.get("data")
    loaded: dict[str, Any] | None = None
    if isinstance(data, Mapping):
        try:
            loaded = schema.load(dict(data))
        except ValidationError as exc:
            errors.update(flatten_errors(exc.messages, "data"))
    if errors or envelope is None or loaded is None:
        raise EventValidationError(errors or {"data": ["Must be an object."]})
    return build(envelope["id"], envelope["occurred_at"], loaded)
