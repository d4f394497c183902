"""A Bracknell Forest tenant through the fake Mosaic: booking ahead as its own step, booked sessions' reminders,
and the personal supervision form stub (issue 9)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from connector.config import parse_config
from tests.support.fake_mosaic import FakeMosaic
from tests.support.harness import Connector, config_document, event, start_connector

# Each path runs on SQLite and on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("store_engine")

MANAGER = event(
    "bf_w6600",
    "worker.updated",
    "2026-10-01T08:00:00Z",
    worker_id=6600,
    team_id=410,
    supervisor_id=6500,
    job_role="TEAM_MANAGER",
    case_holding=False,
    supervises_case_holders=True,
    frontline=True,
    asye=False,
    employment="permanent",
    start_date="2015-01-05",
)
PRACTITIONER = event(
    "bf_w6601",
    "worker.updated",
    "2026-10-01T08:00:00Z",
    worker_id=6601,
    team_id=410,
    supervisor_id=6600,
    job_role="SOCIAL_WORKER",
    case_holding=True,
    supervises_case_holders=False,
    frontline=True,
    asye=False,
    employment="permanent",
    start_date="2019-01-07",
)


def booked(
    booking: str, starts_at: str, status: str = "booked", at: str = "2026-11-20T10:00:00Z"
) -> dict[str, Any]:
    return event(
        f"bf_book_{booking}_{status}",
        "supervision.booked",
        at,
        booking_id=booking,
        kind="personal_supervision",
        worker_id=6601,
        supervisor_id=6600,
        team_id=410,
        starts_at=starts_at,
        duration_minutes=60,
        status=status,
    )


def personal_held(held_on: str) -> dict[str, Any]:
    return event(
        f"bf_ps_{held_on}",
        "supervision.recorded",
        f"{held_on}T16:00:00Z",
        kind="personal",
        worker_id=6601,
        supervisor_id=6600,
        team_id=410,
        person_ids=[],
        held_on=held_on,
        recorded_on=held_on,
        significant=False,
    )


@pytest.fixture
def mosaic(httpserver: HTTPServer) -> FakeMosaic:
    return FakeMosaic(httpserver).install()


@pytest.fixture
def connector(tmp_path: Path, mosaic: FakeMosaic) -> Iterator[Connector]:
    document = config_document(tmp_path, mosaic.base_url)
    tenant = document["tenants"][0]
    tenant.update(id="bracknell", rule_pack="bracknell-forest", reference_prefix="bfc")
    tenant["mosaic"]["form_types"] = {"case_supervision": 7701, "personal_supervision": 7702}
    running = start_connector(parse_config(document, base_dir=tmp_path, environ={}))
    yield running
    running.close()


def deliver(connector: Connector, *events: dict[str, Any]) -> None:
    for item in events:
        assert connector.post(item, tenant="bracknell").status_code == 202
    connector.service.drain()


def open_of(mosaic: FakeMosaic, step_type: int, worker: int = 6601) -> list[dict[str, Any]]:
    return [
        s
        for s in mosaic.open_steps()
        if s["workflow_step_type_id"] == step_type and s["assignee_id"] == worker
    ]


def test_a_worker_with_no_bookings_has_one_booking_step_and_one_personal_supervision_step(
    connector: Connector, mosaic: FakeMosaic
) -> None:
    deliver(connector, MANAGER, PRACTITIONER)
    [booking] = open_of(mosaic, 9111)
    assert booking["title"] == "Book supervision sessions to cover the next three months"
    assert "BFC-BOOK" in booking["notes"] and "BFC-PS-MONTH" not in booking["notes"]
    [personal] = open_of(mosaic, 9102)
    assert personal["title"] == "Personal supervision due" and "BFC-BOOK" not in personal["notes"]
    # A session held starts the next cycle: still exactly one open personal supervision step.
    deliver(connector, personal_held("2026-11-25"))
    [next_personal] = open_of(mosaic, 9102)
    assert next_personal["workflow_step_id"] != personal["workflow_step_id"]
    assert mosaic.steps[personal["workflow_step_id"]]["step_status"] == "COMPLETED"
    assert len(open_of(mosaic, 9111)) == 1


def test_the_booking_step_is_met_as_soon_as_bookings_reach_three_months_ahead(
    connector: Connector, mosaic: FakeMosaic
) -> None:
    deliver(connector, MANAGER, PRACTITIONER)
    [booking] = open_of(mosaic, 9111)
    deliver(connector, booked("P1", "2026-12-15T10:00:00Z"))  # not far enough: still owed (a new cycle)
    [still] = open_of(mosaic, 9111)
    deliver(connector, booked("P2", "2027-03-02T10:00:00Z"))  # today 1 Dec + 3 months = 1 Mar: far enough
    assert open_of(mosaic, 9111) == []
    assert mosaic.steps[still["workflow_step_id"]]["step_status"] == "COMPLETED"
    assert mosaic.steps[booking["workflow_step_id"]]["step_status"] == "COMPLETED"


ALLOCATED = event(
    "bf_alloc",
    "case.allocated",
    "2026-11-02T09:30:00Z",
    person_id=300001,
    worker_id=6601,
    team_id=410,
    relationship="ALLWKR",
    start_date="2026-11-02",
)


def tray(mosaic: FakeMosaic, step: dict[str, Any]) -> list[tuple[str, int]]:
    return sorted(
        (n["notification_date"], n["worker_id"])
        for n in mosaic.notifications.values()
        if n["workflow_step_id"] == step["workflow_step_id"]
    )


def test_a_booked_session_reminds_of_the_agenda_and_the_record_and_a_cancellation_withdraws_both(
    connector: Connector, mosaic: FakeMosaic
) -> None:
    session = booked("S1", "2026-12-10T10:00:00Z")
    session["data"]["person_ids"] = [300001]
    deliver(connector, MANAGER, PRACTITIONER, ALLOCATED, session)
    [agenda] = open_of(mosaic, 9110)
    assert agenda["due_date"] == "2026-12-09" and "BFC-AGENDA" in agenda["notes"]  # 24 hours before (5 q)
    [record] = open_of(mosaic, 9108, worker=6600)
    assert record["due_date"] == "2026-12-12" and record["subject_person_id"] == 300001
    for n in range(0, 12):
        connector.service.tick(date(2026, 12, 1) + timedelta(days=n))
        connector.service.drain()
        if n == 8:  # 9 Dec, the agenda's due date; the session is tomorrow
            assert tray(mosaic, agenda) == [("2026-12-02", 6601), ("2026-12-09", 6600), ("2026-12-09", 6601)]
            assert tray(mosaic, record) == [("2026-12-05", 6600)]
    # The record falls due after the session: its recorder (the supervisor) is reminded on the day.
    assert ("2026-12-12", 6600) in tray(mosaic, record)
    # A cancelled booking withdraws both steps and every unread reminder about them.
    cancelled = booked("S1", "2026-12-10T10:00:00Z", status="cancelled", at="2026-11-21T10:00:00Z")
    cancelled["data"]["person_ids"] = [300001]
    deliver(connector, cancelled)
    assert mosaic.steps[agenda["workflow_step_id"]]["step_status"] == "CANCELLED"
    assert mosaic.steps[record["workflow_step_id"]]["step_status"] == "CANCELLED"
    assert tray(mosaic, agenda) == [] and tray(mosaic, record) == []


def answers_of(mosaic: FakeMosaic, step: dict[str, Any]) -> dict[str, str]:
    [form] = [f for f in mosaic.forms.values() if f["workflow_step_id"] == step["workflow_step_id"]]
    return {a["question_user_code"]: a["value"] for a in form["answers"]}


def test_the_personal_supervision_stub_lists_the_children_and_records_a_leave_gap_updated_in_place(
    connector: Connector, mosaic: FakeMosaic
) -> None:
    leave = event(
        "bf_leave",
        "worker.leave",
        "2026-11-03T08:00:00Z",
        worker_id=6601,
        leave_id=71,
        reason="sickness",
        start_date="2026-11-02",
        end_date="2026-11-13",
    )
    deliver(connector, MANAGER, PRACTITIONER, personal_held("2026-10-20"), ALLOCATED, leave)
    [personal] = open_of(mosaic, 9102)
    answers = answers_of(mosaic, personal)
    assert answers["PS_DUE_DATE" if "PS_DUE_DATE" in answers else "CS_DUE_DATE"] == personal["due_date"]
    assert (
        "BFC-PS-MONTH" in answers["CS_REASON"]
        and "personal supervision held on 2026-10-20" in answers["CS_COUNTED_FROM"]
    )
    assert answers["CS_CHILDREN"].startswith("A case management supervision record for each child")
    assert "300001" in answers["CS_CHILDREN"] and "BFC-CHILDREN" in answers["CS_CHILDREN"]
    assert "wellbeing" in answers["PS_WELLBEING"]
    assert "sickness leave 2026-11-02 to 2026-11-13 (12 days)" in answers["PS_LEAVE_GAP"]
    # A second child: the same stub is updated, not a second one made.
    second = dict(ALLOCATED, id="bf_alloc2")
    second["data"] = {**ALLOCATED["data"], "person_id": 300002}
    deliver(connector, second)
    assert (
        len([f for f in mosaic.forms.values() if f["workflow_step_id"] == personal["workflow_step_id"]]) == 1
    )
    assert "300001, 300002" in answers_of(mosaic, personal)["CS_CHILDREN"]
    assert mosaic.calls["PATCH /forms/{id}"] >= 1
