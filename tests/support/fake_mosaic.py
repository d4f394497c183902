"""A stateful fake Mosaic on pytest-httpserver: steps, forms and notifications, with counted calls and faults."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

TOKEN = "test-token"


def _json(body: Any, status: int) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


@dataclass
class FakeMosaic:
    server: HTTPServer
    steps: dict[int, dict[str, Any]] = field(default_factory=dict)
    forms: dict[int, dict[str, Any]] = field(default_factory=dict)
    notifications: dict[int, dict[str, Any]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    faults: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    next_id: int = 880000

    @property
    def base_url(self) -> str:
        return self.server.url_for("/api")

    def install(self) -> FakeMosaic:
        self.server.expect_request(re.compile(r"^/api/.*"), method="__ALL").respond_with_handler(self.handle)
        return self

    def fail_next(self, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        self.faults.extend([(status, headers or {})] * times)

    def open_steps(self) -> list[dict[str, Any]]:
        return [s for s in self.steps.values() if s["step_status"] not in ("COMPLETED", "CANCELLED")]

    def complete(self, step_id: int) -> None:
        self.steps[step_id]["step_status"] = "COMPLETED"

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def handle(self, request: Request) -> Response:
        path = request.path[len("/api") :]
        pattern = re.sub(r"/\d+", "/{id}", path)
        self.calls[f"{request.method} {pattern}"] += 1
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _json({"message": "unauthorised"}, 401)
        if self.faults:
            status, headers = self.faults.pop(0)
            response = _json({"message": "injected fault"}, status)
            response.headers.update(headers)
            return response
        body = request.get_json(silent=True) or {}
        if path == "/workflow-steps" and request.method == "POST":
            return self._create(self.steps, body, "workflow_step_id")
        if path == "/workflow-steps" and request.method == "GET":
            ref = request.args.get("external_reference")
            return _json({"items": [s for s in self.steps.values() if s["external_reference"] == ref]}, 200)
        if path == "/forms" and request.method == "POST":
            return self._create(self.forms, body, "form_id")
        if path == "/forms" and request.method == "GET":
            ref = request.args.get("external_reference")
            return _json({"items": [f for f in self.forms.values() if f["external_reference"] == ref]}, 200)
        if path == "/current-work/notifications" and request.method == "POST":
            return self._create(self.notifications, body, "notification_id")
        match = re.fullmatch(r"/workflow-steps/(\d+)", path)
        if match:
            step = self.steps.get(int(match.group(1)))
            if step is None:
                return _json({"message": "no such step"}, 404)
            if request.method == "GET":
                return _json(step, 200)
            if step["step_status"] in ("COMPLETED", "CANCELLED"):
                return _json({"message": f"step is {step['step_status']}"}, 409)
            step.update(body)
            return _json(step, 200)
        match = re.fullmatch(r"/current-work/notifications/(\d+)", path)
        if match and request.method == "DELETE":
            note = self.notifications.get(int(match.group(1)))
            if note is None:
                return _json({"message": "no such notification"}, 404)
            if note.get("read"):
                return _json({"message": "already read"}, 409)
            del self.notifications[int(match.group(1))]
            return Response(status=204)
        match = re.fullmatch(r"/forms/(\d+)", path)
        if match and request.method == "PATCH":
            form = self.forms.get(int(match.group(1)))
            if form is None:
                return _json({"message": "no such form"}, 404)
            form.update(body)
            return _json(form, 200)
        return _json({"message": f"no route {request.method} {path}"}, 404)

    def _create(self, table: dict[int, dict[str, Any]], body: dict[str, Any], id_name: str) -> Response:
        for existing in table.values():
            if existing["external_reference"] == body.get("external_reference"):
                return _json({id_name: existing[id_name], "message": "external_reference exists"}, 409)
        new_id = self._new_id()
        table[new_id] = {**body, id_name: new_id}
        return _json(table[new_id], 201)
