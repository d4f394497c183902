"""Test helpers: a Mosaic client and writer on pytest-httpserver, with waits recorded instead of slept."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import requests
from pytest_httpserver import HTTPServer
from tests.support.transport import InterceptedSession, Send

from adapters.mosaic.client import MosaicClient
from adapters.mosaic.settings import DEFAULT_QUESTION_CODES, MosaicSettings
from adapters.mosaic.writer import MosaicWriter

TOKEN = "test-token"
MAX_ATTEMPTS = 4
MAX_WAIT = 30.0


class LosesAnswers(InterceptedSession):
    """Lets the next `times` matching requests reach the server, then raises `error` as if the answer was
    lost: the create happened on Mosaic but the connector never heard so. With `before=True` the request is
    dropped before it is sent instead."""

    def __init__(
        self,
        method: str,
        path: str,
        times: int = 1,
        error: type[Exception] = requests.Timeout,
        before: bool = False,
    ) -> None:
        super().__init__()
        self.method, self.path, self.times, self.error, self.before = method, path, times, error, before

    def intercept(self, request: requests.PreparedRequest, send: Send) -> requests.Response:
        path = urlparse(str(request.url)).path
        hit = request.method == self.method and path.endswith(self.path) and self.times > 0
        if hit:
            self.times -= 1
            if self.before:
                raise self.error("simulated: never sent")
        response = send()
        if hit:
            raise self.error("simulated: the answer was lost")
        return response


class Harness:
    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.sleeps: list[float] = []

    def client(
        self, session: requests.Session | None = None, max_attempts: int = MAX_ATTEMPTS
    ) -> MosaicClient:
        return MosaicClient(
            self.server.url_for("/api"),
            TOKEN,
            session or requests.Session(),
            timeout=2.0,
            max_attempts=max_attempts,
            max_wait=MAX_WAIT,
            sleep=self.sleeps.append,
        )

    def settings(self, **changes: Any) -> MosaicSettings:
        values: dict[str, Any] = {
            "base_url": self.server.url_for("/api"),
            "api_token": TOKEN,
            "webhook_secrets": ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",),
            "step_types": {"case_supervision": 9101, "personal_supervision": 9102, "team_brief": 9106},
            "form_types": {"case_supervision": 7701},
            "question_codes": dict(DEFAULT_QUESTION_CODES),
            "max_attempts": MAX_ATTEMPTS,
            "max_retry_wait_seconds": MAX_WAIT,
        }
        values.update(changes)
        return MosaicSettings(**values)

    def writer(self, session: requests.Session | None = None, **settings: Any) -> MosaicWriter:
        return MosaicWriter(self.client(session), self.settings(**settings), "linc")

    def calls(self, method: str | None = None, path: str | None = None) -> list[str]:
        """'METHOD /path?query' of every request the server saw, optionally filtered."""
        seen = []
        for request, _ in self.server.log:
            if (method is None or request.method == method) and (path is None or request.path == path):
                query = request.query_string.decode()
                seen.append(f"{request.method} {request.path}" + (f"?{query}" if query else ""))
        return seen

    def bodies(self, method: str, path: str) -> list[Any]:
        return [r.get_json() for r, _ in self.server.log if r.method == method and r.path == path]
