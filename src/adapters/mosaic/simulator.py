"""A simulated Mosaic: the REST facade of the Mosaic contract, in memory, for the sandbox and the benchmark.

It behaves as the contract says Mosaic does: Bearer auth, `external_reference` unique per client with 409 and
the existing id, completed and cancelled steps refusing changes, field errors in Mosaic's error shape. It also
lets a demonstration play the worker (complete a step) and inject faults (the next N answers 503 or 429).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Flask, Response, jsonify, request

STEP_STATUSES = ("PROPOSED", "INCOMING", "STARTED", "REOPENED", "COMPLETED", "CANCELLED")
CLOSED = ("COMPLETED", "CANCELLED")
ANSWER_TYPES = ("date", "short_text", "text", "boolean", "lookup")


def _error(status: int, message: str, errors: dict[str, list[str]] | None = None) -> tuple[Response, int]:
    body: dict[str, Any] = {"message": message}
    if errors:
        body["errors"] = errors
    return jsonify(body), status


def _is_date(value: Any) -> bool:
    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


@dataclass
class MosaicStore:
    """The simulated Mosaic's records; every method is safe across request threads."""

    steps: dict[int, dict[str, Any]] = field(default_factory=dict)
    forms: dict[int, dict[str, Any]] = field(default_factory=dict)
    notifications: dict[int, dict[str, Any]] = field(default_factory=dict)
    faults: list[tuple[int, float | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(880001))

    def all_steps(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(s) for s in self.steps.values()]

    def complete_step(self, step_id: int) -> None:
        """Play the worker: Mosaic moves a worked step to COMPLETED."""
        with self.lock:
            self.steps[step_id]["step_status"] = "COMPLETED"

    def inject_faults(self, status: int, count: int = 1, retry_after: float | None = None) -> None:
        with self.lock:
            self.faults.extend([(status, retry_after)] * count)


def create_simulator_app(token: str, store: MosaicStore | None = None) -> Flask:
    store = store or MosaicStore()
    app = Flask("mosaic_simulator")
    app.extensions["mosaic_store"] = store

    @app.before_request
    def auth_and_faults() -> Any:
        if request.headers.get("Authorization") != f"Bearer {token}":
            return _error(401, "Missing or invalid bearer token.")
        with store.lock:
            fault = store.faults.pop(0) if store.faults else None
        if fault is not None:
            response, status = _error(fault[0], "Simulated fault.")
            if fault[1] is not None:
                response.headers["Retry-After"] = str(int(fault[1]))
            return response, status
        return None

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}

    def create(table: dict[int, dict[str, Any]], record: dict[str, Any], id_name: str) -> Any:
        reference = record.get("external_reference")
        with store.lock:
            for existing in table.values():
                if reference and existing.get("external_reference") == reference:
                    answer = {id_name: existing[id_name], "message": "external_reference already exists."}
                    return jsonify(answer), 409
            new_id = next(store.ids)
            table[new_id] = {**record, id_name: new_id}
            return jsonify(table[new_id]), 201

    def by_reference(table: dict[int, dict[str, Any]]) -> Any:
        reference = request.args.get("external_reference")
        with store.lock:
            items = [dict(r) for r in table.values() if r.get("external_reference") == reference]
        return jsonify({"items": items})

    @app.post("/api/workflow-steps")
    def create_step() -> Any:
        data = body()
        errors: dict[str, list[str]] = {}
        for name in ("workflow_step_type_id", "assignee_id"):
            if not isinstance(data.get(name), int):
                errors[name] = ["Required whole number."]
        for name in ("due_date", "incoming_on"):
            if not _is_date(data.get(name)):
                errors[name] = ["Required date YYYY-MM-DD."]
        if data.get("step_status", "INCOMING") not in ("PROPOSED", "INCOMING"):
            errors["step_status"] = ["On create: PROPOSED or INCOMING."]
        if not isinstance(data.get("external_reference"), str) or not data["external_reference"]:
            errors["external_reference"] = ["Required."]
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
        return create(store.steps, record, "workflow_step_id")

    @app.get("/api/workflow-steps")
    def find_steps() -> Any:
        return by_reference(store.steps)

    @app.get("/api/workflow-steps/<int:step_id>")
    def get_step(step_id: int) -> Any:
        with store.lock:
            step = store.steps.get(step_id)
            return _error(404, "No such workflow step.") if step is None else jsonify(dict(step))

    @app.patch("/api/workflow-steps/<int:step_id>")
    def patch_step(step_id: int) -> Any:
        data = body()
        allowed = {"due_date", "assignee_id", "responsible_team_id", "step_status", "title", "notes"}
        errors = {k: ["Cannot be changed."] for k in data if k not in allowed}
        if "due_date" in data and not _is_date(data["due_date"]):
            errors["due_date"] = ["Date YYYY-MM-DD."]
        if "step_status" in data and data["step_status"] not in STEP_STATUSES:
            errors["step_status"] = [f"One of {', '.join(STEP_STATUSES)}."]
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
        errors: dict[str, list[str]] = {}
        with store.lock:
            known_step = data.get("workflow_step_id") in store.steps
        if not known_step:
            return _error(422, "Unknown workflow_step_id.", {"workflow_step_id": ["Does not exist."]})
        answers = data.get("answers")
        if not isinstance(answers, list) or any(
            not isinstance(a, dict) or a.get("answer_type") not in ANSWER_TYPES for a in answers
        ):
            errors["answers"] = ["A list of {question_user_code, answer_type, value}."]
        if errors:
            return _error(400, "Validation failed.", errors)
        return create(store.forms, dict(data), "form_id")

    @app.get("/api/forms")
    def find_forms() -> Any:
        return by_reference(store.forms)

    @app.patch("/api/forms/<int:form_id>")
    def patch_form(form_id: int) -> Any:
        data = body()
        with store.lock:
            form = store.forms.get(form_id)
            if form is None:
                return _error(404, "No such form.")
            given = {a["question_user_code"]: a for a in data.get("answers", []) if isinstance(a, dict)}
            kept = [a for a in form.get("answers", []) if a["question_user_code"] not in given]
            form["answers"] = kept + list(given.values())
            return jsonify(dict(form))

    @app.post("/api/current-work/notifications")
    def notify() -> Any:
        data = body()
        if not isinstance(data.get("worker_id"), int) or not _is_date(data.get("notification_date")):
            return _error(
                400, "Validation failed.", {"worker_id": ["Required."], "notification_date": ["Date."]}
            )
        return create(store.notifications, dict(data, read=False), "notification_id")

    @app.delete("/api/current-work/notifications/<int:notification_id>")
    def withdraw_notification(notification_id: int) -> Any:
        with store.lock:
            note = store.notifications.get(notification_id)
            if note is None:
                return _error(404, "No such notification.")
            if note.get("read"):
                return _error(409, "Already read.")
            del store.notifications[notification_id]
        return Response(status=204)

    return app
