"""Childview's webhook payloads (Youth Offending Service): marshmallow schemas, mapped to the same domain
events Mosaic's become.

Childview's ids are strings (`YP-00412`, `CM-0042`); they are checked against a code pattern with no spaces,
so that no name can arrive where an id belongs. The store partitions every subject by (tenant, platform), so a
Childview id never meets a Mosaic one. Unknown extra fields are ignored; the text of agreed actions is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validates_schema

from adapters.event_fields import (
    Bool,
    Builder,
    Data,
    capped_list,
    code,
    one_of,
    parse_event,
    reason_code,
    sane_date,
)
from rules.codes import EMPLOYMENT_TYPES, LEAVE_REASONS, SESSION_KINDS, YOUTH_JUSTICE_DISPOSALS

# The contract's kinds of recorded session are Mosaic's, word for word.
from rules.events import (
    Action,
    CaseAllocated,
    CaseClosed,
    CaseDeallocated,
    CaseStatusChanged,
    CaseTransferred,
    Event,
    Relationship,
    SupervisionRecorded,
    WorkerLeave,
    WorkerUpdated,
)

# Matched whole (fullmatch), so a trailing newline is refused too.
ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
MAX_ACTIONS = 100
# A case manager is the young person's keyworker for the rules; a supporting worker is an involved worker.
ROLES = {"CASE_MANAGER": Relationship.ALLOCATED_WORKER, "SUPPORTING": Relationship.INVOLVED_WORKER}
# Childview sends no job role and no frontline flag. YOS staff on Childview are frontline practitioners; the
# role is a code no shipped rule names, so a rule pack targets YOS staff only by saying so.
JOB_ROLE = "YOS_PRACTITIONER"
FRONTLINE = True


def _id(**kw: Any) -> fields.String:
    return code(ID_PATTERN, "a Childview id (letters, digits, '_', '.', '-'; at most 64)", **kw)


def _not_before(data: Mapping[str, Any], later: str, earlier: str) -> None:
    if data.get(later) and data.get(earlier) and data[later] < data[earlier]:
        raise ValidationError(f"Must not be before {earlier}.", later)


class CaseAllocatedSchema(Data):
    yp_id = _id(required=True)
    case_manager_id = _id(required=True)
    yot_team = _id(required=True)
    role = one_of(tuple(ROLES), required=True)
    start_date = sane_date(required=True)


class CaseTransferredSchema(Data):
    yp_id = _id(required=True)
    from_case_manager_id = _id(required=True)
    to_case_manager_id = _id(required=True)
    yot_team = _id(required=True)
    transfer_date = sane_date(required=True)


class CaseDeallocatedSchema(Data):
    yp_id = _id(required=True)
    case_manager_id = _id(required=True)
    end_date = sane_date(required=True)


class CaseStatusChangedSchema(Data):
    yp_id = _id(required=True)
    disposal = one_of(YOUTH_JUSTICE_DISPOSALS, required=True)
    start_date = sane_date(required=True)
    looked_after = Bool(allow_none=True, load_default=None)


class CaseClosedSchema(Data):
    yp_id = _id(required=True)
    end_date = sane_date(required=True)
    # Read as anything so that a free-text (or mistyped) reason never blocks the closure; only a code is kept.
    reason = fields.Raw(allow_none=True, load_default=None)


class StaffUpdatedSchema(Data):
    staff_id = _id(required=True)
    yot_team = _id(required=True)
    manager_id = _id(required=True, allow_none=True)
    case_holding = Bool(required=True)
    supervises_case_holders = Bool(required=True)
    asye = Bool(required=True)
    employment = one_of(EMPLOYMENT_TYPES, required=True)
    start_date = sane_date(required=True)
    end_date = sane_date(allow_none=True, load_default=None)

    # skip_on_field_errors=False: report this with the other fields' errors, not after they are fixed.
    @validates_schema(skip_on_field_errors=False)
    def _dates(self, data: dict[str, Any], **_: Any) -> None:
        _not_before(data, "end_date", "start_date")


class StaffLeaveSchema(Data):
    staff_id = _id(required=True)
    leave_id = code(ID_PATTERN, "a leave id (letters, digits, '_', '.', '-'; at most 64)", required=True)
    reason = one_of(LEAVE_REASONS, required=True)
    start_date = sane_date(required=True)
    end_date = sane_date(required=True)
    status = one_of(("recorded", "cancelled"), load_default="recorded")

    @validates_schema(skip_on_field_errors=False)
    def _dates(self, data: dict[str, Any], **_: Any) -> None:
        _not_before(data, "end_date", "start_date")


class ActionSchema(Data):
    """An agreed action. Its `text` is not declared, so EXCLUDE drops it unread: free text about a child."""

    owner_staff_id = _id(allow_none=True, load_default=None)
    due_date = sane_date(allow_none=True, load_default=None)


class OversightRecordedSchema(Data):
    kind = one_of(SESSION_KINDS, required=True)
    staff_id = _id(required=True)
    manager_id = _id(required=True, allow_none=True)
    yp_ids = capped_list(_id(), required=True)
    held_on = sane_date(required=True)
    recorded_on = sane_date(required=True)
    significant = Bool(required=True)
    prompt_id = _id(allow_none=True, load_default=None)
    actions = capped_list(fields.Nested(ActionSchema), MAX_ACTIONS, load_default=list)

    @validates_schema(skip_on_field_errors=False)
    def _dates(self, data: dict[str, Any], **_: Any) -> None:
        _not_before(data, "recorded_on", "held_on")


def _allocated(eid: str, at: datetime, d: dict[str, Any]) -> Event:
    return CaseAllocated(
        eid, at, d["yp_id"], d["case_manager_id"], d["yot_team"], ROLES[d["role"]], d["start_date"]
    )


def _transferred(eid: str, at: datetime, d: dict[str, Any]) -> Event:
    return CaseTransferred(
        eid,
        at,
        d["yp_id"],
        d["from_case_manager_id"],
        d["to_case_manager_id"],
        d["yot_team"],
        # Childview transfers the case manager, who is the keyworker.
        Relationship.ALLOCATED_WORKER,
        d["transfer_date"],
    )


def _deallocated(eid: str, at: datetime, d: dict[str, Any]) -> Event:
    return CaseDeallocated(eid, at, d["yp_id"], d["case_manager_id"], d["end_date"])


def _status(eid: str, at: datetime, d: dict[str, Any]) -> Event:
    # The disposal is the status: it is what an explanation names ("YRO since 5 Nov").
    return CaseStatusChanged(
        eid, at, d["yp_id"], d["disposal"], d["start_date"], looked_after=d["looked_after"]
    )


def _closed(eid: str, at: datetime, d: dict[str, Any]) -> Event:
    return CaseClosed(eid, at, d["yp_id"], d["end_date"], reason_code(d["reason"]))


def _staff(eid: str, at: datetime, d: dict[str, Any]) -> Event:
    return WorkerUpdated(
        eid,
        at,
        worker_id=d["staff_id"],
        team_id=d["yot_team"],
        supervisor_id=d["manager_id"],
        job_role=JOB_ROLE,
        case_holding=d["case_holding"],
        supervises_case_holders=d["supervises_case_holders"],
        frontline=FRONTLINE,
        asye=d["asye"],
        employment=d["employment"],
        start_date=d["start_date"],
        end_date=d["end_date"],
    )


def _leave(eid: str, at: datetime, d: dict[str, Any]) -> Event:
    return WorkerLeave(
        eid,
        at,
        worker_id=d["staff_id"],
        leave_id=d["leave_id"],
        reason=d["reason"],
        start_date=d["start_date"],
        end_date=d["end_date"],
        cancelled=d["status"] == "cancelled",
    )


def _recorded(eid: str, at: datetime, d: dict[str, Any]) -> Event:
    return SupervisionRecorded(
        eid,
        at,
        kind=d["kind"],
        worker_id=d["staff_id"],
        supervisor_id=d["manager_id"],
        # Childview's oversight records name no team.
        team_id=None,
        case_ids_discussed=tuple(d["yp_ids"]),
        held_on=d["held_on"],
        recorded_on=d["recorded_on"],
        significant=d["significant"],
        step_ref=d["prompt_id"],
        actions=tuple(Action(a["owner_staff_id"], a["due_date"]) for a in d["actions"]),
    )


# One instance of each schema, made once: load() keeps no state between calls, so sharing is safe.
EVENT_SCHEMAS: dict[str, tuple[Schema, Builder]] = {
    "case.allocated": (CaseAllocatedSchema(), _allocated),
    "case.transferred": (CaseTransferredSchema(), _transferred),
    "case.deallocated": (CaseDeallocatedSchema(), _deallocated),
    "case.status_changed": (CaseStatusChangedSchema(), _status),
    "case.closed": (CaseClosedSchema(), _closed),
    "staff.updated": (StaffUpdatedSchema(), _staff),
    "staff.leave": (StaffLeaveSchema(), _leave),
    "oversight.recorded": (OversightRecordedSchema(), _recorded),
}


def parse_childview_event(body: Mapping[str, Any]) -> Event:
    """Validate a Childview webhook body; raise EventValidationError naming every bad field."""
    return parse_event(body, EVENT_SCHEMAS)
