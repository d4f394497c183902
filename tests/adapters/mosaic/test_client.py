"""Mosaic answers classified: 2xx, 409 returned; 429, 5xx, timeouts retried without waiting; others fatal."""

from __future__ import annotations

import pytest
import requests
from pytest_httpserver import HTTPServer
from tests.adapters.mosaic.support import MAX_ATTEMPTS, MAX_WAIT, Harness, LosesAnswers
from werkzeug import Response

from adapters.base import FatalError, RetryableError

PATH = "/api/workflow-steps/880012"


def step(server: HTTPServer) -> None:
    server.expect_request(PATH, method="GET").respond_with_json({"workflow_step_id": 880012})


def test_a_2xx_is_returned_with_its_body(mosaic: Harness) -> None:
    step(mosaic.server)
    answer = mosaic.client().call("GET", "/workflow-steps/880012")

    assert (answer.status, answer.body) == (200, {"workflow_step_id": 880012})
    assert mosaic.sleeps == []


def test_a_409_is_returned_not_raised(mosaic: Harness) -> None:
    body = {"workflow_step_id": 880012, "message": "external_reference already exists."}
    mosaic.server.expect_request("/api/workflow-steps", method="POST").respond_with_json(body, status=409)

    answer = mosaic.client().call("POST", "/workflow-steps", json={"external_reference": "r"})

    assert (answer.status, answer.field("workflow_step_id")) == (409, 880012)


def test_429_waits_as_long_as_retry_after_says(mosaic: Harness) -> None:
    mosaic.server.expect_oneshot_request(PATH).respond_with_json(
        {"message": "slow down"}, 429, {"Retry-After": "7"}
    )
    step(mosaic.server)

    answer = mosaic.client().call("GET", "/workflow-steps/880012")

    assert answer.status == 200
    assert len(mosaic.calls()) == 2
    assert mosaic.sleeps == [7.0]


def test_retry_after_is_capped(mosaic: Harness) -> None:
    mosaic.server.expect_oneshot_request(PATH).respond_with_json({}, 429, {"Retry-After": "3600"})
    step(mosaic.server)

    mosaic.client().call("GET", "/workflow-steps/880012")

    assert mosaic.sleeps == [MAX_WAIT]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_trouble_is_retried_with_exponential_waits(mosaic: Harness, status: int) -> None:
    for _ in range(MAX_ATTEMPTS - 1):
        mosaic.server.expect_oneshot_request(PATH).respond_with_json({"message": "down"}, status)
    step(mosaic.server)

    answer = mosaic.client().call("GET", "/workflow-steps/880012")

    assert answer.status == 200
    assert len(mosaic.calls()) == MAX_ATTEMPTS
    assert mosaic.sleeps == [0.5, 1.0, 2.0]


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"), [(503, {}, None), (429, {"Retry-After": "5"}, 5.0), (502, {}, None)]
)
def test_gives_up_after_max_attempts(
    mosaic: Harness, status: int, headers: dict[str, str], retry_after: float | None
) -> None:
    mosaic.server.expect_request(PATH).respond_with_json({"message": "down"}, status, headers)

    with pytest.raises(RetryableError) as caught:
        mosaic.client().call("GET", "/workflow-steps/880012")

    assert len(mosaic.calls()) == MAX_ATTEMPTS
    assert len(mosaic.sleeps) == MAX_ATTEMPTS - 1
    assert caught.value.status == status
    assert caught.value.retry_after == retry_after
    assert f"Mosaic answered {status} to GET /workflow-steps/880012: down" == caught.value.reason


@pytest.mark.parametrize("error", [requests.Timeout, requests.ConnectionError])
def test_timeouts_and_dropped_connections_are_retried(mosaic: Harness, error: type[Exception]) -> None:
    step(mosaic.server)
    session = LosesAnswers("GET", PATH, times=2, error=error)

    answer = mosaic.client(session).call("GET", "/workflow-steps/880012")

    assert answer.status == 200
    assert len(mosaic.calls()) == 3
    assert mosaic.sleeps == [0.5, 1.0]


def test_a_timeout_on_every_attempt_is_retryable(mosaic: Harness) -> None:
    session = LosesAnswers("GET", PATH, times=99, before=True)

    with pytest.raises(RetryableError, match="did not answer GET /workflow-steps/880012 within 2 s"):
        mosaic.client(session, max_attempts=3).call("GET", "/workflow-steps/880012")

    assert session.times == 99 - 3
    assert mosaic.sleeps == [0.5, 1.0]


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_other_4xx_are_fatal_at_once(mosaic: Harness, status: int) -> None:
    body = {"message": "Validation failed.", "errors": {"assignee_id": ["Does not exist."]}}
    mosaic.server.expect_request(PATH).respond_with_json(body, status)

    with pytest.raises(FatalError) as caught:
        mosaic.client().call("GET", "/workflow-steps/880012")

    assert len(mosaic.calls()) == 1
    assert mosaic.sleeps == []
    assert caught.value.status == status
    assert caught.value.reason == (
        f"Mosaic answered {status} to GET /workflow-steps/880012: "
        "Validation failed. (assignee_id: Does not exist.)"
    )


def test_a_fatal_answer_without_json_still_names_its_status(mosaic: Harness) -> None:
    mosaic.server.expect_request(PATH).respond_with_response(Response("<html>nope</html>", 403))

    with pytest.raises(FatalError, match=r"^Mosaic answered 403 to GET /workflow-steps/880012$"):
        mosaic.client().call("GET", "/workflow-steps/880012")


def test_once_never_retries(mosaic: Harness) -> None:
    mosaic.server.expect_request(PATH).respond_with_json({}, 503)

    with pytest.raises(RetryableError):
        mosaic.client().once("GET", "/workflow-steps/880012")

    assert len(mosaic.calls()) == 1
    assert mosaic.sleeps == []


def test_the_bearer_token_and_timeout_are_sent(mosaic: Harness) -> None:
    step(mosaic.server)
    mosaic.client().call("GET", "/workflow-steps/880012")
    request, _ = mosaic.server.log[0]
    assert request.headers["Authorization"] == "Bearer test-token"
