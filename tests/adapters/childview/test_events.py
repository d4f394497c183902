"""Childview webhook bodies in, the same domain events as Mosaic's out; every bad field named by its path."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from adapters.base import EventValidationError
from adapters.childview.events import parse_childview_event
from connector.store.event_codec import event_from_json, event_to_json
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

AT = "2026-11-02T09:30:00Z"
AT_DT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def envelope(event_type: str, data: Any, occurred_at: Any = AT) -> dict[str, Any]:
    return {"id": "evt_1", "type": event_type, "occurred_at": occurred_at, "data": data}


def parse(event_type: str, data: dict[str, Any]) -> Event:
    return parse_childview_event(envelope(event_type, data))


def errors_of(body: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(EventValidationError) as caught:
        parse_childview_event(body)
    return caught.value.errors


ALLOCATED = {
    "yp_id": "YP-00412",
    "case_manager_id": "CM-0042",
    "yot_team": "YOT-NORTH",
    "role": "CASE_MANAGER",
    "start_date": "2026-11-02",
}
STAFF = {
    "staff_id": "CM-0042",
    "yot_team": "YOT-NORTH",
    "manager_id": "TM-0007",
    "case_holding": True,
    "supervises_case_holders": False,
    "asye": False,
    "employment": "permanent",
    "start_date": "2024-09-01",
}
LEAVE = {
    "staff_id": "CM-0042",
    "leave_id": "LV-881",
    "reason": "annual",
    "start_date": "2026-12-21",
    "end_date": "2027-01-01",
}
OVERSIGHT = {
    "kind": "case",
    "staff_id": "CM-0042",
    "manager_id": "TM-0007",
    "yp_ids": ["YP-00412", "YP-00413"],
    "held_on": "2026-11-20",
    "recorded_on": "2026-11-21",
    "significant": False,
    "prompt_id": "PR-19d2",
    "actions": [
        {"text": "Ring Jo Bloggs' mum about school", "owner_staff_id": "CM-0042", "due_date": "2026-12-01"}
    ],
}


def test_case_allocated_as_case_manager_is_a_keyworker() -> None:
    event = parse("case.allocated", ALLOCATED)
    assert event == CaseAllocated(
        "evt_1", AT_DT, "YP-00412", "CM-0042", "YOT-NORTH", Relationship.ALLOCATED_WORKER, date(2026, 11, 2)
    )


def test_a_supporting_worker_is_an_involved_worker() -> None:
    event = parse("case.allocated", {**ALLOCATED, "role": "SUPPORTING"})
    assert isinstance(event, CaseAllocated) and event.relationship is Relationship.INVOLVED_WORKER


def test_case_transferred_moves_the_keyworker() -> None:
    event = parse(
        "case.transferred",
        {
            "yp_id": "YP-00412",
            "from_case_manager_id": "CM-0042",
            "to_case_manager_id": "CM-0051",
            "yot_team": "YOT-SOUTH",
            "transfer_date": "2026-11-10",
        },
    )
    assert event == CaseTransferred(
        "evt_1",
        AT_DT,
        "YP-00412",
        "CM-0042",
        "CM-0051",
        "YOT-SOUTH",
        Relationship.ALLOCATED_WORKER,
        date(2026, 11, 10),
    )


def test_case_deallocated() -> None:
    event = parse(
        "case.deallocated", {"yp_id": "YP-00412", "case_manager_id": "CM-0042", "end_date": "2026-12-01"}
    )
    assert event == CaseDeallocated("evt_1", AT_DT, "YP-00412", "CM-0042", date(2026, 12, 1))


def test_the_disposal_is_the_status_and_looked_after_is_kept() -> None:
    data = {"yp_id": "YP-00412", "disposal": "YRO", "start_date": "2026-11-05", "looked_after": True}
    event = parse("case.status_changed", data)
    assert event == CaseStatusChanged("evt_1", AT_DT, "YP-00412", "YRO", date(2026, 11, 5), looked_after=True)


def test_looked_after_is_optional() -> None:
    event = parse(
        "case.status_changed", {"yp_id": "YP-1", "disposal": "PREVENTION", "start_date": "2026-11-05"}
    )
    assert isinstance(event, CaseStatusChanged) and event.looked_after is None


@pytest.mark.parametrize(
    ("reason", "kept"),
    [
        ("ORDER_COMPLETE", "ORDER_COMPLETE"),
        ("RC-1", "RC-1"),
        ("Moved to live with Aunt Jo", None),
        ("order_complete", None),
        ("RC1\n", None),
        (None, None),
    ],
)
def test_a_closure_reason_is_kept_only_as_a_code_and_the_closure_is_accepted(
    reason: str | None, kept: str | None
) -> None:
    event = parse("case.closed", {"yp_id": "YP-00412", "end_date": "2026-12-01", "reason": reason})
    assert event == CaseClosed("evt_1", AT_DT, "YP-00412", date(2026, 12, 1), kept)


def test_staff_updated_is_a_frontline_yos_practitioner() -> None:
    event = parse("staff.updated", {**STAFF, "end_date": "2027-03-31"})
    assert event == WorkerUpdated(
        "evt_1",
        AT_DT,
        worker_id="CM-0042",
        team_id="YOT-NORTH",
        supervisor_id="TM-0007",
        job_role="YOS_PRACTITIONER",
        case_holding=True,
        supervises_case_holders=False,
        frontline=True,
        asye=False,
        employment="permanent",
        start_date=date(2024, 9, 1),
        end_date=date(2027, 3, 31),
    )


def test_a_staff_member_may_have_no_manager() -> None:
    event = parse("staff.updated", {**STAFF, "manager_id": None})
    assert isinstance(event, WorkerUpdated) and event.supervisor_id is None


def test_staff_leave_is_a_worker_leave_and_may_be_cancelled() -> None:
    event = parse("staff.leave", LEAVE)
    assert event == WorkerLeave(
        "evt_1", AT_DT, "CM-0042", "LV-881", "annual", date(2026, 12, 21), date(2027, 1, 1), cancelled=False
    )
    assert event.worker_ids() == ("CM-0042",)
    cancelled = parse("staff.leave", {**LEAVE, "status": "cancelled"})
    assert isinstance(cancelled, WorkerLeave) and cancelled.cancelled


def test_oversight_recorded_keeps_owners_and_dates_but_not_the_action_text() -> None:
    event = parse("oversight.recorded", OVERSIGHT)
    assert event == SupervisionRecorded(
        "evt_1",
        AT_DT,
        kind="case",
        worker_id="CM-0042",
        supervisor_id="TM-0007",
        team_id=None,
        case_ids_discussed=("YP-00412", "YP-00413"),
        held_on=date(2026, 11, 20),
        recorded_on=date(2026, 11, 21),
        significant=False,
        step_ref="PR-19d2",
        actions=(Action("CM-0042", date(2026, 12, 1)),),
    )
    assert "Bloggs" not in repr(event) and "Bloggs" not in str(event_to_json(event))


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        (
            "case.status_changed",
            {"yp_id": "YP-1", "disposal": "YRO", "start_date": "2026-11-05", "looked_after": False},
        ),
        ("staff.leave", {**LEAVE, "status": "cancelled"}),
        ("oversight.recorded", OVERSIGHT),
        ("staff.updated", STAFF),
    ],
)
def test_every_new_event_survives_the_inbox_round_trip(event_type: str, data: dict[str, Any]) -> None:
    event = parse(event_type, data)
    assert event_from_json(event_to_json(event)) == event


# --- errors -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "data", "field"),
    [
        ("case.allocated", {**ALLOCATED, "yp_id": "Jo Bloggs"}, "data.yp_id"),
        ("case.allocated", {**ALLOCATED, "yp_id": "YP-1\n"}, "data.yp_id"),
        ("case.allocated", {**ALLOCATED, "yp_id": 412}, "data.yp_id"),
        ("case.allocated", {**ALLOCATED, "yp_id": "x" * 65}, "data.yp_id"),
        ("case.allocated", {**ALLOCATED, "role": "ALLWKR"}, "data.role"),
        ("case.allocated", {**ALLOCATED, "start_date": "1899-12-31"}, "data.start_date"),
        ("case.allocated", {**ALLOCATED, "start_date": "2200-01-01"}, "data.start_date"),
        ("case.allocated", {k: v for k, v in ALLOCATED.items() if k != "yot_team"}, "data.yot_team"),
        ("case.transferred", {"yp_id": "YP-1"}, "data.to_case_manager_id"),
        ("case.deallocated", {"yp_id": "YP-1", "case_manager_id": "CM-1"}, "data.end_date"),
        (
            "case.status_changed",
            {"yp_id": "YP-1", "disposal": "LAC", "start_date": "2026-11-05"},
            "data.disposal",
        ),
        (
            "case.status_changed",
            {"yp_id": "YP-1", "disposal": "YRO", "start_date": "2026-11-05", "looked_after": "yes"},
            "data.looked_after",
        ),
        ("case.closed", {"yp_id": "YP-1"}, "data.end_date"),
        ("staff.updated", {**STAFF, "case_holding": 1}, "data.case_holding"),
        ("staff.updated", {**STAFF, "employment": "volunteer"}, "data.employment"),
        ("staff.updated", {k: v for k, v in STAFF.items() if k != "manager_id"}, "data.manager_id"),
        ("staff.updated", {**STAFF, "end_date": "2024-08-31"}, "data.end_date"),
        ("staff.leave", {**LEAVE, "reason": "holiday"}, "data.reason"),
        ("staff.leave", {**LEAVE, "leave_id": "leave one"}, "data.leave_id"),
        ("staff.leave", {**LEAVE, "status": "deleted"}, "data.status"),
        ("staff.leave", {**LEAVE, "end_date": "2026-12-20"}, "data.end_date"),
        ("oversight.recorded", {**OVERSIGHT, "kind": "chat"}, "data.kind"),
        ("oversight.recorded", {**OVERSIGHT, "recorded_on": "2026-11-19"}, "data.recorded_on"),
        ("oversight.recorded", {**OVERSIGHT, "yp_ids": ["YP-1", "Jo Bloggs"]}, "data.yp_ids[1]"),
        ("oversight.recorded", {**OVERSIGHT, "yp_ids": [f"YP-{i}" for i in range(1001)]}, "data.yp_ids"),
        ("oversight.recorded", {**OVERSIGHT, "actions": [{"due_date": "2026-12-01"}] * 101}, "data.actions"),
        (
            "oversight.recorded",
            {**OVERSIGHT, "actions": [{"owner_staff_id": "a b"}]},
            "data.actions[0].owner_staff_id",
        ),
        ("oversight.recorded", {**OVERSIGHT, "significant": None}, "data.significant"),
    ],
)
def test_each_bad_field_is_named(event_type: str, data: dict[str, Any], field: str) -> None:
    errors = errors_of(envelope(event_type, data))
    assert field in errors, errors


def test_a_thousand_ids_are_accepted() -> None:
    event = parse("oversight.recorded", {**OVERSIGHT, "yp_ids": [f"YP-{i}" for i in range(1000)]})
    assert isinstance(event, SupervisionRecorded) and len(event.case_ids_discussed) == 1000


def test_envelope_and_data_errors_are_reported_together() -> None:
    errors = errors_of(
        envelope("case.allocated", {**ALLOCATED, "role": "BOSS"}, occurred_at="2026-11-02T09:30:00")
    )
    assert set(errors) == {"occurred_at", "data.role"}


def test_an_unknown_type_is_named() -> None:
    assert errors_of(envelope("worker.updated", STAFF)) == {"type": ["Unknown event type 'worker.updated'."]}


def test_data_must_be_an_object() -> None:
    assert "data" in errors_of(envelope("case.allocated", ["YP-1"]))


def test_unknown_extra_fields_are_ignored() -> None:
    event = parse("case.allocated", {**ALLOCATED, "yp_name": "Jo Bloggs"})
    assert "Bloggs" not in repr(event)
