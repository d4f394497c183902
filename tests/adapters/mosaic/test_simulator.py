"""The simulated Mosaic, served for real over HTTP, and the writer working against it."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from adapters.base import ObligationWrite, ReminderWrite, RetryableError, WriteResult
from adapters.mosaic.client import MosaicClient
from adapters.mosaic.settings import MosaicSettings
from adapters.mosaic.simulator import MosaicStore, create_simulator_app, simulator_store
from adapters.mosaic.writer import MosaicWriter

TOKEN = "sim-token"
REF = "linc:case_supervision:100234:5521:1"
STEP: dict[str, Any] = {
    "workflow_step_type_id": 9101,
    "subject_person_id": 100234,
    "assignee_id": 5521,
    "responsible_team_id": 310,
    "step_status": "INCOMING",
    "incoming_on": "2026-11-02",
    "due_date": "2026-11-30",
    "title": "Case supervision due",
    "notes": "Why: LINC-CS-ALLOC (5.1.1)",
    "external_reference": REF,
}


@dataclasses.dataclass
class Served:
    base_url: str
    store: MosaicStore
    http: requests.Session

    def call(self, method: str, path: str, json: Any = None, token: str | None = TOKEN) -> requests.Response:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return self.http.request(method, self.base_url + path, json=json, headers=headers, timeout=5)

    def step(self, **changes: Any) -> int:
        response = self.call("POST", "/workflow-steps", {**STEP, **changes})
        assert response.status_code == 201, response.text
        step_id: int = response.json()["workflow_step_id"]
        return step_id


@pytest.fixture
def mosaic() -> Iterator[Served]:
    app = create_simulator_app(TOKEN)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll interval so that shutdown does not wait half a second per test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    with requests.Session() as http:
        yield Served(f"http://127.0.0.1:{server.server_port}/api", simulator_store(app), http)
    server.shutdown()
    thread.join(5)


@pytest.mark.parametrize("token", [None, "wrong"])
def test_a_missing_or_wrong_token_is_401(mosaic: Served, token: str | None) -> None:
    response = mosaic.call("GET", "/workflow-steps/1", token=token)
    assert (response.status_code, response.json()) == (401, {"message": "Missing or invalid bearer token."})


def test_an_unknown_path_answers_in_mosaics_error_shape(mosaic: Served) -> None:
    response = mosaic.call("GET", "/cases")
    assert response.status_code == 404
    assert set(response.json()) == {"message"}


def test_steps_are_created_once_per_reference(mosaic: Served) -> None:
    first = mosaic.call("POST", "/workflow-steps", STEP)
    again = mosaic.call("POST", "/workflow-steps", {**STEP, "due_date": "2026-12-31"})

    step_id = first.json()["workflow_step_id"]
    assert first.status_code == 201
    assert first.json() == {**STEP, "workflow_step_id": step_id}
    assert again.status_code == 409
    assert again.json()["workflow_step_id"] == step_id
    assert [s["due_date"] for s in mosaic.store.all_steps()] == ["2026-11-30"]


def test_steps_are_found_by_id_and_by_reference(mosaic: Served) -> None:
    step_id = mosaic.step()

    assert (
        mosaic.call("GET", f"/workflow-steps/{step_id}").json()["external_reference"]
        == STEP["external_reference"]
    )
    assert mosaic.call("GET", "/workflow-steps/1").status_code == 404
    found = mosaic.http.get(
        f"{mosaic.base_url}/workflow-steps",
        params={"external_reference": REF},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert [s["workflow_step_id"] for s in found.json()["items"]] == [step_id]
    none = mosaic.call("GET", "/workflow-steps?external_reference=nothing")
    assert none.json() == {"items": []}


def test_a_create_missing_fields_is_400_field_by_field(mosaic: Served) -> None:
    response = mosaic.call("POST", "/workflow-steps", {"assignee_id": "5521", "step_status": "STARTED"})

    assert response.status_code == 400
    assert response.json() == {
        "message": "Validation failed.",
        "errors": {
            "workflow_step_type_id": ["Required: a positive whole number."],
            "assignee_id": ["Required: a positive whole number."],
            "due_date": ["Required: a date YYYY-MM-DD."],
            "incoming_on": ["Required: a date YYYY-MM-DD."],
            "external_reference": ["Required."],
            "step_status": ["On create: PROPOSED or INCOMING."],
        },
    }
    assert mosaic.store.all_steps() == []


def test_patch_changes_a_step_until_it_is_completed(mosaic: Served) -> None:
    step_id = mosaic.step()

    moved = mosaic.call(
        "PATCH", f"/workflow-steps/{step_id}", {"due_date": "2026-12-14", "assignee_id": 5522}
    )
    assert (moved.status_code, moved.json()["due_date"], moved.json()["assignee_id"]) == (
        200,
        "2026-12-14",
        5522,
    )

    mosaic.store.complete_step(step_id)
    refused = mosaic.call("PATCH", f"/workflow-steps/{step_id}", {"step_status": "CANCELLED"})
    assert refused.status_code == 409
    assert "COMPLETED" in refused.json()["message"]


def test_a_cancelled_step_refuses_changes(mosaic: Served) -> None:
    step_id = mosaic.step()
    assert mosaic.call("PATCH", f"/workflow-steps/{step_id}", {"step_status": "CANCELLED"}).status_code == 200
    assert mosaic.call("PATCH", f"/workflow-steps/{step_id}", {"title": "x"}).status_code == 409


def test_patch_validates_fields(mosaic: Served) -> None:
    step_id = mosaic.step()
    response = mosaic.call(
        "PATCH", f"/workflow-steps/{step_id}", {"due_date": "soon", "external_reference": "x"}
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"due_date", "external_reference"}
    assert mosaic.call("PATCH", "/workflow-steps/1", {"title": "x"}).status_code == 404


def answers(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"question_user_code": c, "answer_type": "short_text", "value": v} for c, v in pairs]


def test_forms_are_created_once_found_and_patched(mosaic: Served) -> None:
    step_id = mosaic.step()
    form = {
        "workflow_step_id": step_id,
        "form_type_id": 7701,
        "external_reference": "linc:form:case_supervision:100234:5521:1",
        "answers": answers(("CS_REASON", "A"), ("CS_COUNTED_FROM", "B")),
    }
    created = mosaic.call("POST", "/forms", form)
    form_id = created.json()["form_id"]
    assert created.status_code == 201
    assert mosaic.call("POST", "/forms", form).json()["form_id"] == form_id
    assert mosaic.call("POST", "/forms", form).status_code == 409

    found = mosaic.call("GET", "/forms?external_reference=linc:form:case_supervision:100234:5521:1")
    assert [f["form_id"] for f in found.json()["items"]] == [form_id]

    patched = mosaic.call("PATCH", f"/forms/{form_id}", {"answers": answers(("CS_REASON", "C"))})
    assert patched.status_code == 200
    assert {a["question_user_code"]: a["value"] for a in mosaic.store.all_forms()[0]["answers"]} == {
        "CS_REASON": "C",
        "CS_COUNTED_FROM": "B",
    }
    assert mosaic.call("PATCH", "/forms/1", {"answers": []}).status_code == 404


def test_form_errors(mosaic: Served) -> None:
    base = {"workflow_step_id": 999, "form_type_id": 7701, "external_reference": "r", "answers": []}
    assert mosaic.call("POST", "/forms", base).status_code == 422

    step_id = mosaic.step()
    too_long = answers(("CS_PREVIOUS_ACTIONS", "x" * 256))
    response = mosaic.call("POST", "/forms", {**base, "workflow_step_id": step_id, "answers": too_long})
    assert response.status_code == 400
    assert response.json()["errors"] == {"answers[0].value": ["Text of at most 255 characters."]}


def test_notifications_are_created_once_and_withdrawn_until_read(mosaic: Served) -> None:
    step_id = mosaic.step()
    note = {
        "worker_id": 5521,
        "workflow_step_id": step_id,
        "notification_date": "2026-11-23",
        "message": "Case supervision for person 100234 is due on 2026-11-30.",
        "external_reference": "linc:reminder:1:due-7:5521",
    }
    first = mosaic.call("POST", "/current-work/notifications", note)
    note_id = first.json()["notification_id"]
    assert first.status_code == 201
    again = mosaic.call("POST", "/current-work/notifications", note)
    assert (again.status_code, again.json()["notification_id"]) == (409, note_id)

    assert mosaic.call("DELETE", f"/current-work/notifications/{note_id}").status_code == 204
    assert mosaic.store.all_notifications() == []
    assert mosaic.call("DELETE", f"/current-work/notifications/{note_id}").status_code == 404

    read_id = mosaic.call("POST", "/current-work/notifications", note).json()["notification_id"]
    mosaic.store.read_notification(read_id)
    assert mosaic.call("DELETE", f"/current-work/notifications/{read_id}").status_code == 409


def test_notification_errors(mosaic: Served) -> None:
    response = mosaic.call("POST", "/current-work/notifications", {"worker_id": 0})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"worker_id", "notification_date", "message"}


def test_injected_faults_answer_the_next_requests(mosaic: Served) -> None:
    mosaic.store.inject_faults(429, count=2, retry_after=3)

    statuses = [mosaic.call("GET", "/workflow-steps?external_reference=r") for _ in range(3)]

    assert [r.status_code for r in statuses] == [429, 429, 200]
    assert statuses[0].headers["Retry-After"] == "3"


def test_concurrent_creates_of_one_reference_make_one_step(mosaic: Served) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: mosaic.call("POST", "/workflow-steps", STEP), range(16)))

    assert sorted(r.status_code for r in responses) == [201] + [409] * 15
    assert len({r.json()["workflow_step_id"] for r in responses}) == 1
    assert len(mosaic.store.all_steps()) == 1


def writer_for(mosaic: Served, sleeps: list[float]) -> MosaicWriter:
    settings = MosaicSettings(
        base_url=mosaic.base_url,
        api_token=TOKEN,
        webhook_secrets=("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",),
        step_types={"case_supervision": 9101},
        form_types={"case_supervision": 7701},
    )
    client = MosaicClient(
        mosaic.base_url, TOKEN, requests.Session(), timeout=5, max_attempts=3, sleep=sleeps.append
    )
    return MosaicWriter(client, settings, "linc")


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
    form=(("due_date", "2026-11-30"), ("reason", "LINC-CS-ALLOC (5.1.1)")),
)


def test_the_writer_against_the_simulator(mosaic: Served) -> None:
    sleeps: list[float] = []
    writer = writer_for(mosaic, sleeps)

    first = writer.sync_obligation(WRITE)
    # The same write again without the ids (as after a crash before they were recorded): adopted, not doubled.
    again = writer.sync_obligation(dataclasses.replace(WRITE, due_date=date(2026, 12, 7)))
    assert first.platform_id is not None and first.form_id is not None
    assert again == first
    [step] = mosaic.store.all_steps()
    assert step["due_date"] == "2026-12-07"
    [form] = mosaic.store.all_forms()
    assert form["answers"][0] == {
        "question_user_code": "CS_DUE_DATE",
        "answer_type": "date",
        "value": "2026-11-30",
    }

    reminder = ReminderWrite(
        reference="linc:reminder:x:due-7:5521",
        worker_id="5521",
        platform_id=first.platform_id,
        case_id="100234",
        show_on=date(2026, 11, 23),
        due_date=date(2026, 11, 30),
        message="Case supervision for person 100234 is due on 2026-11-30.",
    )
    note_id = writer.send_reminder(reminder)
    assert writer.send_reminder(reminder) == note_id
    assert len(mosaic.store.all_notifications()) == 1

    mosaic.store.complete_step(int(first.platform_id))
    moved = writer.sync_obligation(
        dataclasses.replace(WRITE, platform_id=first.platform_id, form_id=first.form_id)
    )
    assert moved == WriteResult(first.platform_id, first.form_id, closed_on_platform=True)
    assert sleeps == []


def test_the_writer_rides_out_injected_faults_and_withdraws(mosaic: Served) -> None:
    sleeps: list[float] = []
    writer = writer_for(mosaic, sleeps)
    mosaic.store.inject_faults(503, count=2)

    created = writer.sync_obligation(dataclasses.replace(WRITE, form=()))
    withdrawn = writer.sync_obligation(dataclasses.replace(WRITE, open=False))

    assert withdrawn == WriteResult(created.platform_id, None)
    assert [s["step_status"] for s in mosaic.store.all_steps()] == ["CANCELLED"]
    assert sleeps == [0.5, 1.0]

    mosaic.store.inject_faults(503, count=10)
    with pytest.raises(RetryableError):
        writer.sync_obligation(dataclasses.replace(WRITE, platform_id=created.platform_id))


def test_everything_it_holds_can_be_listed(mosaic: Served) -> None:
    assert mosaic.call("GET", "/workflow-steps").json() == {"items": []}
    step_id = mosaic.step()
    form = {"workflow_step_id": step_id, "form_type_id": 7701, "external_reference": "f", "answers": []}
    form_id = mosaic.call("POST", "/forms", form).json()["form_id"]
    note = {"worker_id": 5521, "workflow_step_id": step_id, "notification_date": "2026-11-23", "message": "m"}
    note_id = mosaic.call("POST", "/current-work/notifications", note).json()["notification_id"]

    assert [s["workflow_step_id"] for s in mosaic.call("GET", "/workflow-steps").json()["items"]] == [step_id]
    assert [f["form_id"] for f in mosaic.call("GET", "/forms").json()["items"]] == [form_id]
    notes = mosaic.call("GET", "/current-work/notifications").json()["items"]
    assert [(n["notification_id"], n["read"]) for n in notes] == [(note_id, False)]


class _Unscanned(dict[int, dict[str, Any]]):
    """A table that fails the test when something passes over every record."""

    def values(self) -> Any:
        raise AssertionError("the simulator scanned every record")


def test_creates_and_lookups_by_reference_do_not_scan_every_record() -> None:
    # The benchmarks' simulated Mosaic holds tens of thousands of steps: a scan per create cost more CPU than
    # the connector's own write on the same machine.
    store = MosaicStore()
    store.steps = _Unscanned()
    app = create_simulator_app(TOKEN, store)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    created = client.post("/api/workflow-steps", json=STEP, headers=auth)
    again = client.post("/api/workflow-steps", json=STEP, headers=auth)
    found = client.get(f"/api/workflow-steps?external_reference={REF}", headers=auth)
    assert (created.status_code, again.status_code) == (201, 409)
    step_id = created.get_json()["workflow_step_id"]
    assert again.get_json()["workflow_step_id"] == step_id
    assert [s["workflow_step_id"] for s in found.get_json()["items"]] == [step_id]
