"""A simulated Mosaic: the REST facade of the Mosaic contract, in memory, for the sandbox and the benchmark.

It behaves as the contract says Mosaic does: Bearer auth, `external_reference` unique per client with 409 and
the existing id, completed and cancelled steps refusing changes, field errors in Mosaic's error shape. It also
lets a demonstration play the worker (complete a step, read a notification) and inject faults (the next N
answers 503 or 429).
"""

from __future__ import annotations

import hmac
import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

STEP_STATUSES = ("PROPOSED", "INCOMING", "STARTED", "REOPENED", "COMPLETED", "CANCELLED")
CLOSED = ("COMPLETED", "CANCELLED")
ANSWER_TYPES = ("date", "short_text", "text", "boolean", "lookup")
SHORT_TEXT_MAX = 255
STEP_CHANGES = ("due_date", "assignee_id", "responsible_team_id", "step_status", "title", "notes")
Errors = dict[str, list[str]]
Record = dict[str, Any]


@dataclass
class MosaicStore:
    """The simulated Mosaic's records. Every method takes the lock: the server answers on several threads."""

    steps: dict[int, Record] = field(default_factory=dict)
    forms: dict[int, Record] = field(default_factory=dict)
    notifications: dict[int, Record] = field(default_factory=dict)
    faults: list[tuple[int, float | None]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    # Separate ranges, as in a real Mosaic, so that a step id passed where a form id belongs is caught.
    step_ids: Iterator[int] = field(default_factory=lambda: itertools.count(880001))
    form_ids: Iterator[int] = field(default_factory=lambda: itertools.count(4001))
    notification_ids: Iterator[int] = field(default_factory=lambda: itertools.count(61001))
    # external_reference -> id, per table: a create or lookup by reference must not scan every record (the
    # benchmarks hold tens of thousands, and the scan's cost fell on the connector sharing the machine).
    by_reference: dict[str, dict[str, int]] = field(
        default_factory=lambda: {"steps": {}, "forms": {}, "notifications": {}}
    )

    def all_steps(self) -> list[Record]:
        with self.lock:
            return [dict(s) for s in self.steps.values()]

    def all_forms(self) -> list[Record]:
        with self.lock:
            return [dict(f, answers=[dict(a) for a in f["answers"]]) for f in self.forms.values()]

    def all_notifications(self) -> list[Record]:
        with self.lock:
            return [dict(n) for n in self.notifications.values()]

    def complete_step(self, step_id: int) -> None:
        """Play the worker: Mosaic moves a worked step to COMPLETED. KeyError for an unknown step."""
        with self.lock:
            self.steps[step_id]["step_status"] = "COMPLETED"

    def read_notification(self, notification_id: int) -> None:
        """Play the worker opening a notification: it can no longer be withdrawn."""
        with self.lock:
            self.notifications[notification_id]["read"] = True

    def inject_faults(self, status: int, count: int = 1, retry_after: float | None = None) -> None:
        """The next `count` requests (after auth) are answered `status`, with Retry-After when given."""
        with self.lock:
            self.faults.extend([(status, retry_after)] * count)

    def take_fault(self) -> tuple[int, float | None] | None:
        with self.lock:
            return self.faults.pop(0) if self.faults else None


def simulator_store(app: Flask) -> MosaicStore:
    """The store behind an app made by create_simulator_app."""
    store = app.extensions["mosaic_store"]
    assert isinstance(store, MosaicStore)
    return store


def _error(status: int, message: str, errors: Errors | None = None) -> tuple[Response, int]:
    body: Record = {"message": message}
    if errors:
        body["errors"] = errors
    return jsonify(body), status


def _is_date(value: Any) -> bool:
    try:
        return isinstance(value, str) and len(value) == 10 and bool(date.fromisoformat(value))
    except ValueError:
        return False


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _check(errors: Errors, name: str, ok: bool, message: str) -> None:
    if not ok:
        errors.setdefault(name, []).append(message)


def _step_errors(data: Record, creating: bool) -> Errors:
    errors: Errors = {}
    if creating:
        for name in ("workflow_step_type_id", "assignee_id"):
            _check(errors, name, _is_id(data.get(name)), "Required: a positive whole number.")
        for name in ("due_date", "incoming_on"):
            _check(errors, name, _is_date(data.get(name)), "Required: a date YYYY-MM-DD.")
        reference = data.get("external_reference")
        _check(errors, "external_reference", isinstance(reference, str) and bool(reference), "Required.")
        status = data.get("step_status", "INCOMING")
        _check(errors, "step_status", status in ("PROPOSED", "INCOMING"), "On create: PROPOSED or INCOMING.")
        subject = data.get("subject_person_id")
        _check(errors, "subject_person_id", subject is None or _is_id(subject), "A person id or null.")
    else:
        for name in data:
            _check(errors, name, name in STEP_CHANGES, "Cannot be changed.")
        if "assignee_id" in data:
            _check(errors, "assignee_id", _is_id(data["assignee_id"]), "A positive whole number.")
        if "due_date" in data:
            _check(errors, "due_date", _is_date(data["due_date"]), "A date YYYY-MM-DD.")
        if "step_status" in data:
            ok = data["step_status"] in STEP_STATUSES
            _check(errors, "step_status", ok, f"One of {', '.join(STEP_STATUSES)}.")
    team = data.get("responsible_team_id")
    _check(errors, "responsible_team_id", team is None or _is_id(team), "A team id or null.")
    for name in ("title", "notes"):
        _check(errors, name, isinstance(data.get(name, ""), str), "Text.")
    return errors


def _answer_errors(answers: Any, required: bool) -> Errors:
    errors: Errors = {}
    if answers is None and not required:
        return errors
    if not isinstance(answers, list):
        return {"answers": ["A list of {question_user_code, answer_type, value}."]}
    for i, answer in enumerate(answers):
        where = f"answers[{i}]"
        if not isinstance(answer, dict):
            errors[where] = ["An object."]
            continue
        code, kind, value = answer.get("question_user_code"), answer.get("answer_type"), answer.get("value")
        _check(errors, f"{where}.question_user_code", isinstance(code, str) and bool(code), "Required.")
        _check(errors, f"{where}.answer_type", kind in ANSWER_TYPES, f"One of {', '.join(ANSWER_TYPES)}.")
        if kind == "date":
            _check(errors, f"{where}.value", _is_date(value), "A date YYYY-MM-DD.")
        elif kind == "short_text":
            ok = isinstance(value, str) and len(value) <= SHORT_TEXT_MAX
            _check(errors, f"{where}.value", ok, f"Text of at most {SHORT_TEXT_MAX} characters.")
    return errors


def create_simulator_app(token: str, store: MosaicStore | None = None) -> Flask:
    """A Flask app serving the Mosaic API under /api; its store is `simulator_store(app)`."""
    store = store if store is not None else MosaicStore()
    app = Flask("mosaic_simulator")
    app.extensions["mosaic_store"] = store
    expected = f"Bearer {token}".encode()

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        # Mosaic answers every error in its own JSON shape, an unknown path or method included.
        return _error(exc.code or 500, exc.description or exc.name)

    @app.before_request
    def auth_and_faults() -> Any:
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return _error(401, "Missing or invalid bearer token.")
        fault = store.take_fault()
        if fault is not None:
            response, status = _error(fault[0], "Simulated fault.")
            if fault[1] is not None:
                response.headers["Retry-After"] = str(int(fault[1]))
            return response, status
        return None

    def body() -> Record:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}

    def holding(name: str, reference: Any) -> Record | None:
        """The record of table `name` holding `reference`, if any (under the store's lock)."""
        table: dict[int, Record] = getattr(store, name)
        found = store.by_reference[name].get(reference) if isinstance(reference, str) else None
        return None if found is None else table.get(found)

    def create(name: str, ids: Iterator[int], record: Record, id_name: str) -> Any:
        table: dict[int, Record] = getattr(store, name)
        reference = record.get("external_reference")
        with store.lock:
            existing = holding(name, reference) if reference else None
            if existing is not None:
                answer = {id_name: existing[id_name], "message": "external_reference already exists."}
                return jsonify(answer), 409
            new_id = next(ids)
            table[new_id] = {**record, id_name: new_id}
            if isinstance(reference, str) and reference:
                store.by_reference[name][reference] = new_id
            return jsonify(table[new_id]), 201

    def by_reference(name: str) -> Any:
        """Records with the given external_reference; with no filter, all of them (the simulator's own
        addition, so someone trying the connector can see what it wrote)."""
        reference = request.args.get("external_reference")
        table: dict[int, Record] = getattr(store, name)
        with store.lock:
            if reference is None:
                items = [dict(r) for r in table.values()]
            else:
                found = holding(name, reference)
                items = [] if found is None else [dict(found)]
        return jsonify({"items": items})

    @app.post("/api/workflow-steps")
    def create_step() -> Any:
        data = body()
        errors = _step_errors(data, creating=True)
        if errors:
            return _error(400, "Validation failed.", errors)
        record = {
            "workflow_step_type_id": data["workflow_step_type_id"],
            "subject_person_id": data.get("subject_person_id"),
            "assignee_id": data["assignee_id"],
            "responsible_team_id": data.get("responsible_team_id"),
            "step_status": data.get("step_status", "INCOMING"),
            "incoming_on": data["incoming_on"],
            "due_date": data["due_date"],
            "title": data.get("title", ""),
            "notes": data.get("notes", ""),
            "external_reference": data["external_reference"],
        }
        return create("steps", store.step_ids, record, "workflow_step_id")

    @app.get("/api/workflow-steps")
    def find_steps() -> Any:
        return by_reference("steps")

    @app.get("/api/workflow-steps/<int:step_id>")
    def get_step(step_id: int) -> Any:
        with store.lock:
            step = store.steps.get(step_id)
            return _error(404, "No such workflow step.") if step is None else jsonify(dict(step))

    @app.patch("/api/workflow-steps/<int:step_id>")
    def patch_step(step_id: int) -> Any:
        data = body()
        errors = _step_errors(data, creating=False)
        if errors:
            return _error(400, "Validation failed.", errors)
        with store.lock:
            step = store.steps.get(step_id)
            if step is None:
                return _error(404, "No such workflow step.")
            if step["step_status"] in CLOSED:
                return _error(409, f"The step is {step['step_status']} and cannot be changed.")
            step.update(data)
            return jsonify(dict(step))

    @app.post("/api/forms")
    def create_form() -> Any:
        data = body()
        errors = _answer_errors(data.get("answers"), required=True)
        _check(errors, "form_type_id", _is_id(data.get("form_type_id")), "Required: a positive whole number.")
        reference = data.get("external_reference")
        _check(errors, "external_reference", isinstance(reference, str) and bool(reference), "Required.")
        _check(errors, "workflow_step_id", _is_id(data.get("workflow_step_id")), "Required.")
        if errors:
            return _error(400, "Validation failed.", errors)
        with store.lock:
            if data["workflow_step_id"] not in store.steps:
                return _error(422, "Unknown workflow_step_id.", {"workflow_step_id": ["Does not exist."]})
        record = {k: data[k] for k in ("workflow_step_id", "form_type_id", "external_reference", "answers")}
        return create("forms", store.form_ids, record, "form_id")

    @app.get("/api/forms")
    def find_forms() -> Any:
        return by_reference("forms")

    @app.get("/api/forms/<int:form_id>")
    def get_form(form_id: int) -> Any:
        with store.lock:
            form = store.forms.get(form_id)
            return _error(404, "No such form.") if form is None else jsonify(dict(form))

    @app.patch("/api/forms/<int:form_id>")
    def patch_form(form_id: int) -> Any:
        data = body()
        errors = _answer_errors(data.get("answers"), required=True)
        if errors:
            return _error(400, "Validation failed.", errors)
        with store.lock:
            form = store.forms.get(form_id)
            if form is None:
                return _error(404, "No such form.")
            # The answers given replace those with the same codes; the others stay as the worker left them.
            given = {a["question_user_code"]: a for a in data["answers"]}
            kept = [a for a in form["answers"] if a["question_user_code"] not in given]
            form["answers"] = kept + list(given.values())
            return jsonify(dict(form))

    @app.get("/api/current-work/notifications")
    def list_notifications() -> Any:
        # Not in Mosaic's contract (the writer never reads notifications back): for looking, as above.
        return jsonify({"items": store.all_notifications()})

    @app.post("/api/current-work/notifications")
    def notify() -> Any:
        data = body()
        errors: Errors = {}
        _check(errors, "worker_id", _is_id(data.get("worker_id")), "Required: a positive whole number.")
        step_id = data.get("workflow_step_id")
        _check(errors, "workflow_step_id", step_id is None or _is_id(step_id), "A step id or null.")
        _check(errors, "notification_date", _is_date(data.get("notification_date")), "Required: a date.")
        message = data.get("message")
        _check(errors, "message", isinstance(message, str) and bool(message), "Required.")
        if errors:
            return _error(400, "Validation failed.", errors)
        with store.lock:
            if step_id is not None and step_id not in store.steps:
                return _error(422, "Unknown workflow_step_id.", {"workflow_step_id": ["Does not exist."]})
        record = {
            k: data.get(k)
            for k in ("worker_id", "workflow_step_id", "notification_date", "message", "external_reference")
        }
        return create("notifications", store.notification_ids, {**record, "read": False}, "notification_id")

    @app.delete("/api/current-work/notifications/<int:notification_id>")
    def withdraw_notification(notification_id: int) -> Any:
        with store.lock:
            note = store.notifications.get(notification_id)
            if note is None:
                return _error(404, "No such notification.")
            if note["read"]:
                return _error(409, "The notification has been read and cannot be withdrawn.")
            del store.notifications[notification_id]
            references = store.by_reference["notifications"]
            if references.get(str(note.get("external_reference"))) == notification_id:
                del references[str(note["external_reference"])]
        return Response(status=204)

    return app
