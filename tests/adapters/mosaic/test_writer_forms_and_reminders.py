"""Form stubs on a step (created, adopted, patched) and current-work notifications."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
import requests
from tests.adapters.mosaic.support import Harness, LosesAnswers

from adapters.base import FatalError, ObligationWrite, ReminderWrite, WriteResult

REF = "linc:case_supervision:100234:5521:1"
FORM_REF = "linc:form:case_supervision:100234:5521:1"
LONG = "Agreed at the case supervision held 2026-10-01: " + "; ".join(
    f"{n}. owner 5521, due 2026-10-30" for n in range(1, 12)
)
WRITE = ObligationWrite(
    reference=REF,
    open=True,
    kind="case_supervision",
    case_id="100234",
    assignee_id="5521",
    team_id="310",
    due_date=date(2026, 11, 30),
    title="Case supervision due",
    notes="Why: LINC-CS-ALLOC (5.1.1)",
    incoming_on=date(2026, 11, 2),
    form=(
        ("due_date", "2026-11-30"),
        ("reason", "LINC-CS-ALLOC (5.1.1)"),
        ("counted_from", "allocation on 2026-11-02"),
        ("previous_actions", LONG),
        ("carer_view", "not asked"),
    ),
)
ANSWERS = [
    {"question_user_code": "CS_DUE_DATE", "answer_type": "date", "value": "2026-11-30"},
    {"question_user_code": "CS_REASON", "answer_type": "short_text", "value": "LINC-CS-ALLOC (5.1.1)"},
    {
        "question_user_code": "CS_COUNTED_FROM",
        "answer_type": "short_text",
        "value": "allocation on 2026-11-02",
    },
    {"question_user_code": "CS_PREVIOUS_ACTIONS", "answer_type": "text", "value": LONG},
    # carer_view has no question code, configured or default: it is not sent under an invented one.
]
FORM_BODY = {
    "workflow_step_id": 880012,
    "form_type_id": 7701,
    "external_reference": FORM_REF,
    "answers": ANSWERS,
}


def step_created(mosaic: Harness) -> None:
    mosaic.server.expect_request("/api/workflow-steps", method="POST").respond_with_json(
        {"workflow_step_id": 880012}, 201
    )


def test_form_reference_puts_form_after_the_prefix(mosaic: Harness) -> None:
    writer = mosaic.writer()
    assert writer.form_reference(REF) == FORM_REF
    assert len(LONG) > 255


def test_a_new_step_gets_its_form_stub(mosaic: Harness) -> None:
    step_created(mosaic)
    mosaic.server.expect_request("/api/forms", method="POST", json=FORM_BODY).respond_with_json(
        {"form_id": 4}, 201
    )

    assert mosaic.writer().sync_obligation(WRITE) == WriteResult("880012", "4")
    assert mosaic.calls() == ["POST /api/workflow-steps", "POST /api/forms"]


def test_question_codes_come_from_settings(mosaic: Harness) -> None:
    codes = {"due_date": "LINC_DUE", "reason": "LINC_WHY", "leave_gap": "LINC_GAP"}
    writer = mosaic.writer(question_codes=codes)

    answers = writer.answers(
        (("due_date", "2026-11-30"), ("reason", "x"), ("leave_gap", "2026-11-30"), ("supervisor", "5530"))
    )

    assert answers == [
        {"question_user_code": "LINC_DUE", "answer_type": "date", "value": "2026-11-30"},
        {"question_user_code": "LINC_WHY", "answer_type": "short_text", "value": "x"},
        # Not a field named for a date: a date-looking value stays text.
        {"question_user_code": "LINC_GAP", "answer_type": "short_text", "value": "2026-11-30"},
        # No code for supervisor here: left out, never sent as "SUPERVISOR".
    ]


def test_only_fields_with_a_question_code_are_sent(mosaic: Harness) -> None:
    writer = mosaic.writer()  # the default codes
    answers = writer.answers((("wellbeing", "How are you?"), ("observations_done", "1 of 2")))
    assert [a["question_user_code"] for a in answers] == ["PS_WELLBEING"]


def test_an_existing_form_is_adopted_and_its_answers_replaced(mosaic: Harness) -> None:
    step_created(mosaic)
    mosaic.server.expect_request("/api/forms", method="POST").respond_with_json({"form_id": 4}, 409)
    mosaic.server.expect_request("/api/forms/4", method="PATCH", json={"answers": ANSWERS}).respond_with_json(
        {"form_id": 4}
    )

    assert mosaic.writer().sync_obligation(WRITE) == WriteResult("880012", "4")
    assert mosaic.calls() == ["POST /api/workflow-steps", "POST /api/forms", "PATCH /api/forms/4"]


def test_a_form_create_whose_answer_was_lost_is_adopted(mosaic: Harness) -> None:
    step_created(mosaic)
    mosaic.server.expect_request("/api/forms", method="POST").respond_with_json({"form_id": 4}, 201)
    mosaic.server.expect_request(
        "/api/forms", method="GET", query_string={"external_reference": FORM_REF}
    ).respond_with_json({"items": [{"form_id": 4}]})
    mosaic.server.expect_request("/api/forms/4", method="PATCH").respond_with_json({"form_id": 4})

    result = mosaic.writer(LosesAnswers("POST", "/api/forms")).sync_obligation(WRITE)

    assert result == WriteResult("880012", "4")
    assert len(mosaic.calls("POST", "/api/forms")) == 1


def test_a_known_form_is_patched(mosaic: Harness) -> None:
    mosaic.server.expect_request("/api/workflow-steps/880012", method="PATCH").respond_with_json({})
    mosaic.server.expect_request("/api/forms/4", method="PATCH", json={"answers": ANSWERS}).respond_with_json(
        {}
    )

    result = mosaic.writer().sync_obligation(dataclasses.replace(WRITE, platform_id="880012", form_id="4"))

    assert result == WriteResult("880012", "4")
    assert mosaic.calls() == ["PATCH /api/workflow-steps/880012", "PATCH /api/forms/4"]


def test_no_form_for_a_kind_without_a_form_type_or_without_fields(mosaic: Harness) -> None:
    mosaic.server.expect_request("/api/workflow-steps", method="POST").respond_with_json(
        {"workflow_step_id": 9}, 201
    )
    writer = mosaic.writer()

    brief = dataclasses.replace(WRITE, kind="team_brief", case_id=None, reference="linc:team_brief:310:1")
    assert writer.sync_obligation(brief) == WriteResult("9", None)
    assert writer.sync_obligation(dataclasses.replace(WRITE, form=())) == WriteResult("9", None)
    assert mosaic.calls("POST", "/api/forms") == []


def test_a_step_closed_on_mosaic_gets_no_form(mosaic: Harness) -> None:
    mosaic.server.expect_request("/api/workflow-steps/880012", method="PATCH").respond_with_json({}, 409)

    result = mosaic.writer().sync_obligation(dataclasses.replace(WRITE, platform_id="880012"))

    assert result == WriteResult("880012", None, closed_on_platform=True)
    assert mosaic.calls() == ["PATCH /api/workflow-steps/880012"]


REMINDER = ReminderWrite(
    reference="linc:reminder:880012:due-7:5521",
    worker_id="5521",
    platform_id="880012",
    case_id="100234",
    show_on=date(2026, 11, 23),
    due_date=date(2026, 11, 30),
    message="Case supervision for person 100234 is due on 2026-11-30.",
)
NOTIFICATION = {
    "worker_id": 5521,
    "workflow_step_id": 880012,
    "notification_date": "2026-11-23",
    "message": "Case supervision for person 100234 is due on 2026-11-30.",
    "external_reference": "linc:reminder:880012:due-7:5521",
}
NOTIFICATIONS = "/api/current-work/notifications"


def test_a_reminder_is_sent(mosaic: Harness) -> None:
    mosaic.server.expect_request(NOTIFICATIONS, method="POST", json=NOTIFICATION).respond_with_json(
        {"notification_id": 61}, 201
    )

    assert mosaic.writer().send_reminder(REMINDER) == "61"


@pytest.mark.parametrize(("body", "expected"), [({"notification_id": 61}, "61"), ({"message": "exists"}, "")])
def test_a_reminder_already_sent_is_success(mosaic: Harness, body: dict[str, object], expected: str) -> None:
    mosaic.server.expect_request(NOTIFICATIONS, method="POST").respond_with_json(body, 409)

    assert mosaic.writer().send_reminder(REMINDER) == expected
    assert len(mosaic.calls()) == 1


def test_a_reminder_whose_answer_was_lost_is_posted_again_and_409_settles_it(mosaic: Harness) -> None:
    mosaic.server.expect_oneshot_request(NOTIFICATIONS, method="POST").respond_with_json(
        {"notification_id": 61}, 201
    )
    mosaic.server.expect_request(NOTIFICATIONS, method="POST").respond_with_json({"notification_id": 61}, 409)

    result = mosaic.writer(LosesAnswers("POST", NOTIFICATIONS, error=requests.Timeout)).send_reminder(
        REMINDER
    )

    assert result == "61"
    assert len(mosaic.calls()) == 2
    assert mosaic.sleeps == [0.5]


def test_a_reminder_for_an_unknown_worker_is_fatal(mosaic: Harness) -> None:
    mosaic.server.expect_request(NOTIFICATIONS, method="POST").respond_with_json(
        {"message": "Unknown worker."}, 422
    )

    with pytest.raises(FatalError, match=r"422.*Unknown worker"):
        mosaic.writer().send_reminder(REMINDER)

    assert len(mosaic.calls()) == 1
