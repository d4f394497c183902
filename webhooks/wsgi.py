"""The webhook route as a plain WSGI callable in front of the Flask app: the same checks, less per request.

Flask's request context, URL routing, request and response objects cost about as much CPU per webhook as
verifying, parsing and validating it; the webhook route needs none of them. Only `POST /webhooks/{tenant}/
{platform}` is answered here; every other request, other methods on that path included (Flask's 405 with its
Allow header, OPTIONS), goes on to the app. Body reading and Content-Length/Content-Type parsing are Werkzeug's,
as Flask's would be, so a chunked or short body is read, or refused, exactly as through Flask.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol

from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_options_header
from werkzeug.wsgi import get_content_length, get_input_stream

from webhooks.edge import WEBHOOK_HEADERS, Answer, Edge, log_answer, refusal
from webhooks.errors import UNEXPECTED

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# The Flask rule's `<tenant>` and `<platform>`: one non-empty path segment each.
WEBHOOK_PATH = re.compile(r"/webhooks/([^/]+)/([^/]+)")
# The environ keys of the webhook-* headers, read as Werkzeug's request.headers would.
_HEADER_KEYS = tuple((name, "HTTP_" + name.upper().replace("-", "_")) for name in WEBHOOK_HEADERS)

log = logging.getLogger("webhooks")


class WebhookHooks(Protocol):
    """What the connector does around each webhook it answers here (metrics, a request id, a log line): the
    edge itself imports nothing of the connector's, so it is told."""

    def begin(self, tenant: str) -> Any:
        """Called before the webhook is read; what it returns is handed to `end`."""
        ...

    def end(
        self, began: Any, tenant: str, platform: str, webhook_id: str, status: int
    ) -> list[tuple[str, str]]:
        """Called once the answer is decided; the headers returned are added to it."""
        ...


class WebhookMiddleware:
    """`app.wsgi_app = WebhookMiddleware(app.wsgi_app, edge)`: webhooks here, the rest to the app."""

    def __init__(self, app: WSGIApplication, edge: Edge, hooks: WebhookHooks | None = None) -> None:
        self.app = app
        self.edge = edge
        self.hooks = hooks

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        match = WEBHOOK_PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        tenant, platform = (_decoded(part) for part in match.groups())
        headers = {name: environ.get(key, "") for name, key in _HEADER_KEYS}
        began = self.hooks.begin(tenant) if self.hooks is not None else None
        answer = self._answer(environ, tenant, platform, headers)
        log_answer(tenant, platform, headers["webhook-id"], answer)
        extra: list[tuple[str, str]] = []
        if self.hooks is not None:
            extra = self.hooks.end(began, tenant, platform, headers["webhook-id"], answer.status)
        # Flask's JSON: compact, keys sorted, a newline at the end.
        body = json.dumps(answer.body, separators=(",", ":"), sort_keys=True).encode() + b"\n"
        start_response(
            f"{answer.status} {HTTPStatus(answer.status).phrase}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *extra],
        )
        return [body]

    def _answer(
        self, environ: WSGIEnvironment, tenant: str, platform: str, headers: dict[str, str]
    ) -> Answer:
        read: Callable[[int], bytes] = get_input_stream(environ, max_content_length=None).read
        try:
            return self.edge.answer(
                tenant,
                platform,
                get_content_length(environ),
                parse_options_header(environ.get("CONTENT_TYPE", ""))[0].lower(),
                read,
                headers,
            )
        except HTTPException as exc:
            # Werkzeug's own refusals while reading (a body shorter than its Content-Length), in our shape.
            return refusal(exc.code or 400, exc.description or exc.name)
        except Exception:
            # What Flask's error handler would do: log it, answer 500 in the one shape (the sender retries).
            log.exception("unexpected error")
            return refusal(500, UNEXPECTED)


def _decoded(segment: str) -> str:
    """A path segment as Werkzeug decodes PATH_INFO: WSGI's latin-1 text back to bytes, read as UTF-8."""
    return segment.encode("latin-1").decode("utf-8", "replace")
