"""The plain WSGI webhook path answers every row of the response table as the Flask route does, without Flask."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import request_started
from tests.support.harness import NOW, SECRET, Connector, event, make_config, signed, start_connector
from werkzeug.test import Client

from webhooks.signature import secret_key, sign
from webhooks.wsgi import WebhookMiddleware

ALLOCATED = event(
    "evt_wsgi_1",
    "case.allocated",
    "2026-11-02T09:30:00Z",
    person_id=100234,
    worker_id=5521,
    team_id=310,
    relationship="ALLWKR",
    start_date="2026-11-02",
)
PATH = "/webhooks/lincolnshire/mosaic"


def _with(**changes: Any) -> dict[str, Any]:
    return {**ALLOCATED, **changes}


def _requests() -> list[tuple[str, dict[str, Any]]]:
    """(what, keyword arguments of Client.open) for every answer of the response table, in the order sent."""
    body, headers = signed(ALLOCATED)
    bad_field = signed(_with(id="evt_wsgi_2", data={**ALLOCATED["data"], "person_id": "x"}))
    future = signed(_with(id="evt_wsgi_3", occurred_at="9999-01-01T00:00:00Z"))
    deep = b"[" * 30_000 + b"]" * 30_000
    bad_signature = {**headers, "webhook-signature": "v1,AAAA"}
    return [
        ("202 accepted", {"data": body, "headers": headers}),
        ("200 duplicate", {"data": body, "headers": headers}),
        ("400 a field", {"data": bad_field[0], "headers": bad_field[1]}),
        ("400 the future", {"data": future[0], "headers": future[1]}),
        ("400 not JSON", {"data": b"{", "headers": _resigned(headers, b"{")}),
        ("400 too deep", {"data": deep, "headers": _resigned(headers, deep)}),
        ("400 huge integer", {"data": b"9" * 5000, "headers": _resigned(headers, b"9" * 5000)}),
        ("401", {"data": body, "headers": bad_signature}),
        ("404", {"data": body, "headers": headers, "path": "/webhooks/nowhere/mosaic"}),
        ("404 platform", {"data": body, "headers": headers, "path": "/webhooks/lincolnshire/childview"}),
        ("413", {"data": b" " * (65 * 1024), "headers": headers}),
        (
            "413 chunked",
            {
                "headers": {**headers, "Transfer-Encoding": "chunked"},
                "environ_overrides": {
                    "wsgi.input": io.BytesIO(b"[" * (70 * 1024)),
                    "wsgi.input_terminated": True,
                },
            },
        ),
        ("415", {"data": body, "headers": {**headers, "Content-Type": "text/plain"}}),
        (
            "400 shorter than its Content-Length",
            {
                "headers": headers,
                "environ_overrides": {"CONTENT_LENGTH": "500", "wsgi.input": io.BytesIO(body[:10])},
            },
        ),
    ]


def _resigned(headers: dict[str, str], body: bytes) -> dict[str, str]:
    return {**headers, "webhook-signature": sign(secret_key(SECRET), headers["webhook-id"], str(NOW), body)}


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Connector, Connector]]:
    """Two connectors alike, each with its own database."""
    left = start_connector(make_config(tmp_path / "left", "http://127.0.0.1:9/api"))
    right = start_connector(make_config(tmp_path / "right", "http://127.0.0.1:9/api"))
    yield left, right
    left.close()
    right.close()


def stored(connector: Connector) -> int:
    return int(connector.service.db.scalar("SELECT COUNT(*) FROM inbox"))


def test_every_answer_is_the_same_as_through_the_flask_route(pair: tuple[Connector, Connector]) -> None:
    light, flask_only = pair
    middleware = light.client.application.wsgi_app
    assert isinstance(middleware, WebhookMiddleware)
    # The Flask app's own wsgi_app, as it was before the plain path was mounted in front of it.
    through_flask = Client(flask_only.client.application.wsgi_app.app)  # type: ignore[attr-defined]
    for what, kwargs in _requests():
        before = stored(light)
        kwargs = {"path": PATH, **kwargs}
        ours = light.client.open(method="POST", **kwargs)
        theirs = through_flask.open(method="POST", **_fresh(kwargs))
        assert ours.status_code == theirs.status_code, what
        assert ours.mimetype == theirs.mimetype == "application/json", what
        assert ours.get_json() == json.loads(theirs.get_data()), what
        assert stored(light) == stored(flask_only), what
        body = ours.get_json()
        if ours.status_code >= 400:
            assert set(body) == {"code", "status", "message", "errors"}, what
            assert body["code"] == ours.status_code, what
            assert stored(light) == before, what
    statuses = {r.split()[0] for r, _ in _requests()}
    assert statuses == {"200", "202", "400", "401", "404", "413", "415"}


def _fresh(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The same request again: a stream given in the environ has been read by the first one."""
    overrides = kwargs.get("environ_overrides")
    if overrides is None or "wsgi.input" not in overrides:
        return kwargs
    stream = overrides["wsgi.input"]
    stream.seek(0)
    return {**kwargs, "environ_overrides": {**overrides, "wsgi.input": io.BytesIO(stream.read())}}


def test_a_webhook_is_answered_without_entering_flask(pair: tuple[Connector, Connector]) -> None:
    connector, _ = pair
    started: list[str] = []

    def note(sender: Any, **extra: Any) -> None:
        started.append("flask")

    app = connector.client.application
    with request_started.connected_to(note, app):
        body, headers = signed(ALLOCATED)
        assert connector.client.post(PATH, data=body, headers=headers).status_code == 202
        assert started == []
        # Everything else goes on to Flask, the webhook path's other methods included (its 405).
        assert connector.client.get("/healthz").status_code == 200
        assert connector.client.get(PATH).status_code == 405
        assert started == ["flask", "flask"]


def test_a_database_failure_is_a_500_in_the_one_shape_and_logged(
    pair: tuple[Connector, Connector], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    connector, _ = pair

    def failing(*args: Any) -> bool:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(connector.service.inbox, "accept", failing)
    caplog.set_level(logging.INFO, logger="webhooks")
    body, headers = signed(ALLOCATED)
    response = connector.client.post(PATH, data=body, headers=headers)
    assert response.status_code == 500
    answer = response.get_json()
    assert set(answer) == {"code", "status", "message", "errors"}
    assert "disk" not in answer["message"]
    messages = [r.getMessage() for r in caplog.records if r.name == "webhooks"]
    assert "unexpected error" in messages
    assert any(m.startswith("webhook answered 500 tenant=lincolnshire") for m in messages)
