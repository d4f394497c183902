"""A simulated Childview: the REST facade of the Childview contract, in memory, for tests and demonstrations.

It behaves as the contract says Childview does: X-Api-Key auth, `{"error": {"code", "detail"}}` on every
error, field checks (400), prompts at case and staff level, oversight records, and Idempotency-Key semantics
(the same key and body answer the original status and body; the same key with another body is 422). It also
injects faults (the next N answers 503 or 429 with Retry-After) and can apply a write but lose its answer, the
case an idempotency key exists for.
"""

from __future__ import annotations

import contextlib
import hmac
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from adapters.childview.settings import PROMPT_TYPES

PROMPT_STATUSES = ("OPEN", "WITHDRAWN")
SEVERITIES = ("normal", "high")
PROMPT_CHANGES = ("due_date", "show_from", "text", "severity", "status")
KEY_MAX = 100
Record = dict[str, Any]
Errors = list[str]


@dataclass
class ChildviewStore:
    """The simulated Childview's records. Every method takes the lock: the server answers on several threads."""

    prompts: dict[str, Record] = field(default_factory=dict)
    records: dict[str, Record] = field(default_factory=dict)
    # Idempotency-Key -> (what was asked, the status answered, the body answered).
    answered: dict[str, tuple[str, int, Record]] = field(default_factory=dict)
    faults: list[tuple[int, float | None]] = field(default_factory=list)
    answers_to_lose: int = 0
    # Where the server cannot drop a connection (waitress), a lost answer is one sent this late instead.
    lost_answer_delay: float = 5.0
    lock: threading.RLock = field(default_factory=threading.RLock)
    prompt_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    record_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def all_prompts(self) -> list[Record]:
        with self.lock:
            return [dict(p) for p in self.prompts.values()]

    def all_records(self) -> list[Record]:
        with self.lock:
            return [dict(r, fields=dict(r["fields"])) for r in self.records.values()]

    def inject_faults(self, status: int, count: int = 1, retry_after: float | None = None) -> None:
        """The next `count` requests (after auth) are answered `status`, with Retry-After when given."""
        with self.lock:
            self.faults.extend([(status, retry_after)] * count)

    def take_fault(self) -> tuple[int, float | None] | None:
        with self.lock:
            return self.faults.pop(0) if self.faults else None

    def lose_next_answers(self, count: int = 1) -> None:
        """The next `count` writes (POST, PATCH) are applied, then their answer never reaches the caller."""
        with self.lock:
            self.answers_to_lose += count

    def take_lost_answer(self) -> bool:
        with self.lock:
            if self.answers_to_lose <= 0:
                return False
            self.answers_to_lose -= 1
            return True


def simulator_store(app: Flask) -> ChildviewStore:
    """The store behind an app made by create_simulator_app."""
    store = app.extensions["childview_store"]
    assert isinstance(store, ChildviewStore)
    return store


def _error(status: int, code: str, detail: str) -> tuple[Response, int]:
    return jsonify({"error": {"code": code, "detail": detail}}), status


def _is_date(value: Any) -> bool:
    try:
        return isinstance(value, str) and len(value) == 10 and bool(date.fromisoformat(value))
    except ValueError:
        return False


STAFF_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and STAFF_ID.fullmatch(value) is not None


def _check(errors: Errors, name: str, ok: bool, message: str) -> None:
    if not ok:
        errors.append(f"{name}: {message}")


def _prompt_errors(data: Record, creating: bool) -> Errors:
    errors: Errors = []
    if creating:
        _check(errors, "staff_id", _is_id(data.get("staff_id")), "required, a staff id")
        _check(
            errors,
            "prompt_type",
            data.get("prompt_type") in PROMPT_TYPES,
            f"one of {', '.join(PROMPT_TYPES)}",
        )
        _check(errors, "due_date", _is_date(data.get("due_date")), "required, a date YYYY-MM-DD")
        _check(errors, "text", isinstance(data.get("text"), str) and bool(data.get("text")), "required text")
    else:
        for name in data:
            _check(errors, name, name in PROMPT_CHANGES, "cannot be changed")
        if "due_date" in data:
            _check(errors, "due_date", _is_date(data["due_date"]), "a date YYYY-MM-DD")
        if "text" in data:
            _check(errors, "text", isinstance(data["text"], str) and bool(data["text"]), "text")
        if "status" in data:
            _check(
                errors, "status", data["status"] in PROMPT_STATUSES, f"one of {', '.join(PROMPT_STATUSES)}"
            )
    if "show_from" in data:
        _check(errors, "show_from", _is_date(data["show_from"]), "a date YYYY-MM-DD")
    if "severity" in data:
        _check(errors, "severity", data["severity"] in SEVERITIES, f"one of {', '.join(SEVERITIES)}")
    return errors


