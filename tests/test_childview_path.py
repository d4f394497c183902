"""A Lincolnshire tenant with both platforms: a Mosaic child and a Childview young person side by side, each
written back to the platform the case came from (issue: YOS staff get their prompts in Childview)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from connector.cli import main
from connector.config import parse_config
from tests.adapters.childview.support import KEY, Served, served
from tests.support.fake_mosaic import FakeMosaic
from tests.support.harness import SECRET, Connector, config_document, config_toml, event, start_connector

# Each path runs on SQLite and on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("store_engine")

YP = "YP-00412"
ALLOCATED = event(
    "cv_alloc",
    "case.allocated",
    "2026-11-02T09:30:00Z",
    yp_id=YP,
    case_manager_id="CM-0042",
    yot_team="YOT-NORTH",
    role="CASE_MANAGER",
    start_date="2026-11-02",
)
SUPERVISED = event(
    "cv_oversight",
    "oversight.recorded",
    "2026-11-20T16:00:00Z",
    kind="case",
    staff_id="CM-0042",
    manager_id="TM-0007",
    yp_ids=[YP],
    held_on="2026-11-20",
    recorded_on="2026-11-20",
    significant=False,
)
TRANSFERRED = event(
    "cv_transfer",
    "case.transferred",
    "2026-12-01T09:00:00Z",
    yp_id=YP,
    from_case_manager_id="CM-0042",
    to_case_manager_id="CM-0050",
    yot_team="YOT-NORTH",
    transfer_date="2026-12-01",
)
STAFF = event(
    "cv_staff",
    "staff.updated",
    "2026-11-01T08:00:00Z",
    staff_id="CM-0042",
    yot_team="YOT-NORTH",
    manager_id="TM-0007",
    case_holding=True,
    supervises_case_holders=False,
    asye=False,
    employment="permanent",
    start_date="2020-04-01",
)
MOSAIC_CHILD = event(
    "mo_alloc",
    "case.allocated",
    "2026-11-02T09:30:00Z",
    person_id=100234,
    worker_id=5521,
    team_id=310,
    relationship="ALLWKR",
    start_date="2026-11-02",
)


@pytest.fixture
def childview() -> Iterator[Served]:
    with served() as running:
        yield running


@pytest.fixture
def mosaic(httpserver: HTTPServer) -> FakeMosaic:
    return FakeMosaic(httpserver).install()


@pytest.fixture
def connector(tmp_path: Path, mosaic: FakeMosaic, childview: Served) -> Iterator[Connector]:
    document = config_document(tmp_path, mosaic.base_url)
    document["tenants"][0]["childview"] = {
        "base_url": childview.base_url,
        "api_key": KEY,
        "webhook_secrets": [SECRET],
        "timeout_seconds": 2,
        "max_attempts": 2,
        "max_retry_wait_seconds": 0,
    }
    document["service"] = {"admin_token": "an-admin-token-of-16+"}
    (tmp_path / "connector.toml").write_text(config_toml(document))
    running = start_connector(parse_config(document, base_dir=tmp_path, environ={}))
    yield running
    running.close()


def deliver(connector: Connector, *events: dict[str, Any], platform: str = "childview") -> None:
    for item in events:
        assert connector.post(item, platform=platform).status_code == 202
    connector.service.drain()


def open_oversight_prompts(childview: Served) -> list[dict[str, Any]]:
    return [
        p
        for p in childview.store.all_prompts()
        if p["status"] == "OPEN" and p["prompt_type"] == "MANAGEMENT_OVERSIGHT_DUE"
    ]


def test_an_allocation_makes_one_oversight_prompt_due_four_weeks_later(
    connector: Connector, childview: Served
) -> None:
    deliver(connector, STAFF, ALLOCATED)
    [prompt] = open_oversight_prompts(childview)
    assert (prompt["staff_id"], prompt["due_date"]) == ("CM-0042", "2026-11-30")
    assert "LINC-CS-ALLOC" in prompt["text"]
    [record] = [r for r in childview.store.all_records() if r["prompt_id"] == prompt["prompt_id"]]
    assert (record["staff_id"], record["manager_id"], record["due_date"]) == (
        "CM-0042",
        "TM-0007",
        "2026-11-30",
    )
    # The case manager's own personal supervision is a staff-level prompt.
    personal = [p for p in childview.store.all_prompts() if p["prompt_type"] == "SUPERVISION_DUE"]
    assert [(p["staff_id"], p["yp_id"]) for p in personal] == [("CM-0042", None)]


def test_an_oversight_moves_it_and_a_transfer_hands_it_to_the_new_case_manager(
    connector: Connector, childview: Served
) -> None:
    deliver(connector, ALLOCATED, SUPERVISED)
    [prompt] = open_oversight_prompts(childview)
    assert (prompt["staff_id"], prompt["due_date"]) == ("CM-0042", "2026-12-18")

    deliver(connector, TRANSFERRED)
    [prompt] = open_oversight_prompts(childview)
    # The young person's clock moves with them: the oversight of 20 November + 28 days beats transfer + 28.
    assert (prompt["staff_id"], prompt["due_date"]) == ("CM-0050", "2026-12-18")
    old = [p for p in childview.store.all_prompts() if p["staff_id"] == "CM-0042"]
    assert old and all(p["status"] == "WITHDRAWN" for p in old)
    assert connector.service.status()["dead_letters"] == 0


def test_the_same_events_in_reverse_give_the_same_prompts(connector: Connector, childview: Served) -> None:
    deliver(connector, TRANSFERRED, SUPERVISED, ALLOCATED)
    [prompt] = open_oversight_prompts(childview)
    assert (prompt["staff_id"], prompt["due_date"]) == ("CM-0050", "2026-12-18")


def test_a_mosaic_child_and_a_childview_young_person_are_each_written_to_their_own_platform(
    connector: Connector, childview: Served, mosaic: FakeMosaic
) -> None:
    deliver(connector, MOSAIC_CHILD, platform="mosaic")
    deliver(connector, ALLOCATED)
    [step] = mosaic.open_steps()
    assert (step["subject_person_id"], step["assignee_id"], step["due_date"]) == (100234, 5521, "2026-11-30")
    [prompt] = open_oversight_prompts(childview)
    assert (prompt["staff_id"], prompt["yp_id"]) == ("CM-0042", YP)
    assert "100234" not in str(childview.store.all_prompts())
    assert YP not in str(mosaic.steps)


def test_an_oversight_recorded_against_its_prompt_closes_that_prompt(
    connector: Connector, childview: Served
) -> None:
    deliver(connector, ALLOCATED)
    [first] = open_oversight_prompts(childview)
    recorded = dict(SUPERVISED, data={**SUPERVISED["data"], "prompt_id": first["prompt_id"]})
    deliver(connector, recorded)
    # Childview's prompts are OPEN or WITHDRAWN: a met one leaves the case manager's list as withdrawn.
    assert childview.store.prompts[first["prompt_id"]]["status"] == "WITHDRAWN"
    [second] = open_oversight_prompts(childview)
    assert (second["staff_id"], second["due_date"]) == ("CM-0042", "2026-12-18")


def test_explain_and_the_read_api_show_a_young_persons_oversight(
    connector: Connector, childview: Served, tmp_path: Path
) -> None:
    deliver(connector, ALLOCATED, SUPERVISED)
    result = CliRunner().invoke(
        main,
        ["explain", "--config", str(tmp_path / "connector.toml"), "--tenant", "lincolnshire", "--person", YP],
    )
    assert result.exit_code == 0, result.output
    assert "case_supervision for person YP-00412: due 2026-12-18" in result.output
    assert "LINC-CS-FLOOR" in result.output and "childview: written as PR-" in result.output
    answer = connector.client.get(
        f"/api/tenants/lincolnshire/obligations?person={YP}",
        headers={"Authorization": "Bearer an-admin-token-of-16+"},
    )
    [item] = answer.get_json()["items"]
    assert (item["platform"], item["person_id"], item["due_date"]) == ("childview", YP, "2026-12-18")


def test_a_refused_childview_write_is_a_dead_letter_that_retry_delivers(
    connector: Connector, childview: Served, tmp_path: Path
) -> None:
    childview.store.inject_faults(400, count=10)
    deliver(connector, ALLOCATED)
    assert connector.service.status()["dead_letters"] >= 1
    config = str(tmp_path / "connector.toml")
    listed = CliRunner().invoke(main, ["dead-letters", "--config", config, "--json"])
    letters = [row for row in json.loads(listed.output) if row["platform"] == "childview"]
    assert letters and "400" in letters[0]["reason"]
    childview.store.faults.clear()
    for letter in letters:
        retried = CliRunner().invoke(main, ["retry", "--config", config, str(letter["id"])])
        assert retried.exit_code == 0, retried.output
        assert "delivered" in retried.output
    assert len(open_oversight_prompts(childview)) == 1


def test_the_reminder_ladder_becomes_prompts_in_childview(connector: Connector, childview: Served) -> None:
    manager = dict(STAFF, id="cv_staff_tm")
    manager["data"] = {**STAFF["data"], "staff_id": "TM-0007", "manager_id": "HOS-0001", "case_holding": False}
    deliver(connector, STAFF, manager, ALLOCATED)
    [step] = open_oversight_prompts(childview)
    before = {p["prompt_id"] for p in childview.store.all_prompts()}
    for day in ("2026-11-23", "2026-11-30", "2026-12-07"):
        connector.service.tick(date.fromisoformat(day))
        connector.service.drain()
    ladder = sorted(
        (p["show_from"], p["staff_id"], p["prompt_type"], p["severity"], p["yp_id"])
        for p in childview.store.all_prompts()
        if p["prompt_id"] not in before and p["due_date"] == step["due_date"] and p["yp_id"] == YP
    )
    # Reminders are prompts of the kind's own type; the escalation is OVERDUE_ESCALATION, severity high.
    assert ladder == [
        ("2026-11-23", "CM-0042", "MANAGEMENT_OVERSIGHT_DUE", "normal", YP),
        ("2026-11-30", "CM-0042", "MANAGEMENT_OVERSIGHT_DUE", "normal", YP),
        ("2026-11-30", "TM-0007", "MANAGEMENT_OVERSIGHT_DUE", "normal", YP),
        ("2026-12-07", "HOS-0001", "OVERDUE_ESCALATION", "high", YP),
    ]


LOOKED_AFTER = event(
    "cv_status",
    "case.status_changed",
    "2026-11-03T10:00:00Z",
    yp_id=YP,
    disposal="YRO",
    looked_after=True,
    start_date="2026-11-03",
)


def test_a_late_status_edits_the_reminder_prompts_text_in_place(
    connector: Connector, childview: Served
) -> None:
    # Looked after from 3 Nov: LINC-CS-LAC replaces the floor and its first due date is later, so the prompt
    # stays due 30 Nov and the same case manager's; only the rules its reminder cites change.
    deliver(connector, STAFF, ALLOCATED)
    before = {p["prompt_id"] for p in childview.store.all_prompts()}
    connector.service.tick(date(2026, 11, 23))
    connector.service.drain()
    [reminder] = [p for p in childview.store.all_prompts() if p["prompt_id"] not in before and p["yp_id"]]
    assert "LINC-CS-FLOOR" in reminder["text"] and reminder["show_from"] == "2026-11-23"
    deliver(connector, LOOKED_AFTER)
    steps = [p for p in open_oversight_prompts(childview) if p["prompt_id"] != reminder["prompt_id"]]
    assert [p["due_date"] for p in steps] == ["2026-11-30"] and "LINC-CS-FLOOR" not in steps[0]["text"]
    for day in (24, 25):  # edited once: the second tick finds it saying what it should
        connector.service.tick(date(2026, 11, day))
        connector.service.drain()
    [edited] = [p for p in childview.store.all_prompts() if p["prompt_id"] not in before and p["yp_id"]]
    assert edited["prompt_id"] == reminder["prompt_id"] and edited["status"] == "OPEN"
    assert edited["text"] == (
        f"Case supervision for child {YP} is due on 2026-11-30 (LINC-CS-ALLOC, policy 5.1.1, 5.1.6)."
    )
    edited["text"] = reminder["text"]
    assert edited == reminder  # nothing else about it changed
