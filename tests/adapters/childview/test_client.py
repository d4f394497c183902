"""Childview's answers classified by the shared client: its API key sent, its error shape read."""

from __future__ import annotations

import pytest
import requests
from pytest_httpserver import HTTPServer

from adapters.base import FatalError, RetryableError
from adapters.childview.client import ChildviewClient


def client(server: HTTPServer, sleeps: list[float]) -> ChildviewClient:
    return ChildviewClient(
        server.url_for("/api"), "k3y", requests.Session(), max_attempts=3, sleep=sleeps.append
    )


def test_the_api_key_and_idempotency_key_are_sent(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/api/staff/CM-1/prompts", method="POST", headers={"X-Api-Key": "k3y", "Idempotency-Key": "ref"}
    ).respond_with_json({"prompt_id": "PR-1"}, status=201)
    answer = client(httpserver, []).call(
        "POST", "/staff/CM-1/prompts", json={}, headers={"Idempotency-Key": "ref"}
    )
    assert answer.field("prompt_id") == "PR-1"


def test_a_fatal_answer_carries_childviews_code_and_detail(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/prompts/PR-1").respond_with_json(
        {"error": {"code": "VALIDATION_FAILED", "detail": "due_date: a date"}}, status=400
    )
    with pytest.raises(FatalError) as caught:
        client(httpserver, []).call("PATCH", "/prompts/PR-1", json={})
    assert (
        caught.value.reason
        == "Childview answered 400 to PATCH /prompts/PR-1: VALIDATION_FAILED: due_date: a date"
    )
    assert len(httpserver.log) == 1


def test_maintenance_and_rate_limits_are_retried_with_retry_after(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/api/prompts/PR-1").respond_with_json(
        {"error": {"code": "RATE_LIMITED", "detail": ""}}, 429, {"Retry-After": "7"}
    )
    httpserver.expect_oneshot_request("/api/prompts/PR-1").respond_with_json(
        {"error": {"code": "MAINTENANCE"}}, 503
    )
    httpserver.expect_request("/api/prompts/PR-1").respond_with_json({"prompt_id": "PR-1"})
    sleeps: list[float] = []
    assert client(httpserver, sleeps).call("GET", "/prompts/PR-1").status == 200
    assert len(httpserver.log) == 3 and sleeps[0] == 7.0 and len(sleeps) == 2


def test_maintenance_that_does_not_end_is_retryable_after_max_attempts(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/prompts/PR-1").respond_with_json({"error": {"code": "MAINTENANCE"}}, 503)
    with pytest.raises(RetryableError, match=r"Childview answered 503 .*MAINTENANCE"):
        client(httpserver, []).call("GET", "/prompts/PR-1")
    assert len(httpserver.log) == 3
