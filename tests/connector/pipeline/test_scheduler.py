"""Time-driven work as of a given date: a reminder before the due date, an escalation once overdue, never twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from tests.support.fake_mosaic import FakeMosaic
from tests.support.harness import Connector, event, make_config, start_connector

WORKER = event(
    "evt_w",
    "worker.updated",
    "2026-11-01T08:00:00Z",
    worker_id=5521,
    team_id=310,
    supervisor_id=5500,
    # Not case-holding and not frontline: the worker's own personal supervision (LINC-PS-NF, 84 days from when
    # the connector first heard of them) falls after these dates, so only the case's step is in play.
    job_role="SOCIAL_WORKER",
    case_holding=False,
    supervises_case_holders=False,
    frontline=False,
    asye=False,
    employment="permanent",
    start_date="2021-09-01",
)
ALLOCATED = event(
    "evt_a",
    "case.allocated",
    "2026-11-02T09:30:00Z",
    person_id=100234,
    worker_id=5521,
    team_id=310,
    relationship="ALLWKR",
    start_date="2026-11-02",
)


@pytest.fixture
def mosaic(httpserver: HTTPServer) -> FakeMosaic:
    return FakeMosaic(httpserver).install()


@pytest.fixture
def connector(tmp_path: Path, mosaic: FakeMosaic) -> Iterator[Connector]:
    running = start_connector(make_config(tmp_path, mosaic.base_url))
    for item in (WORKER, ALLOCATED):
        assert running.post(item).status_code == 202
    running.service.drain()
    yield running
    running.close()


def tick(connector: Connector, on: date) -> tuple[int, int, int]:
    counts = connector.service.tick(on)
    connector.service.drain()
    return counts.reminders, counts.overdue, counts.escalations


def test_nothing_before_the_reminder_date(connector: Connector, mosaic: FakeMosaic) -> None:
    assert tick(connector, date(2026, 11, 22)) == (0, 0, 0)
    assert mosaic.notifications == {}


def test_a_reminder_a_week_before_then_an_escalation_to_the_supervisor_once_overdue(
    connector: Connector, mosaic: FakeMosaic
) -> None:
    [step] = [s for s in mosaic.open_steps() if s["subject_person_id"] == 100234]
    assert tick(connector, date(2026, 11, 23)) == (1, 0, 0)
    [reminder] = mosaic.notifications.values()
    assert reminder["worker_id"] == 5521
    assert reminder["workflow_step_id"] == step["workflow_step_id"]
    assert reminder["notification_date"] == "2026-11-23"
    assert reminder["message"] == "Case supervision for person 100234 is due on 2026-11-30."

    assert tick(connector, date(2026, 11, 24)) == (0, 0, 0)  # already reminded for this due date
    assert tick(connector, date(2026, 12, 1)) == (0, 1, 1)
    escalation = [n for n in mosaic.notifications.values() if n["worker_id"] == 5500]
    assert len(escalation) == 1
    assert "Overdue" in escalation[0]["message"] and "2026-11-30" in escalation[0]["message"]
    assert tick(connector, date(2026, 12, 2)) == (0, 0, 0)
    assert len(mosaic.notifications) == 2
    assert connector.service.status()["overdue_obligations"] == 1


def test_a_repeated_tick_after_a_lost_answer_makes_no_second_notification(
    connector: Connector, mosaic: FakeMosaic
) -> None:
    mosaic.fail_next(503, times=2)  # Mosaic is down for the first tries: the write waits in the outbox
    connector.service.tick(date(2026, 11, 23))
    connector.service.dispatcher.run_once()
    assert mosaic.notifications == {}
    assert connector.service.status()["outbox_pending"] == 1
    from datetime import UTC, datetime, timedelta

    connector.service.dispatcher.clock = lambda: datetime.now(UTC) + timedelta(hours=1)
    connector.service.dispatcher.run_once()
    assert len(mosaic.notifications) == 1
    assert connector.service.status()["outbox_pending"] == 0


def test_a_rule_dated_reminder_goes_out_on_its_date_once(tmp_path: Path, mosaic: FakeMosaic) -> None:
    # LINC-PO: two observations a year, due 31 March; a reminder on 30 September if none is done.
    case_holder = dict(WORKER, id="evt_ch", occurred_at="2026-06-01T08:00:00Z")
    case_holder["data"] = {**WORKER["data"], "case_holding": True, "frontline": True}
    running = start_connector(make_config(tmp_path, mosaic.base_url), today=date(2026, 9, 29))
    try:
        assert running.post(case_holder).status_code == 202
        running.service.drain()
        [observation] = [s for s in mosaic.open_steps() if s["workflow_step_type_id"] == 9105]
        assert observation["assignee_id"] == 5500 and observation["due_date"] == "2027-03-31"
        running.service.tick(date(2026, 9, 29))
        running.service.drain()
        assert [
            n
            for n in mosaic.notifications.values()
            if n["workflow_step_id"] == observation["workflow_step_id"]
        ] == []
        for day in (date(2026, 9, 30), date(2026, 10, 1)):
            running.service.tick(day)
            running.service.drain()
        [reminder] = [
            n
            for n in mosaic.notifications.values()
            if n["workflow_step_id"] == observation["workflow_step_id"]
        ]
        assert reminder["notification_date"] == "2026-09-30" and reminder["worker_id"] == 5500
        assert "none has been recorded yet" in reminder["message"]
    finally:
        running.close()


def test_a_cancelled_steps_unread_reminder_leaves_the_tray_and_a_moved_one_is_replaced(
    connector: Connector, mosaic: FakeMosaic
) -> None:
    tick(connector, date(2026, 11, 23))
    [reminder] = mosaic.notifications.values()
    assert reminder["message"].endswith("due on 2026-11-30.")
    # A case supervision held on 20 Nov starts the next cycle: the old step is completed, its reminder withdrawn.
    supervised = event(
        "evt_cs",
        "supervision.recorded",
        "2026-11-24T16:00:00Z",
        kind="case",
        worker_id=5521,
        supervisor_id=5500,
        team_id=310,
        person_ids=[100234],
        held_on="2026-11-20",
        recorded_on="2026-11-24",
        significant=False,
    )
    assert connector.post(supervised).status_code == 202
    connector.service.drain()
    assert mosaic.notifications == {}
    assert mosaic.calls["DELETE /current-work/notifications/{id}"] == 1
    # The new cycle is due 18 Dec; its own reminder comes a week before.
    assert tick(connector, date(2026, 12, 11)) == (1, 0, 0)
    [fresh] = mosaic.notifications.values()
    assert fresh["message"].endswith("due on 2026-12-18.")


def test_a_read_reminder_stays_when_its_step_is_cancelled(connector: Connector, mosaic: FakeMosaic) -> None:
    tick(connector, date(2026, 11, 23))
    [reminder] = mosaic.notifications.values()
    reminder["read"] = True
    closed = event(
        "evt_close", "case.closed", "2026-11-25T09:00:00Z", person_id=100234, end_date="2026-11-25"
    )
    assert connector.post(closed).status_code == 202
    connector.service.drain()
    assert list(mosaic.notifications.values()) == [reminder]
    assert (
        connector.service.status()["dead_letters"] == 0 and connector.service.status()["outbox_pending"] == 0
    )


def test_a_reassigned_steps_reminder_leaves_the_former_assignees_tray(
    tmp_path: Path, mosaic: FakeMosaic
) -> None:
    # LINC-PO's observation is the supervisor's to do: a new supervisor takes the step over.
    case_holder = dict(WORKER, id="evt_ch", occurred_at="2026-06-01T08:00:00Z")
    case_holder["data"] = {**WORKER["data"], "case_holding": True, "frontline": True}
    new_supervisor = dict(WORKER, id="evt_sup", occurred_at="2026-10-02T08:00:00Z")
    new_supervisor["data"] = {**case_holder["data"], "supervisor_id": 5501}
    running = start_connector(make_config(tmp_path, mosaic.base_url), today=date(2026, 10, 1))
    try:
        assert running.post(case_holder).status_code == 202
        running.service.drain()
        [observation] = [s for s in mosaic.open_steps() if s["workflow_step_type_id"] == 9105]
        running.service.tick(date(2026, 10, 1))
        running.service.drain()

        def tray() -> list[int]:
            return [
                n["worker_id"]
                for n in mosaic.notifications.values()
                if n["workflow_step_id"] == observation["workflow_step_id"]
            ]

        assert tray() == [5500]
        assert running.post(new_supervisor).status_code == 202
        running.service.drain()
        assert mosaic.steps[observation["workflow_step_id"]]["assignee_id"] == 5501
        # Its reminder was DELETEd from 5500's tray (other steps' escalations to 5500 went too).
        assert mosaic.calls["DELETE /current-work/notifications/{id}"] >= 1
        assert tray() == []
        for day in (date(2026, 10, 2), date(2026, 10, 3)):
            running.service.tick(day)
            running.service.drain()
        assert tray() == [5501]
    finally:
        running.close()


def test_a_reminder_whose_show_date_has_passed_is_shown_from_the_day_it_is_queued(
    connector: Connector, mosaic: FakeMosaic
) -> None:
    # Due 30 Nov, so shown from 23 Nov; first ticked on 27 Nov, it is dated 27 Nov, not in the past.
    assert tick(connector, date(2026, 11, 27)) == (1, 0, 0)
    [reminder] = mosaic.notifications.values()
    assert reminder["notification_date"] == "2026-11-27"


def test_a_rule_dated_reminder_that_passed_before_the_worker_was_known_is_not_sent(
    tmp_path: Path, mosaic: FakeMosaic
) -> None:
    # First heard of on 24 Nov: LINC-PO's 30 September reminder is not sent as if it had been due then.
    case_holder = dict(WORKER, id="evt_ch", occurred_at="2026-11-24T08:00:00Z")
    case_holder["data"] = {**WORKER["data"], "case_holding": True, "frontline": True}
    running = start_connector(make_config(tmp_path, mosaic.base_url), today=date(2026, 11, 24))
    try:
        assert running.post(case_holder).status_code == 202
        running.service.drain()
        [observation] = [s for s in mosaic.open_steps() if s["workflow_step_type_id"] == 9105]
        assert "since the connector first heard of the worker on 24 Nov 2026" in observation["notes"]
        running.service.tick(date(2026, 11, 24))
        running.service.drain()
        assert [
            n
            for n in mosaic.notifications.values()
            if n["workflow_step_id"] == observation["workflow_step_id"]
        ] == []
    finally:
        running.close()
