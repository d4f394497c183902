"""Logging: one JSON object a line (`logging.format = "json"`) or a human line, with the same fields.

Fields: time, level, logger, message, and where known request_id, tenant, event_id, outcome and duration_ms.
Request-scoped fields live in context variables, so a line logged anywhere while a request is handled carries its
request id. What is logged is ids, codes and outcomes: never a name, a note, a body or a header's secret.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from flask import Flask, Response, g, request

FIELDS = ("request_id", "tenant", "event_id", "outcome", "duration_ms")
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_tenant: ContextVar[str | None] = ContextVar("tenant", default=None)
REQUEST_ID_HEADER = "X-Request-Id"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    found: dict[str, Any] = {}
    context = {"request_id": _request_id.get(), "tenant": _tenant.get()}
    for name in FIELDS:
        value = getattr(record, name, None)
        if value is None:
            value = context.get(name)
        if value is not None:
            found[name] = value
    return found


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        if not extra:
            return text
        first, newline, rest = text.partition("\n")
        return f"{first} [{extra}]{newline}{rest}"


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Ours (so a second configure replaces it and nothing else), writing to the stderr of the moment."""

    def __init__(self, stream: IO[str] | None) -> None:
        super().__init__(stream)
        self._fixed = stream

    @property
    def stream(self) -> IO[str]:
        return self._fixed if self._fixed is not None else sys.stderr

    @stream.setter
    def stream(self, value: IO[str] | None) -> None:
        pass


def configure_logging(
    fmt: str = "text", level: str | None = None, stream: IO[str] | None = None
) -> logging.Handler:
    """One handler writing `fmt` lines (replacing one an earlier call made); `level` None keeps the level."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    handler = _Handler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    if level is not None:
        root.setLevel(getattr(logging, level.upper(), logging.INFO))
    return handler


def new_request_id() -> str:
    """128 random bits in hex, as uuid4().hex gives, at a tenth of its CPU (it runs for every webhook)."""
    return os.urandom(16).hex()


class WebhookRequests:
    """The same request id, log line and webhook count for webhooks answered in front of Flask
    (`webhooks.wsgi.WebhookMiddleware`) as Flask's hooks below give every other request."""

    def __init__(self, known_tenants: set[str], count: Callable[[str, str, int], None] | None = None) -> None:
        self.known_tenants = known_tenants
        self.count = count
        self.log = logging.getLogger("connector.http")

    def begin(self, tenant: str) -> tuple[float, str, Any]:
        request_id = new_request_id()
        # A name a sender made up is not echoed into the logs.
        tokens = (_request_id.set(request_id), _tenant.set(tenant if tenant in self.known_tenants else None))
        return time.monotonic(), request_id, tokens

    def end(
        self, began: tuple[float, str, Any], tenant: str, platform: str, webhook_id: str, status: int
    ) -> list[tuple[str, str]]:
        started, request_id, tokens = began
        try:
            if self.count is not None:
                self.count(tenant, platform, status)
            extra: dict[str, Any] = {
                "outcome": status,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            }
            # Only an id-shaped webhook id is logged: the header is the sender's text.
            if 0 < len(webhook_id) <= 200 and webhook_id.isprintable() and " " not in webhook_id:
                extra["event_id"] = webhook_id
            self.log.info("POST /webhooks/<tenant>/<platform> -> %d", status, extra=extra)
        finally:
            _request_id.reset(tokens[0])
            _tenant.reset(tokens[1])
        return [(REQUEST_ID_HEADER, request_id)]


def install_request_logging(app: Flask, known_tenants: set[str]) -> None:
    """A request id per HTTP request (answered as X-Request-Id) and one line per request with its outcome."""
    log = logging.getLogger("connector.http")

    @app.before_request
    def _start() -> None:
        g.started = time.monotonic()
        g.request_id = new_request_id()
        g.tokens = (_request_id.set(g.request_id), _tenant.set(None))
        tenant = (request.view_args or {}).get("tenant")
        if tenant in known_tenants:  # a name a sender made up is not echoed into the logs
            _tenant.set(tenant)

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id is None:
            return response
        response.headers[REQUEST_ID_HEADER] = request_id
        extra: dict[str, Any] = {
            "outcome": response.status_code,
            "duration_ms": round((time.monotonic() - g.started) * 1000, 1),
        }
        if request.blueprint == "webhooks":
            event_id = request.headers.get("webhook-id", "")
            # Only an id-shaped webhook id is logged: the header is the sender's text.
            if 0 < len(event_id) <= 200 and event_id.isprintable() and " " not in event_id:
                extra["event_id"] = event_id
        # The route's pattern, not the URL: query strings may carry filters about a child.
        route = request.url_rule.rule if request.url_rule is not None else "(no route)"
        log.info("%s %s -> %d", request.method, route, response.status_code, extra=extra)
        return response

    @app.teardown_request
    def _clear(exc: BaseException | None) -> None:
        tokens = g.pop("tokens", None)
        if tokens is not None:
            _request_id.reset(tokens[0])
            _tenant.reset(tokens[1])
