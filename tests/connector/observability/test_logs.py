"""Logs: JSON lines with the documented fields, and never a secret, a token or a payload's free text."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from tests.support.fake_mosaic import FakeMosaic
from tests.support.harness import SECRET, config_document, event, make_config, start_connector

from connector.config import ConfigError, parse_config
from connector.observability.logs import configure_logging
from connector.sandbox.run import run_sandbox
from connector.sandbox.samples import SANDBOX_KEY, SANDBOX_SECRET, SANDBOX_TOKEN, sample_months


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("json", "INFO", stream=buffer)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(level)


def _lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_whole_sandbox_run_logs_json_lines_without_secrets_or_free_text(
    tmp_path: Path, json_log: io.StringIO
) -> None:
    run_sandbox(tmp_path, 0, lambda _: None)
    text = json_log.getvalue()
    lines = _lines(json_log)  # every line parses as JSON
    assert lines
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line)
    requests = [line for line in lines if line["logger"] == "connector.http"]
    webhooks = [line for line in requests if "event_id" in line]
    events = [body for month in sample_months() for body in month["events"]]  # Mosaic's and Childview's
    assert len(webhooks) == 2 * len(events)
    assert all(line["tenant"] == "lincolnshire" and line["outcome"] in (200, 202) for line in webhooks)
    assert all(isinstance(line["duration_ms"], float) and line["request_id"] for line in webhooks)
    assert len({line["request_id"] for line in webhooks}) == len(webhooks)
    secrets = [SANDBOX_TOKEN, SANDBOX_KEY, SANDBOX_SECRET, SANDBOX_SECRET.removeprefix("whsec_")]
    free_text = [action["text"] for body in events for action in body["data"].get("actions", [])]
    assert free_text
    for forbidden in secrets + free_text:
        assert forbidden not in text, forbidden


def test_each_request_gets_an_id_it_is_answered_with(
    tmp_path: Path, httpserver: HTTPServer, json_log: io.StringIO
) -> None:
    mosaic = FakeMosaic(httpserver).install()
    connector = start_connector(make_config(tmp_path, mosaic.base_url))
    try:
        bad = event("evt_bad", "case.allocated", "2026-11-02T09:30:00Z", person_id="Alice Example")
        response = connector.post(bad)
        health = connector.client.get("/healthz")
    finally:
        connector.close()
    assert response.status_code == 400
    request_id = response.headers["X-Request-Id"]
    assert health.headers["X-Request-Id"] != request_id
    lines = [line for line in _lines(json_log) if line.get("request_id") == request_id]
    # The edge's own line about the refusal carries the request's id too.
    assert {line["logger"] for line in lines} == {"webhooks", "connector.http"}
    (line,) = [line for line in lines if line["logger"] == "connector.http"]
    assert line["event_id"] == "evt_bad" and line["outcome"] == 400 and line["tenant"] == "lincolnshire"
    assert line["message"] == "POST /webhooks/<tenant>/<platform> -> 400"
    assert "Alice" not in json_log.getvalue() and SECRET not in json_log.getvalue()


def test_text_lines_carry_the_same_fields(tmp_path: Path, httpserver: HTTPServer) -> None:
    buffer = io.StringIO()
    handler = configure_logging("text", "INFO", stream=buffer)
    try:
        logging.getLogger("connector.test").info("hello", extra={"tenant": "lincolnshire", "outcome": "ok"})
    finally:
        logging.getLogger().removeHandler(handler)
    assert buffer.getvalue().rstrip().endswith("INFO connector.test: hello [tenant=lincolnshire outcome=ok]")


def test_the_logging_table_is_checked_field_by_field(tmp_path: Path) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9/api")
    document["logging"] = {"format": "xml", "colour": True}
    with pytest.raises(ConfigError) as caught:
        parse_config(document, base_dir=tmp_path, environ={})
    assert set(caught.value.errors) == {"logging.format", "logging.colour"}
    document["logging"] = {"format": "json", "level": "WARNING"}
    config = parse_config(document, base_dir=tmp_path, environ={})
    assert (config.logging.format, config.logging.level) == ("json", "WARNING")