def _fields_errors(value: Any) -> Errors:
    ok = isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    return [] if ok else ["fields: an object of text values"]


def create_simulator_app(api_key: str, store: ChildviewStore | None = None) -> Flask:
    """A Flask app serving the Childview API under /api; its store is `simulator_store(app)`."""
    store = store if store is not None else ChildviewStore()
    app = Flask("childview_simulator")
    app.extensions["childview_store"] = store
    expected = api_key.encode()

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        # Childview answers every error in its own JSON shape, an unknown path or method included.
        return _error(exc.code or 500, (exc.name or "error").upper().replace(" ", "_"), exc.description or "")

    @app.before_request
    def auth_faults_and_replays() -> Any:
        given = request.headers.get("X-Api-Key", "").encode()
        if not hmac.compare_digest(given, expected):
            return _error(401, "UNAUTHORISED", "Missing or invalid X-Api-Key.")
        fault = store.take_fault()
        if fault is not None:
            code = "MAINTENANCE" if fault[0] == 503 else "RATE_LIMITED" if fault[0] == 429 else "FAULT"
            response, status = _error(fault[0], code, "Simulated fault.")
            if fault[1] is not None:
                response.headers["Retry-After"] = str(int(fault[1]))
            return response, status
        key = request.headers.get("Idempotency-Key")
        if key is None or request.method not in ("POST", "PATCH"):
            return None
        if not key or len(key) > KEY_MAX:
            return _error(400, "INVALID_IDEMPOTENCY_KEY", f"Idempotency-Key: 1 to {KEY_MAX} characters.")
        with store.lock:
            seen = store.answered.get(key)
        if seen is None:
            return None
        if seen[0] != _fingerprint():
            return _error(
                422, "IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used with another request."
            )
        return replay(jsonify(seen[2]), seen[1])

    @app.after_request
    def remember_and_maybe_lose(response: Response) -> Response:
        key = request.headers.get("Idempotency-Key")
        replayed = response.headers.pop("X-Simulator-Replayed", None) is not None
        if replayed or request.method not in ("POST", "PATCH") or not 200 <= response.status_code < 300:
            return response
        if key:
            with store.lock:
                store.answered.setdefault(key, (_fingerprint(), response.status_code, response.get_json()))
        if store.take_lost_answer():
            _lose_answer(store)
        return response

    def replay(response: Response, status: int) -> tuple[Response, int]:
        # Marked so that after_request neither records it again nor loses it.
        response.headers["X-Simulator-Replayed"] = "1"
        return response, status

    def body() -> Record:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}

    def invalid(errors: Errors) -> tuple[Response, int]:
        return _error(400, "VALIDATION_FAILED", "; ".join(errors))

    def create_prompt(yp_id: str | None, staff_id: str | None) -> Any:
        data = body()
        errors = _prompt_errors(data, creating=True)
        if staff_id is not None and data.get("staff_id") != staff_id:
            errors.append("staff_id: must be the staff member in the path")
        if errors:
            return invalid(errors)
        with store.lock:
            prompt_id = f"PR-{next(store.prompt_ids):05d}"
            prompt = {
                "prompt_id": prompt_id,
                "yp_id": yp_id,
                "staff_id": data["staff_id"],
                "prompt_type": data["prompt_type"],
                "due_date": data["due_date"],
                "show_from": data.get("show_from", data["due_date"]),
                "text": data["text"],
                "severity": data.get("severity", "normal"),
                "status": "OPEN",
            }
            store.prompts[prompt_id] = prompt
            return jsonify(dict(prompt)), 201

    @app.post("/api/young-people/<yp_id>/prompts")
    def create_case_prompt(yp_id: str) -> Any:
        return create_prompt(yp_id, None)

    @app.post("/api/staff/<staff_id>/prompts")
    def create_staff_prompt(staff_id: str) -> Any:
        return create_prompt(None, staff_id)

    def listed(records: list[Record], name: str) -> Any:
        status = request.args.get("status")
        return jsonify({name: [r for r in records if status is None or r.get("status") == status]})

    @app.get("/api/young-people/<yp_id>/prompts")
    def case_prompts(yp_id: str) -> Any:
        return listed([p for p in store.all_prompts() if p["yp_id"] == yp_id], "prompts")

    @app.get("/api/prompts")
    def every_prompt() -> Any:
        return listed(store.all_prompts(), "prompts")

    @app.get("/api/prompts/<prompt_id>")
    def get_prompt(prompt_id: str) -> Any:
        with store.lock:
            prompt = store.prompts.get(prompt_id)
            return _error(404, "NOT_FOUND", "No such prompt.") if prompt is None else jsonify(dict(prompt))

    @app.patch("/api/prompts/<prompt_id>")
    def patch_prompt(prompt_id: str) -> Any:
        data = body()
        errors = _prompt_errors(data, creating=False)
        if errors:
            return invalid(errors)
        with store.lock:
            prompt = store.prompts.get(prompt_id)
            if prompt is None:
                return _error(404, "NOT_FOUND", "No such prompt.")
            prompt.update(data)
            return jsonify(dict(prompt))

    @app.post("/api/young-people/<yp_id>/oversight-records")
    def create_record(yp_id: str) -> Any:
        data = body()
        errors: Errors = []
        _check(errors, "staff_id", _is_id(data.get("staff_id")), "required, a staff id")
        manager = data.get("manager_id")
        _check(errors, "manager_id", manager is None or _is_id(manager), "a staff id")
        _check(errors, "due_date", _is_date(data.get("due_date")), "required, a date YYYY-MM-DD")
        errors += _fields_errors(data.get("fields"))
        with store.lock:
            prompt_id = data.get("prompt_id")
            _check(errors, "prompt_id", prompt_id is None or prompt_id in store.prompts, "no such prompt")
            if errors:
                return invalid(errors)
            record_id = f"OR-{next(store.record_ids):05d}"
            record = {
                "record_id": record_id,
                "yp_id": yp_id,
                **{k: data.get(k) for k in ("staff_id", "manager_id", "prompt_id", "due_date")},
                "fields": dict(data["fields"]),
            }
            store.records[record_id] = record
            return jsonify(dict(record)), 201

    @app.get("/api/oversight-records")
    def every_record() -> Any:
        return jsonify({"oversight_records": store.all_records()})

    @app.get("/api/oversight-records/<record_id>")
    def get_record(record_id: str) -> Any:
        with store.lock:
            record = store.records.get(record_id)
            return (
                _error(404, "NOT_FOUND", "No such oversight record.") if record is None else jsonify(record)
            )

    @app.patch("/api/oversight-records/<record_id>")
    def patch_record(record_id: str) -> Any:
        data = body()
        errors = [f"{k}: cannot be changed" for k in data if k != "fields"] + _fields_errors(
            data.get("fields")
        )
        if errors:
            return invalid(errors)
        with store.lock:
            record = store.records.get(record_id)
            if record is None:
                return _error(404, "NOT_FOUND", "No such oversight record.")
            # The fields given replace those with the same keys; the others stay as the worker left them.
            record["fields"].update(data["fields"])
            return jsonify(dict(record, fields=dict(record["fields"])))

    return app


def _fingerprint() -> str:
    """What a request asked for: method, path and body (as JSON, keys sorted), for Idempotency-Key reuse."""
    data = request.get_json(silent=True)
    return json.dumps([request.method, request.path, data], sort_keys=True)


def _lose_answer(store: ChildviewStore) -> None:
    """The write is applied; now its answer goes missing. The development server lets us drop the connection
    (the client sees it reset); elsewhere the answer comes later than any sane client waits."""
    sock = request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):  # the caller may have gone already
            sock.shutdown(socket.SHUT_RDWR)
        return
    time.sleep(store.lost_answer_delay)
