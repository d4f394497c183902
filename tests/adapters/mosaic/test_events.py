"""Mosaic webhook bodies in, domain events out; every bad field named by its dotted path."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from adapters.base import EventValidationError
from adapters.mosaic import MosaicAdapter
from adapters.mosaic.events import parse_mosaic_event
from connector.store.event_codec import event_to_json
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

AT = "2026-11-02T09:30:00Z"
AT_DT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
BST = timezone(timedelta(hours=1))


def envelope(event_type: str, data: Any, occurred_at: Any = AT, **extra: Any) -> dict[str, Any]:
    return {"id": "evt_1", "type": event_type, "occurred_at": occurred_at, "data": data, **extra}


def errors_of(body: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(EventValidationError) as caught:
        parse_mosaic_event(body)
    return caught.value.errors


WORKER = {
    "worker_id": 5521,
    "team_id": 310,
    "supervisor_id": 4410,
    "job_role": "SOCIAL_WORKER",
    "case_holding": True,
    "supervises_case_holders": False,
    "frontline": True,
    "asye": False,
    "employment": "agency",
    "start_date": "2025-04-01",
}
BOOKED = {
    "booking_id": 77,
    "kind": "group_supervision",
    "worker_id": 5521,
    "supervisor_id": 4410,
    "team_id": 310,
    "person_ids": [100234, 100235],
    "starts_at": "2026-11-10T10:00:00+01:00",
    "duration_minutes": 90,
    "status": "booked",
}
RECORDED = {
    "kind": "case",
    "worker_id": 5521,
    "supervisor_id": 4410,
    "team_id": 310,
    "person_ids": [100234],
    "held_on": "2026-11-03",
    "recorded_on": "2026-11-04",
    "significant": True,
    "workflow_step_id": 880012,
    "actions": [
        {"text": "Visit Jane Doe at her grandmother's", "owner_worker_id": 5521, "due_date": "2026-11-20"},
        {"text": "Chase school", "owner_worker_id": None, "due_date": None},
    ],
}

CASES: list[tuple[str, dict[str, Any], Event]] = [
    (
        "case.allocated",
        {
            "person_id": 100234,
            "worker_id": 5521,
            "team_id": 310,
            "relationship": "LEADPROF",
            "start_date": "2026-11-02",
        },
        CaseAllocated(
            "evt_1", AT_DT, "100234", "5521", "310", Relationship.LEAD_PROFESSIONAL, date(2026, 11, 2)
        ),
    ),
    (
        "case.transferred",
        {
            "person_id": 100234,
            "from_worker_id": 5521,
            "to_worker_id": 5522,
            "to_team_id": 311,
            "relationship": "ALLWKR",
            "transfer_date": "2026-11-09",
        },
        CaseTransferred(
            "evt_1", AT_DT, "100234", "5521", "5522", "311", Relationship.ALLOCATED_WORKER, date(2026, 11, 9)
        ),
    ),
    (
        "case.deallocated",
        {"person_id": 100234, "worker_id": 5521, "end_date": "2026-12-01"},
        CaseDeallocated("evt_1", AT_DT, "100234", "5521", date(2026, 12, 1)),
    ),
    (
        "case.status_changed",
        {
            "person_id": 100234,
            "status": "LAC",
            "start_date": "2026-11-05",
            "permanency_plan_agreed": False,
            "fsm": True,
        },
        CaseStatusChanged("evt_1", AT_DT, "100234", "LAC", date(2026, 11, 5), False, True),
    ),
    (
        "case.status_changed",
        {"person_id": 100234, "status": "CARE_EXPERIENCED", "start_date": "2026-11-05"},
        CaseStatusChanged("evt_1", AT_DT, "100234", "CARE_EXPERIENCED", date(2026, 11, 5), None, None),
    ),
    (
        "case.closed",
        {"person_id": 100234, "end_date": "2026-12-01", "reason": "RC1"},
        CaseClosed("evt_1", AT_DT, "100234", date(2026, 12, 1), "RC1"),
    ),
    (
        "worker.updated",
        {**WORKER, "end_date": "2026-12-31"},
        WorkerUpdated(
            "evt_1",
            AT_DT,
            worker_id="5521",
            team_id="310",
            supervisor_id="4410",
            job_role="SOCIAL_WORKER",
            case_holding=True,
            supervises_case_holders=False,
            frontline=True,
            asye=False,
            employment="agency",
            start_date=date(2025, 4, 1),
            end_date=date(2026, 12, 31),
        ),
    ),
    (
        "worker.shift_worked",
        {"worker_id": 5521, "shift_date": "2026-11-07"},
        ShiftWorked("evt_1", AT_DT, "5521", date(2026, 11, 7)),
    ),
    (
        "worker.leave",
        {
            "worker_id": 5521,
            "leave_id": 71,
            "reason": "sickness",
            "start_date": "2026-11-02",
            "end_date": "2026-11-13",
        },
        WorkerLeave("evt_1", AT_DT, "5521", "71", "sickness", date(2026, 11, 2), date(2026, 11, 13)),
    ),
    (
        "supervision.booked",
        BOOKED,
        SupervisionBooked(
            "evt_1",
            AT_DT,
            booking_id="77",
            kind="group_supervision",
            worker_id="5521",
            supervisor_id="4410",
            team_id="310",
            case_ids_discussed=("100234", "100235"),
            starts_at=datetime(2026, 11, 10, 10, 0, tzinfo=BST),
            duration_minutes=90,
            status="booked",
        ),
    ),
    (
        "supervision.recorded",
        RECORDED,
        SupervisionRecorded(
            "evt_1",
            AT_DT,
            kind="case",
            worker_id="5521",
            supervisor_id="4410",
            team_id="310",
            case_ids_discussed=("100234",),
            held_on=date(2026, 11, 3),
            recorded_on=date(2026, 11, 4),
            significant=True,
            step_ref="880012",
            actions=(Action("5521", date(2026, 11, 20)), Action(None, None)),
        ),
    ),
]


@pytest.mark.parametrize(("event_type", "data", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_event_type_becomes_its_domain_event(
    event_type: str, data: dict[str, Any], expected: Event
) -> None:
    event = parse_mosaic_event(envelope(event_type, data))

    assert event == expected
    assert event.occurred_at.utcoffset() == timedelta(0)


def test_the_adapter_parses_through_the_same_schemas() -> None:
    _, data, expected = CASES[0]
    assert MosaicAdapter().parse_event(envelope("case.allocated", data)) == expected


def test_unknown_extra_fields_are_ignored_in_envelope_and_data() -> None:
    body = envelope(
        "worker.shift_worked",
        {"worker_id": 5521, "shift_date": "2026-11-07", "shift_pattern": "NIGHTS"},
        source="mosaic-dm",
    )
    assert parse_mosaic_event(body) == ShiftWorked("evt_1", AT_DT, "5521", date(2026, 11, 7))


def test_a_worker_with_no_supervisor_has_supervisor_none() -> None:
    event = parse_mosaic_event(envelope("worker.updated", {**WORKER, "supervisor_id": None}))
    assert isinstance(event, WorkerUpdated)
    assert event.supervisor_id is None
    assert event.end_date is None


def test_a_transfer_to_the_same_worker_is_accepted() -> None:
    data = {
        "person_id": 1,
        "from_worker_id": 5521,
        "to_worker_id": 5521,
        "to_team_id": 311,
        "relationship": "ALLWKR",
        "transfer_date": "2026-11-09",
    }
    event = parse_mosaic_event(envelope("case.transferred", data))
    assert isinstance(event, CaseTransferred)
    assert event.to_team_id == "311"


@pytest.mark.parametrize("booking_id", ["BK-9", "ext:2026.11_03", "B" * 64, "7"])
def test_booking_id_may_be_a_code(booking_id: str) -> None:
    event = parse_mosaic_event(envelope("supervision.booked", {**BOOKED, "booking_id": booking_id}))
    assert isinstance(event, SupervisionBooked)
    assert event.booking_id == booking_id


def test_booking_id_may_be_a_string() -> None:
    event = parse_mosaic_event(
        envelope("supervision.booked", {**BOOKED, "booking_id": "BK-9", "person_ids": []})
    )
    assert isinstance(event, SupervisionBooked)
    assert (event.booking_id, event.case_ids_discussed) == ("BK-9", ())


def test_action_text_is_never_kept() -> None:
    event = parse_mosaic_event(envelope("supervision.recorded", RECORDED))

    assert isinstance(event, SupervisionRecorded)
    assert "Jane" not in repr(event)
    assert "Jane" not in repr(event_to_json(event))
    assert "Chase" not in repr(event_to_json(event))


def test_a_free_text_closure_reason_is_dropped_but_the_closure_kept() -> None:
    data = {"person_id": 100234, "end_date": "2026-12-01", "reason": "Moved to Leeds with mum"}
    event = parse_mosaic_event(envelope("case.closed", data))
    assert event == CaseClosed("evt_1", AT_DT, "100234", date(2026, 12, 1), None)


@pytest.mark.parametrize(
    "reason", ["Smith", "adopted", "RC 1", "_RC1", "R" * 41, 42, ["RC1"], {"code": "RC1"}]
)
def test_a_closure_reason_that_is_not_a_code_is_dropped_but_the_closure_kept(reason: Any) -> None:
    data = {"person_id": 100234, "end_date": "2026-12-01", "reason": reason}
    event = parse_mosaic_event(envelope("case.closed", data))
    assert event == CaseClosed("evt_1", AT_DT, "100234", date(2026, 12, 1), None)


@pytest.mark.parametrize("reason", ["RC1", "ADOPTED", "SPECIAL_GUARDIANSHIP", "RC-10", "R" * 40])
def test_a_closure_reason_code_is_kept(reason: str) -> None:
    data = {"person_id": 100234, "end_date": "2026-12-01", "reason": reason}
    event = parse_mosaic_event(envelope("case.closed", data))
    assert event == CaseClosed("evt_1", AT_DT, "100234", date(2026, 12, 1), reason)


@pytest.mark.parametrize("event_id", ["evt 1", "", "e" * 201, "evt_\u00e9", "evt\t1", 42])
def test_the_event_id_must_be_a_printable_ascii_token(event_id: Any) -> None:
    body = envelope("worker.shift_worked", {"worker_id": 1, "shift_date": "2026-11-02"})
    body["id"] = event_id
    assert list(errors_of(body)) == ["id"]


def test_a_bad_payload_names_every_field_by_its_dotted_path() -> None:
    body = {
        "id": "evt_1",
        "type": "supervision.recorded",
        "occurred_at": "yesterday",
        "data": {
            "kind": "chat",
            "worker_id": "5521",
            "supervisor_id": None,
            "team_id": 310,
            "person_ids": [100234, "x"],
            "held_on": "2026-11-03",
            "recorded_on": "2026-11-02",
            "significant": "yes",
            "actions": [{"owner_worker_id": 1, "due_date": "soon"}],
        },
    }
    assert errors_of(body) == {
        "occurred_at": ["Not a valid datetime."],
        "data.kind": [
            "Must be one of: case, personal, group, fsm_group, team_brief, ad_hoc, allocation_discussion, "
            "ten_twenty_day_discussion, practice_observation, agreement, dip_sample."
        ],
        "data.worker_id": ["Not a valid integer."],
        "data.person_ids[1]": ["Not a valid integer."],
        "data.significant": ["Not a valid boolean."],
        "data.actions[0].due_date": ["Not a valid date."],
        "data.recorded_on": ["Must not be before held_on."],
    }


def test_missing_fields_are_named() -> None:
    assert errors_of({"type": "case.closed", "data": {}}) == {
        "id": ["Missing data for required field."],
        "occurred_at": ["Missing data for required field."],
        "data.person_id": ["Missing data for required field."],
        "data.end_date": ["Missing data for required field."],
    }


def test_data_must_be_an_object() -> None:
    assert errors_of(envelope("case.closed", [1, 2])) == {"data": ["Not a valid mapping type."]}


def test_a_body_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(EventValidationError) as caught:
        parse_mosaic_event([1, 2])  # type: ignore[arg-type]  # what a sender could post
    assert caught.value.errors == {"body": ["Must be a JSON object."]}


def test_unknown_type() -> None:
    assert errors_of(envelope("x", {})) == {"type": ["Unknown event type 'x'."]}


def test_missing_type() -> None:
    body = envelope("x", {})
    del body["type"]
    assert errors_of(body) == {"type": ["Missing data for required field."]}


@pytest.mark.parametrize("naive", ["2026-11-02T09:30:00", "2026-11-02"])
def test_a_naive_occurred_at_is_refused(naive: str) -> None:
    errors = errors_of(envelope("worker.shift_worked", {"worker_id": 1, "shift_date": "2026-11-02"}, naive))
    assert errors == {"occurred_at": ["Not a valid datetime with a UTC offset (e.g. 2026-11-02T09:30:00Z)."]}


def test_a_naive_booking_start_is_refused() -> None:
    errors = errors_of(envelope("supervision.booked", {**BOOKED, "starts_at": "2026-11-10T10:00:00"}))
    assert list(errors) == ["data.starts_at"]


@pytest.mark.parametrize(
    ("event_type", "data", "field"),
    [
        (
            "case.allocated",
            {
                "person_id": 1,
                "worker_id": 2,
                "team_id": 3,
                "relationship": "BOSS",
                "start_date": "2026-11-02",
            },
            "relationship",
        ),
        ("case.status_changed", {"person_id": 1, "status": "ADOPTED", "start_date": "2026-11-02"}, "status"),
        (
            "case.status_changed",
            {"person_id": 1, "status": "LAC", "start_date": "2026-11-02", "fsm": "yes"},
            "fsm",
        ),
        (
            "case.status_changed",
            {"person_id": 1, "status": "LAC", "start_date": "2026-11-02", "permanency_plan_agreed": 1},
            "permanency_plan_agreed",
        ),
        ("worker.updated", {**WORKER, "job_role": "WIZARD"}, "job_role"),
        ("worker.updated", {**WORKER, "employment": "volunteer"}, "employment"),
        ("worker.updated", {**WORKER, "case_holding": "true"}, "case_holding"),
        ("worker.updated", {**WORKER, "end_date": "2025-03-31"}, "end_date"),
        ("worker.updated", {**WORKER, "worker_id": 0}, "worker_id"),
        ("worker.updated", {**WORKER, "worker_id": True}, "worker_id"),
        ("supervision.booked", {**BOOKED, "status": "maybe"}, "status"),
        ("supervision.booked", {**BOOKED, "kind": "case"}, "kind"),
        ("supervision.booked", {**BOOKED, "duration_minutes": 0}, "duration_minutes"),
        ("supervision.booked", {**BOOKED, "duration_minutes": 30.5}, "duration_minutes"),
        ("supervision.booked", {**BOOKED, "booking_id": ""}, "booking_id"),
        ("supervision.booked", {**BOOKED, "booking_id": False}, "booking_id"),
        ("supervision.recorded", {**RECORDED, "kind": "case_supervision"}, "kind"),
        ("supervision.recorded", {**RECORDED, "recorded_on": "2026-11-02"}, "recorded_on"),
        ("supervision.recorded", {k: v for k, v in RECORDED.items() if k != "person_ids"}, "person_ids"),
        ("supervision.booked", {**BOOKED, "person_ids": list(range(1, 1002))}, "person_ids"),
        ("supervision.recorded", {**RECORDED, "person_ids": list(range(1, 1002))}, "person_ids"),
        ("supervision.recorded", {**RECORDED, "actions": [{"owner_worker_id": 1}] * 101}, "actions"),
        ("supervision.recorded", {**RECORDED, "person_ids": [2**63]}, "person_ids[0]"),
        ("worker.updated", {**WORKER, "worker_id": 2**63}, "worker_id"),
        ("worker.updated", {**WORKER, "supervisor_id": int("9" * 4300)}, "supervisor_id"),
        ("case.closed", {"person_id": 2**63, "end_date": "2026-12-01"}, "person_id"),
        ("supervision.booked", {**BOOKED, "booking_id": "Jane Doe DOB 2015-03-04"}, "booking_id"),
        ("supervision.booked", {**BOOKED, "booking_id": " BK-9"}, "booking_id"),
        ("supervision.booked", {**BOOKED, "booking_id": "-BK"}, "booking_id"),
        ("supervision.booked", {**BOOKED, "booking_id": "B" * 65}, "booking_id"),
        ("supervision.booked", {**BOOKED, "booking_id": "BK\u00e99"}, "booking_id"),
        ("supervision.booked", {**BOOKED, "booking_id": 2**63}, "booking_id"),
    ],
)
def test_field_checks(event_type: str, data: dict[str, Any], field: str) -> None:
    assert list(errors_of(envelope(event_type, data))) == [f"data.{field}"]


def test_errors_do_not_echo_the_values_sent() -> None:
    errors = errors_of(envelope("supervision.recorded", {**RECORDED, "significant": "Jane Doe"}))
    assert "Jane" not in repr(errors)


def _with(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """`data` with the value at a dotted path such as `actions[0].due_date` replaced."""
    copy: Any = {**data, "actions": [dict(a) for a in data.get("actions", [])]}
    *parents, last = path.replace("[0]", ".0").split(".")
    target = copy
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    target[last] = value
    return dict(copy)


DATE_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("case.allocated", CASES[0][1], "start_date"),
    ("case.transferred", CASES[1][1], "transfer_date"),
    ("case.deallocated", CASES[2][1], "end_date"),
    ("case.status_changed", CASES[3][1], "start_date"),
    ("case.closed", CASES[5][1], "end_date"),
    ("worker.updated", WORKER, "start_date"),
    ("worker.updated", {**WORKER, "start_date": "1900-01-01"}, "end_date"),
    ("worker.shift_worked", CASES[7][1], "shift_date"),
    ("supervision.recorded", {**RECORDED, "recorded_on": "2199-12-31"}, "held_on"),
    ("supervision.recorded", {**RECORDED, "held_on": "1900-01-01"}, "recorded_on"),
    ("supervision.recorded", RECORDED, "actions[0].due_date"),
]


@pytest.mark.parametrize(
    ("event_type", "data", "path"), DATE_FIELDS, ids=[f"{t}:{p}" for t, _, p in DATE_FIELDS]
)
@pytest.mark.parametrize("value", ["0001-01-01", "1899-12-31", "2200-01-01", "9999-12-31"])
def test_every_date_must_fall_between_1900_and_2199(
    event_type: str, data: dict[str, Any], path: str, value: str
) -> None:
    assert errors_of(envelope(event_type, _with(data, path, value))) == {
        f"data.{path}": ["Must be between 1900-01-01 and 2199-12-31."]
    }


@pytest.mark.parametrize(
    ("event_type", "data", "path"), DATE_FIELDS, ids=[f"{t}:{p}" for t, _, p in DATE_FIELDS]
)
@pytest.mark.parametrize("value", ["1900-01-01", "2199-12-31"])
def test_the_date_bounds_themselves_are_accepted(
    event_type: str, data: dict[str, Any], path: str, value: str
) -> None:
    parse_mosaic_event(envelope(event_type, _with(data, path, value)))


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+05:00",
        "1899-12-31T23:59:59Z",
        "2200-01-01T00:00:00Z",
        "9999-12-31T23:59:59-05:00",
    ],
)
def test_occurred_at_and_starts_at_fall_between_1900_and_2199(value: str) -> None:
    shift = {"worker_id": 1, "shift_date": "2026-11-02"}
    assert errors_of(envelope("worker.shift_worked", shift, value)) == {
        "occurred_at": ["Must be between 1900-01-01 and 2199-12-31."]
    }
    assert errors_of(envelope("supervision.booked", {**BOOKED, "starts_at": value})) == {
        "data.starts_at": ["Must be between 1900-01-01 and 2199-12-31."]
    }


def test_the_largest_lists_and_ids_allowed_are_accepted() -> None:
    largest = 2**63 - 1
    booked = parse_mosaic_event(
        envelope("supervision.booked", {**BOOKED, "worker_id": largest, "person_ids": list(range(1, 1001))})
    )
    assert isinstance(booked, SupervisionBooked)
    assert (booked.worker_id, len(booked.case_ids_discussed)) == (str(largest), 1000)
    recorded = parse_mosaic_event(
        envelope("supervision.recorded", {**RECORDED, "actions": [{"owner_worker_id": 1}] * 100})
    )
    assert isinstance(recorded, SupervisionRecorded)
    assert len(recorded.actions) == 100


def test_worker_leave_may_be_cancelled_and_its_fields_are_checked() -> None:
    data = {"worker_id": 5521, "leave_id": "L-7", "reason": "annual", "start_date": "2026-11-02"}
    cancelled = parse_mosaic_event(
        envelope("worker.leave", {**data, "end_date": "2026-11-06", "status": "cancelled"})
    )
    assert isinstance(cancelled, WorkerLeave) and cancelled.cancelled
    errors = errors_of(
        envelope("worker.leave", {**data, "reason": "Bereavement of J Smith", "end_date": "2026-11-01"})
    )
    assert sorted(errors) == ["data.end_date", "data.reason"]
