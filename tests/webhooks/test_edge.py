"""Every row of the webhook contract's response table, through HTTP, and that a rejection stores nothing."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.support.harness import (
    NOW,
    SECRET,
    Connector,
    config_document,
    event,
    make_config,
    signed,
    start_connector,
)
from werkzeug.exceptions import ClientDisconnected

from connector.config import parse_config

ALLOCATED = event(
    "evt_2f0c9a1e6b7d4c55",
    "case.allocated",
    "2026-11-02T09:30:00Z",
    person_id=100234,
    worker_id=5521,
    team_id=310,
    relationship="ALLWKR",
    start_date="2026-11-02",
)
OTHER_SECRET = "whsec_b3RoZXItc2VjcmV0LWZvci1yb3RhdGlvbg=="


@pytest.fixture
def connector(tmp_path: Path) -> Iterator[Connector]:
    config = make_config(tmp_path, "http://127.0.0.1:9/api", webhook_secrets=[OTHER_SECRET, SECRET])
    running = start_connector(config)
    yield running
    running.close()


def stored(connector: Connector) -> int:
    return int(connector.service.db.scalar("SELECT COUNT(*) FROM inbox"))


def assert_error_shape(body: Any, code: int) -> None:
    assert set(body) == {"code", "status", "message", "errors"}
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], dict)


def post_raw(
    connector: Connector, body: bytes, headers: dict[str, str], path: str = "/webhooks/lincolnshire/mosaic"
) -> Any:
    return connector.client.post(path, data=body, headers=headers)


def test_202_accepted_and_stored(connector: Connector) -> None:
    response = connector.post(ALLOCATED)
    assert response.status_code == 202
    assert response.get_json() == {"status": "accepted", "id": "evt_2f0c9a1e6b7d4c55"}
    assert stored(connector) == 1
    assert connector.service.status()["inbox_pending"] == 1


def test_200_duplicate_stores_nothing_new(connector: Connector) -> None:
    connector.post(ALLOCATED)
    response = connector.post(ALLOCATED)
    assert response.status_code == 200
    assert response.get_json() == {"status": "duplicate", "id": "evt_2f0c9a1e6b7d4c55"}
    assert stored(connector) == 1


def test_signed_with_the_second_secret_is_accepted(connector: Connector) -> None:
    body, headers = signed(ALLOCATED, secret=OTHER_SECRET)
    assert post_raw(connector, body, headers).status_code == 202


def test_400_not_json(connector: Connector) -> None:
    body, headers = signed({"id": "x"})
    body = b"{not json"
    from webhooks.signature import secret_key, sign

    headers["webhook-signature"] = sign(secret_key(SECRET), "x", str(NOW), body)
    response = post_raw(connector, body, headers)
    assert response.status_code == 400
    assert_error_shape(response.get_json(), 400)
    assert "body" in response.get_json()["errors"]
    assert stored(connector) == 0


def signed_raw(body: bytes, webhook_id: str = "evt_raw") -> dict[str, str]:
    from webhooks.signature import secret_key, sign

    return {
        "Content-Type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(NOW),
        "webhook-signature": sign(secret_key(SECRET), webhook_id, str(NOW), body),
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[" * 30_000 + b"]" * 30_000, "The body is nested too deeply."),
        (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "The body is nested too deeply."),
        (
            json.dumps(dict(ALLOCATED, id="evt_raw")).encode().replace(b"100234", b"1" * 5_000),
            "The body holds a number too large.",
        ),
        (
            json.dumps(dict(ALLOCATED, id="evt_raw")).encode().replace(b"100234", b"1e999"),
            "The body holds a number too large.",
        ),
        (
            json.dumps(dict(ALLOCATED, id="evt_raw")).encode().replace(b"100234", b"NaN"),
            "The body is not valid JSON.",
        ),
    ],
    ids=["deep-array", "deep-object", "huge-int", "1e999", "NaN"],
)
def test_400_for_bodies_that_would_crash_the_json_parser(
    connector: Connector, body: bytes, message: str
) -> None:
    response = post_raw(connector, body, signed_raw(body))
    assert response.status_code == 400
    assert_error_shape(response.get_json(), 400)
    assert response.get_json()["message"] == message
    assert list(response.get_json()["errors"]) == ["body"]
    assert stored(connector) == 0


def iso(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat()


def test_400_when_occurred_at_is_more_than_a_day_ahead(connector: Connector) -> None:
    ahead = dict(ALLOCATED, id="evt_ahead", occurred_at=iso(NOW + 86400 + 1))
    response = connector.post(ahead)
    assert response.status_code == 400
    assert_error_shape(response.get_json(), 400)
    assert response.get_json()["errors"] == {
        "occurred_at": ["Must not be more than 86400 seconds in the future."]
    }
    assert stored(connector) == 0
    assert connector.post(dict(ahead, occurred_at=iso(NOW + 86400))).status_code == 202


def test_the_future_tolerance_comes_from_the_config(tmp_path: Path) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9/api")
    document["service"] = {"future_tolerance_seconds": 60}
    running = start_connector(parse_config(document, base_dir=tmp_path, environ={}))
    try:
        assert running.post(dict(ALLOCATED, occurred_at=iso(NOW + 61))).status_code == 400
        assert running.post(dict(ALLOCATED, occurred_at=iso(NOW + 60))).status_code == 202
    finally:
        running.close()


def test_400_for_a_session_with_thousands_of_children(connector: Connector) -> None:
    booked = event(
        "evt_many",
        "supervision.booked",
        "2026-11-02T09:30:00Z",
        booking_id=77,
        kind="group_supervision",
        worker_id=5521,
        supervisor_id=4410,
        team_id=310,
        person_ids=list(range(100_000, 107_000)),
        starts_at="2026-11-10T10:00:00Z",
        duration_minutes=90,
        status="booked",
    )
    response = connector.post(booked)
    assert response.status_code == 400
    assert list(response.get_json()["errors"]) == ["data.person_ids"]
    assert stored(connector) == 0


@pytest.mark.parametrize("webhook_id", ["evt 1", "evt_\u00e9", "e" * 201])
def test_400_when_the_webhook_id_is_not_a_token(connector: Connector, webhook_id: str) -> None:
    body, headers = signed(dict(ALLOCATED, id=webhook_id))
    response = post_raw(connector, body, headers)
    assert response.status_code == 400
    assert_error_shape(response.get_json(), 400)
    assert list(response.get_json()["errors"]) == ["webhook-id"]
    assert stored(connector) == 0


def test_400_names_each_bad_field(connector: Connector) -> None:
    bad = event(
        "evt_bad",
        "case.allocated",
        "not a date",
        person_id="abc",
        relationship="BOSS",
        start_date="2026-11-02",
    )
    response = connector.post(bad)
    assert response.status_code == 400
    body = response.get_json()
    assert_error_shape(body, 400)
    assert {"occurred_at", "data.person_id", "data.worker_id", "data.relationship"} <= set(body["errors"])
    assert stored(connector) == 0


def test_400_unknown_type(connector: Connector) -> None:
    response = connector.post(event("evt_u", "case.exploded", "2026-11-02T09:30:00Z"))
    assert response.status_code == 400
    assert "type" in response.get_json()["errors"]
    assert stored(connector) == 0


def test_400_when_the_body_id_is_not_the_webhook_id(connector: Connector) -> None:
    body, headers = signed(ALLOCATED)
    from webhooks.signature import secret_key, sign

    headers["webhook-id"] = "evt_other"
    headers["webhook-signature"] = sign(secret_key(SECRET), "evt_other", str(NOW), body)
    response = post_raw(connector, body, headers)
    assert response.status_code == 400
    assert "id" in response.get_json()["errors"]
    assert stored(connector) == 0


@pytest.mark.parametrize(
    "change",
    [
        {"webhook-signature": None},
        {"webhook-id": None},
        {"webhook-timestamp": None},
        {"webhook-signature": "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
        {"webhook-signature": "v1,%%%not-base64"},
        {"webhook-signature": "garbage without comma"},
        {"webhook-signature": "v1"},
        {"webhook-timestamp": str(NOW - 301)},
        {"webhook-timestamp": str(NOW + 301)},
        {"webhook-timestamp": "yesterday"},
        {"webhook-timestamp": "\u00b2"},  # a superscript two: str.isdigit() is true, int() raises
    ],
)
def test_401_for_missing_bad_or_malformed_signatures(
    connector: Connector, change: dict[str, str | None]
) -> None:
    body, headers = signed(ALLOCATED)
    for name, value in change.items():
        if value is None:
            headers.pop(name)
        else:
            headers[name] = value
    response = post_raw(connector, body, headers)
    assert response.status_code == 401
    assert_error_shape(response.get_json(), 401)
    assert response.get_json()["errors"] == {}
    assert stored(connector) == 0


def test_401_when_signed_with_a_secret_not_configured(connector: Connector) -> None:
    body, headers = signed(ALLOCATED, secret="whsec_" + "c29tZW9uZSBlbHNl")
    assert post_raw(connector, body, headers).status_code == 401


@pytest.mark.parametrize(
    "path", ["/webhooks/nowhere/mosaic", "/webhooks/lincolnshire/childview", "/webhooks/lincolnshire/x"]
)
def test_404_unknown_tenant_or_platform(connector: Connector, path: str) -> None:
    body, headers = signed(ALLOCATED)
    response = post_raw(connector, body, headers, path)
    assert response.status_code == 404
    assert_error_shape(response.get_json(), 404)
    assert stored(connector) == 0


def test_413_body_over_64_kib(connector: Connector) -> None:
    big = dict(ALLOCATED, padding="x" * (64 * 1024))
    body, headers = signed(big)
    response = post_raw(connector, body, headers)
    assert response.status_code == 413
    assert_error_shape(response.get_json(), 413)
    assert stored(connector) == 0


def test_a_body_of_exactly_64_kib_is_read(connector: Connector) -> None:
    base = json.dumps(dict(ALLOCATED, padding="")).encode()
    padded = dict(ALLOCATED, padding="x" * (64 * 1024 - len(base)))
    body, headers = signed(padded)
    assert len(body) == 64 * 1024
    assert post_raw(connector, body, headers).status_code == 202


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_415_not_json(connector: Connector, content_type: str | None) -> None:
    body, headers = signed(ALLOCATED)
    headers.pop("Content-Type")
    if content_type:
        headers["Content-Type"] = content_type
    response = post_raw(connector, body, headers)
    assert response.status_code == 415
    assert_error_shape(response.get_json(), 415)
    assert stored(connector) == 0


def test_other_routes_use_the_same_error_shape(connector: Connector) -> None:
    response = connector.client.get("/no/such/path")
    assert response.status_code == 404
    assert_error_shape(response.get_json(), 404)
    response = connector.client.get("/webhooks/lincolnshire/mosaic")
    assert response.status_code == 405
    assert_error_shape(response.get_json(), 405)
    assert response.mimetype == "application/json"


def test_405_says_which_methods_are_allowed(connector: Connector) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = connector.client.open("/webhooks/lincolnshire/mosaic", method=method)
        assert response.status_code == 405
        assert_error_shape(response.get_json(), 405)
        assert set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}


def test_health_ready_and_status(connector: Connector) -> None:
    assert connector.client.get("/healthz").status_code == 200
    assert connector.client.get("/readyz").status_code == 200
    status = connector.client.get("/status").get_json()
    assert {"inbox_pending", "outbox_pending", "dead_letters"} <= set(status)


def webhook_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "webhooks"]


def test_an_accepted_webhook_is_logged_once_at_info(
    connector: Connector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="webhooks")
    connector.post(ALLOCATED)
    connector.post(ALLOCATED)
    accepted, duplicate = webhook_lines(caplog)
    assert accepted.levelno == duplicate.levelno == logging.INFO
    assert accepted.getMessage() == (
        "webhook answered 202 tenant=lincolnshire platform=mosaic id=evt_2f0c9a1e6b7d4c55 status=accepted"
    )
    assert duplicate.getMessage().endswith("status=duplicate")


def test_a_rejected_event_is_logged_with_its_fields_but_not_their_values(
    connector: Connector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="webhooks")
    bad = dict(ALLOCATED, data={**ALLOCATED["data"], "start_date": "Jane Doe", "relationship": "Smith"})
    assert connector.post(bad).status_code == 400
    [line] = webhook_lines(caplog)
    assert line.levelno == logging.WARNING
    assert line.getMessage() == (
        "webhook answered 400 tenant=lincolnshire platform=mosaic id=evt_2f0c9a1e6b7d4c55"
        " reason='The event does not match its schema.' fields=data.relationship,data.start_date"
    )
    assert "Jane" not in caplog.text and "Smith" not in caplog.text


def test_a_rejection_logs_no_unsafe_id_tenant_or_value(
    connector: Connector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="webhooks")
    body, headers = signed(dict(ALLOCATED, id="Jane Doe"))
    post_raw(connector, body, headers)
    post_raw(connector, body, headers, "/webhooks/Jane%20Doe/mosaic")
    post_raw(connector, b'{"x": "Jane"', signed_raw(b'{"x": "Jane"'))
    first, second, third = webhook_lines(caplog)
    assert "fields=webhook-id" in first.getMessage()
    assert second.getMessage().startswith("webhook answered 404 tenant=? platform=mosaic")
    assert "fields=body" in third.getMessage()
    assert "Jane" not in caplog.text


@pytest.mark.parametrize(
    "change",
    [
        {"data": [1, 2]},
        {"data": "x"},
        {"data": None},
        {"type": ["case.allocated"]},
        {"type": None},
        {"type": 7},
        {"occurred_at": 1_796_126_400},
        {"id": ["evt_2f0c9a1e6b7d4c55"]},
    ],
)
def test_400_for_valid_json_of_the_wrong_shape(connector: Connector, change: dict[str, Any]) -> None:
    body, headers = signed(dict(ALLOCATED, **change))
    headers["webhook-id"] = str(ALLOCATED["id"])
    from webhooks.signature import secret_key, sign

    headers["webhook-signature"] = sign(secret_key(SECRET), str(ALLOCATED["id"]), str(NOW), body)
    response = post_raw(connector, body, headers)
    assert response.status_code == 400
    assert_error_shape(response.get_json(), 400)
    assert stored(connector) == 0


@pytest.mark.parametrize("length", ["-1", "abc", "", "9" * 30, "70000"])
def test_a_content_length_that_lies_or_is_not_a_number_is_a_4xx(connector: Connector, length: str) -> None:
    body, headers = signed(ALLOCATED)
    response = connector.client.post(
        "/webhooks/lincolnshire/mosaic",
        headers=headers,
        environ_overrides={"CONTENT_LENGTH": length, "wsgi.input": io.BytesIO(body)},
    )
    # An unreadable length reads as no body (so no valid signature); a huge one is refused before reading.
    assert response.status_code in (401, 413)
    assert_error_shape(response.get_json(), response.status_code)
    assert stored(connector) == 0


def test_a_chunked_body_is_read_whole(connector: Connector) -> None:
    # waitress de-chunks and marks the input terminated; Werkzeug then reads to its end, up to our limit.
    body, headers = signed(ALLOCATED)
    response = connector.client.post(
        "/webhooks/lincolnshire/mosaic",
        headers={**headers, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True},
    )
    assert response.status_code == 202
    big = io.BytesIO(b"[" * (70 * 1024))
    response = connector.client.post(
        "/webhooks/lincolnshire/mosaic",
        headers={**headers, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input": big, "wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert stored(connector) == 1


class _Disconnecting(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise ClientDisconnected()


def test_a_sender_gone_while_sending_is_a_400_in_the_one_shape_and_logged(
    connector: Connector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="webhooks")
    body, headers = signed(ALLOCATED)
    response = connector.client.post(
        "/webhooks/lincolnshire/mosaic",
        headers=headers,
        environ_overrides={"CONTENT_LENGTH": str(len(body)), "wsgi.input": _Disconnecting()},
    )
    assert response.status_code == 400
    assert_error_shape(response.get_json(), 400)
    [line] = webhook_lines(caplog)
    assert line.getMessage().startswith("webhook answered 400 tenant=lincolnshire")
    assert stored(connector) == 0
