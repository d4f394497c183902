"""The shared HTTP client cannot be wedged: hangs, trickles, garbage and cut-off bodies are retryable, in time."""

from __future__ import annotations

import time

import pytest
import requests
from pytest_httpserver import HTTPServer
from tests.support.bad_servers import BadServer, elapsed

from adapters import http_client
from adapters.base import RetryableError
from adapters.http_client import HttpClient

TIMEOUT = 0.3


def client(base_url: str, max_attempts: int = 1, sleeps: list[float] | None = None) -> HttpClient:
    return HttpClient(
        "Mosaic",
        base_url,
        {},
        requests.Session(),
        timeout=TIMEOUT,
        max_attempts=max_attempts,
        sleep=(sleeps if sleeps is not None else []).append,
    )


def test_a_platform_that_accepts_and_never_answers_is_timed_out_as_retryable() -> None:
    with BadServer("silent") as server:
        start = time.monotonic()
        with pytest.raises(RetryableError, match=r"did not answer POST /workflow-steps within 0\.3 s"):
            client(server.base_url).once("POST", "/workflow-steps", json={})
        assert elapsed(start) < TIMEOUT * 3


def test_an_answer_trickled_a_byte_at_a_time_is_cut_off_at_the_timeout() -> None:
    # Each byte comes well within the read timeout, so only a deadline for the whole answer stops it (the
    # whole body would take over ten seconds).
    with BadServer("trickle", every=0.05) as server:
        start = time.monotonic()
        with pytest.raises(RetryableError, match="did not answer"):
            client(server.base_url).once("POST", "/workflow-steps", json={})
        assert elapsed(start) < TIMEOUT * 3


def test_a_body_cut_off_before_its_length_is_a_dropped_connection() -> None:
    with BadServer("truncated") as server, pytest.raises(RetryableError, match="could not reach Mosaic"):
        client(server.base_url).once("POST", "/workflow-steps", json={})


@pytest.mark.parametrize(
    "body", ["<html><body>502 Bad Gateway</body></html>", '{"workflow_step_id": 88', "\x00\x01garbage"]
)
def test_a_2xx_whose_body_is_not_json_is_retried_like_a_5xx(httpserver: HTTPServer, body: str) -> None:
    httpserver.expect_oneshot_request("/api/workflow-steps/1").respond_with_data(
        body, 200, content_type="text/html"
    )
    httpserver.expect_oneshot_request("/api/workflow-steps/1").respond_with_json({"workflow_step_id": 1})
    sleeps: list[float] = []

    answer = client(httpserver.url_for("/api"), max_attempts=2, sleeps=sleeps).call(
        "GET", "/workflow-steps/1"
    )

    assert answer.body == {"workflow_step_id": 1}
    assert len(httpserver.log) == 2 and sleeps == [0.5]


def test_a_garbled_answer_names_its_status_and_not_its_body(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/workflow-steps").respond_with_data("<html>child 100234</html>", 201)
    with pytest.raises(RetryableError) as caught:
        client(httpserver.url_for("/api")).once("POST", "/workflow-steps", json={})
    assert caught.value.reason == "Mosaic answered 201 to POST /workflow-steps with a body that is not JSON"


def test_an_empty_2xx_is_an_answer(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/notifications/1", method="DELETE").respond_with_data("", 204)
    assert client(httpserver.url_for("/api")).once("DELETE", "/notifications/1").status == 204


def test_a_body_over_the_limit_is_not_read_to_its_end(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_client, "MAX_BODY", 1000)
    httpserver.expect_request("/api/workflow-steps").respond_with_json({"items": ["x" * 50] * 100})
    with pytest.raises(RetryableError, match="body over 1000 bytes"):
        client(httpserver.url_for("/api")).once("GET", "/workflow-steps")
