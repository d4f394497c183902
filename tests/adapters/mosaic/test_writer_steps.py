"""Workflow steps: create, adopt on 409 or after a lost answer, move, withdraw; against a fake Mosaic."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
import requests
from tests.adapters.mosaic.support import MAX_ATTEMPTS, Harness, LosesAnswers

from adapters.base import FatalError, ObligationWrite, RetryableError, WriteResult
from adapters.mosaic.writer import MosaicWriter

STEPS = "/api/workflow-steps"
STEP = "/api/workflow-steps/880012"
REF = "linc:case_supervision:100234:5521:1"

WRITE = ObligationWrite(
    reference=REF,
    open=True,
    kind="case_supervision",
    case_id="100234",
    assignee_id="5521",
    team_id="310",
    due_date=date(2026, 11, 30),
    title="Case supervision due",
    notes="Why: LINC-CS-ALLOC (policy 5.1.1): discuss within four weeks of allocation.",
    incoming_on=date(2026, 11, 2),
)
CREATE_BODY = {
    "workflow_step_type_id": 9101,
    "subject_person_id": 100234,
    "assignee_id": 5521,
    "responsible_team_id": 310,
    "step_status": "INCOMING",
    "incoming_on": "2026-11-02",
    "due_date": "2026-11-30",
    "title": "Case supervision due",
    "notes": "Why: LINC-CS-ALLOC (policy 5.1.1): discuss within four weeks of allocation.",
    "external_reference": REF,
}
CHANGES = {k: CREATE_BODY[k] for k in ("due_date", "assignee_id", "responsible_team_id", "title", "notes")}


def created(mosaic: Harness) -> None:
    mosaic.server.expect_request(STEPS, method="POST", json=CREATE_BODY).respond_with_json(
        {**CREATE_BODY, "workflow_step_id": 880012}, 201
    )


def found(mosaic: Harness, items: list[dict[str, Any]]) -> None:
    mosaic.server.expect_request(
        STEPS, method="GET", query_string={"external_reference": REF}
    ).respond_with_json({"items": items})


def patched(mosaic: Harness, body: dict[str, Any], status: int = 200) -> None:
    answer = {"workflow_step_id": 880012} if status == 200 else {"message": "The step is COMPLETED."}
    mosaic.server.expect_request(STEP, method="PATCH", json=body).respond_with_json(answer, status)


def test_create(mosaic: Harness) -> None:
    created(mosaic)

    result = mosaic.writer().sync_obligation(WRITE)

    assert result == WriteResult("880012", None)
    assert mosaic.calls() == ["POST /api/workflow-steps"]


def test_a_worker_level_step_has_no_subject_and_may_have_no_team(mosaic: Harness) -> None:
    write = dataclasses.replace(
        WRITE,
        kind="personal_supervision",
        case_id=None,
        team_id=None,
        reference="linc:personal_supervision:5521:1",
    )
    body = {
        **CREATE_BODY,
        "workflow_step_type_id": 9102,
        "subject_person_id": None,
        "responsible_team_id": None,
        "external_reference": write.reference,
    }
    mosaic.server.expect_request(STEPS, method="POST", json=body).respond_with_json(
        {"workflow_step_id": 7}, 201
    )

    assert mosaic.writer().sync_obligation(write) == WriteResult("7", None)


def test_a_409_adopts_the_existing_step_and_brings_it_up_to_date(mosaic: Harness) -> None:
    mosaic.server.expect_request(STEPS, method="POST").respond_with_json(
        {"workflow_step_id": 880012, "message": "external_reference already exists."}, 409
    )
    patched(mosaic, CHANGES)

    result = mosaic.writer().sync_obligation(WRITE)

    assert result == WriteResult("880012", None)
    assert mosaic.calls() == ["POST /api/workflow-steps", "PATCH /api/workflow-steps/880012"]


def test_an_adopted_step_already_completed_is_reported_closed(mosaic: Harness) -> None:
    mosaic.server.expect_request(STEPS, method="POST").respond_with_json({"workflow_step_id": 880012}, 409)
    patched(mosaic, CHANGES, status=409)

    result = mosaic.writer().sync_obligation(WRITE)

    assert result == WriteResult("880012", None, closed_on_platform=True)


def test_a_timed_out_create_that_succeeded_is_adopted_without_a_second_post(mosaic: Harness) -> None:
    created(mosaic)
    found(mosaic, [{**CREATE_BODY, "workflow_step_id": 880012}])
    patched(mosaic, CHANGES)
    session = LosesAnswers("POST", STEPS)

    result = mosaic.writer(session).sync_obligation(WRITE)

    assert result == WriteResult("880012", None)
    assert mosaic.calls() == [
        "POST /api/workflow-steps",
        f"GET /api/workflow-steps?external_reference={REF.replace(':', '%3A')}",
        "PATCH /api/workflow-steps/880012",
    ]
    assert mosaic.sleeps == [0.5]


def test_a_dropped_create_that_never_arrived_is_sent_again(mosaic: Harness) -> None:
    created(mosaic)
    found(mosaic, [])
    session = LosesAnswers("POST", STEPS, error=requests.ConnectionError, before=True)

    result = mosaic.writer(session).sync_obligation(WRITE)

    assert result == WriteResult("880012", None)
    assert [c.split("?")[0] for c in mosaic.calls()] == [
        "GET /api/workflow-steps",
        "POST /api/workflow-steps",
    ]


def test_a_503_on_create_is_looked_up_before_posting_again(mosaic: Harness) -> None:
    mosaic.server.expect_oneshot_request(STEPS, method="POST").respond_with_json({"message": "down"}, 503)
    found(mosaic, [])
    created(mosaic)

    assert mosaic.writer().sync_obligation(WRITE) == WriteResult("880012", None)
    assert len(mosaic.calls("POST")) == 2
    assert len(mosaic.calls("GET")) == 1


def test_creates_that_keep_timing_out_give_up_after_max_attempts(mosaic: Harness) -> None:
    found(mosaic, [])
    session = LosesAnswers("POST", STEPS, times=99, before=True)

    with pytest.raises(RetryableError, match="did not answer POST /workflow-steps"):
        mosaic.writer(session).sync_obligation(WRITE)

    assert session.times == 99 - MAX_ATTEMPTS
    assert len(mosaic.calls("GET")) == MAX_ATTEMPTS - 1
    assert mosaic.sleeps == [0.5, 1.0, 2.0]


@pytest.mark.parametrize("status", [400, 401, 422])
def test_a_fatal_create_is_raised_after_one_call(mosaic: Harness, status: int) -> None:
    mosaic.server.expect_request(STEPS, method="POST").respond_with_json(
        {"message": "Unknown assignee.", "errors": {"assignee_id": ["Does not exist."]}}, status
    )

    with pytest.raises(FatalError, match=f"{status}.*Unknown assignee.*assignee_id: Does not exist"):
        mosaic.writer().sync_obligation(WRITE)

    assert mosaic.calls() == ["POST /api/workflow-steps"]


def test_a_kind_without_a_step_type_is_fatal_before_any_call(mosaic: Harness) -> None:
    write = dataclasses.replace(WRITE, kind="dip_sample")

    with pytest.raises(FatalError, match="no Mosaic workflow step type is configured for dip_sample"):
        mosaic.writer().sync_obligation(write)

    assert mosaic.calls() == []


def test_an_id_mosaic_cannot_hold_is_fatal_before_any_call(mosaic: Harness) -> None:
    with pytest.raises(FatalError, match="assignee 'YP-77' is not a Mosaic id"):
        mosaic.writer().sync_obligation(dataclasses.replace(WRITE, assignee_id="YP-77"))

    assert mosaic.calls() == []


def test_move_patches_the_known_step(mosaic: Harness) -> None:
    moved = dataclasses.replace(WRITE, platform_id="880012", due_date=date(2026, 12, 14), assignee_id="5522")
    patched(mosaic, {**CHANGES, "due_date": "2026-12-14", "assignee_id": 5522})

    assert mosaic.writer().sync_obligation(moved) == WriteResult("880012", None)
    assert mosaic.calls() == ["PATCH /api/workflow-steps/880012"]


def test_moving_a_step_completed_on_mosaic_reports_it_closed(mosaic: Harness) -> None:
    patched(mosaic, CHANGES, status=409)

    result = mosaic.writer().sync_obligation(dataclasses.replace(WRITE, platform_id="880012"))

    assert result == WriteResult("880012", None, closed_on_platform=True)


def test_moving_a_step_mosaic_does_not_know_is_fatal(mosaic: Harness) -> None:
    mosaic.server.expect_request(STEP, method="PATCH").respond_with_json(
        {"message": "No such workflow step."}, 404
    )

    with pytest.raises(FatalError, match="404"):
        mosaic.writer().sync_obligation(dataclasses.replace(WRITE, platform_id="880012"))

    assert len(mosaic.calls()) == 1


def test_a_move_is_retried_through_server_trouble(mosaic: Harness) -> None:
    mosaic.server.expect_oneshot_request(STEP, method="PATCH").respond_with_json({}, 502)
    patched(mosaic, CHANGES)

    assert (
        mosaic.writer().sync_obligation(dataclasses.replace(WRITE, platform_id="880012")).platform_id
        == "880012"
    )
    assert len(mosaic.calls("PATCH")) == 2


def test_withdraw_cancels_the_known_step(mosaic: Harness) -> None:
    patched(mosaic, {"step_status": "CANCELLED"})

    result = mosaic.writer().sync_obligation(dataclasses.replace(WRITE, open=False, platform_id="880012"))

    assert result == WriteResult("880012", None)
    assert mosaic.calls() == ["PATCH /api/workflow-steps/880012"]


def test_withdraw_looks_the_reference_up_when_the_id_is_unknown(mosaic: Harness) -> None:
    found(mosaic, [{"workflow_step_id": 880012, "external_reference": REF}])
    patched(mosaic, {"step_status": "CANCELLED"})

    assert mosaic.writer().sync_obligation(dataclasses.replace(WRITE, open=False)) == WriteResult("880012")


def test_withdrawing_what_never_reached_mosaic_does_nothing(mosaic: Harness) -> None:
    found(mosaic, [])

    assert mosaic.writer().sync_obligation(dataclasses.replace(WRITE, open=False)) == WriteResult(None)
    assert len(mosaic.calls()) == 1


def test_withdrawing_a_completed_step_is_success(mosaic: Harness) -> None:
    patched(mosaic, {"step_status": "CANCELLED"}, status=409)

    result = mosaic.writer().sync_obligation(
        dataclasses.replace(WRITE, open=False, platform_id="880012", form_id="4")
    )

    assert result == WriteResult("880012", "4", closed_on_platform=True)


def test_a_lookup_answer_without_items_is_retried_like_a_5xx(mosaic: Harness) -> None:
    # Not Mosaic's shape (a proxy's, a fault's): parked at once, the write would never be tried again.
    mosaic.server.expect_request(STEPS, method="GET").respond_with_json({"steps": []})

    with pytest.raises(RetryableError, match="no items list"):
        mosaic.writer().sync_obligation(dataclasses.replace(WRITE, open=False))


@pytest.mark.parametrize(
    "garbage", [{"status": "ok"}, {"workflow_step_id": None}, {"workflow_step_id": True}]
)
def test_a_create_answered_without_its_id_is_looked_up_before_it_is_sent_again(
    mosaic: Harness, garbage: dict[str, Any]
) -> None:
    # The garbled 201 may well have made the step: the next try finds it rather than making a second one.
    mosaic.server.expect_oneshot_request(STEPS, method="POST").respond_with_json(garbage, 201)
    found(mosaic, [{**CREATE_BODY, "workflow_step_id": 880012}])
    patched(mosaic, CHANGES)

    result = mosaic.writer(form_types={}).sync_obligation(WRITE)

    assert result.platform_id == "880012"
    assert mosaic.calls() == [
        "POST /api/workflow-steps",
        f"GET /api/workflow-steps?external_reference={REF.replace(':', '%3A')}",
        "PATCH /api/workflow-steps/880012",
    ]


def test_an_unsure_create_looks_the_reference_up_first_and_adopts_the_step(mosaic: Harness) -> None:
    # The dispatcher's writer makes one try per call; a create whose answer an earlier try lost is marked
    # unsure, so this try finds the step the lost create made instead of sending a second create.
    found(mosaic, [{**CREATE_BODY, "workflow_step_id": 880012}])
    patched(mosaic, CHANGES)
    writer = MosaicWriter(mosaic.client(max_attempts=1), mosaic.settings(form_types={}), "linc")

    result = writer.sync_obligation(dataclasses.replace(WRITE, unsure=True))

    assert result == WriteResult("880012", None)
    assert mosaic.calls("POST") == [] and mosaic.sleeps == []


def test_an_unsure_create_that_never_arrived_is_sent_after_the_lookup(mosaic: Harness) -> None:
    found(mosaic, [])
    created(mosaic)
    writer = MosaicWriter(mosaic.client(max_attempts=1), mosaic.settings(form_types={}), "linc")

    result = writer.sync_obligation(dataclasses.replace(WRITE, unsure=True))

    assert result.platform_id == "880012"
    assert [c.split("?")[0] for c in mosaic.calls()] == [
        "GET /api/workflow-steps",
        "POST /api/workflow-steps",
    ]
