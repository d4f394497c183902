"""POST /webhooks/{tenant}/{platform}: limits, signature, JSON, the platform's schema, then durable intake.

`Edge.answer` holds the checks; `webhooks.wsgi` serves them without Flask, and the Flask route here with it.

The edge knows nothing of rules or of any platform's fields, and imports nothing of the connector's: a
`WebhookIntake` tells it, per tenant and platform, which keys sign the webhooks and how to parse the body (a
parser raises `Rejected` for a body that fails its schema), and stores what was accepted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from webhooks.errors import error_body
from webhooks.json_body import BodyError, load_json
from webhooks.signature import verify

MAX_BODY_BYTES = 64 * 1024
# How far ahead of the connector's clock an event may say it happened: a platform's clock may run a little
# fast, but an event dated next year would win over every real one (the latest occurred_at wins).
FUTURE_TOLERANCE_SECONDS = 24 * 60 * 60
# A webhook id is a token: printable ASCII, no spaces, so it can be stored, logged and shown as it is.
WEBHOOK_ID = re.compile(r"[!-~]{1,200}")
# What may be logged of a URL's tenant and platform, and of a field path: names, not text.
SAFE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
SAFE_FIELD = re.compile(r"[A-Za-z0-9_.\[\]-]{1,200}")

log = logging.getLogger("webhooks")


class Rejected(Exception):
    """A body that fails its platform's schema: a message, and each bad field's path with its messages."""

    def __init__(self, message: str, errors: Mapping[str, list[str]]) -> None:
        super().__init__(message)
        self.message = message
        self.errors = dict(errors)


class Parsed(Protocol):
    """What a route's parser gives back: at least when the change happened (the envelope every platform has)."""

    @property
    def occurred_at(self) -> datetime: ...


@dataclass(frozen=True)
class Route:
    keys: tuple[bytes, ...]
    parse: Callable[[Mapping[str, Any]], Parsed]


class WebhookIntake(Protocol):
    def route(self, tenant: str, platform: str) -> Route | None: ...

    def accept(self, tenant: str, platform: str, webhook_id: str, event: Any) -> bool:
        """Store what `parse` gave durably; False when this webhook id was accepted before."""
        ...


@dataclass(frozen=True)
class Answer:
    """What the edge answers a webhook: a status and its JSON body (the one error shape for a refusal)."""

    status: int
    body: dict[str, Any]


def refusal(status: int, message: str, errors: Mapping[str, list[str]] | None = None) -> Answer:
    return Answer(status, error_body(status, message, errors))


class Edge:
    """The checks every webhook passes, in order of cost, apart from any web framework.

    Both the plain WSGI path (`webhooks.wsgi`) and the Flask route call `answer`, so they answer alike.
    `clock` (Unix seconds) checks webhook timestamps and how far in the future `occurred_at` may be.
    """

    def __init__(
        self,
        intake: WebhookIntake,
        clock: Callable[[], float],
        future_tolerance_seconds: float = FUTURE_TOLERANCE_SECONDS,
    ) -> None:
        self.intake = intake
        self.clock = clock
        self.future_tolerance_seconds = future_tolerance_seconds

    def answer(
        self,
        tenant: str,
        platform: str,
        content_length: int | None,
        mimetype: str,
        read: Callable[[int], bytes],
        headers: Mapping[str, str],
    ) -> Answer:
        """`read(n)` reads at most n bytes of the body; `headers` holds the three webhook-* headers."""
        route = self.intake.route(tenant, platform)
        if route is None:
            return refusal(404, f"No tenant {tenant!r} with platform {platform!r} is configured.")
        if content_length is not None and content_length > MAX_BODY_BYTES:
            return refusal(413, f"The body is larger than {MAX_BODY_BYTES} bytes.")
        if mimetype != "application/json":
            return refusal(415, "The body must be sent as application/json.")
        body = read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            return refusal(413, f"The body is larger than {MAX_BODY_BYTES} bytes.")
        now = self.clock()
        if not verify(route.keys, headers, body, now):
            return refusal(401, "The webhook signature is missing or not valid.")
        webhook_id = headers["webhook-id"]
        if not WEBHOOK_ID.fullmatch(webhook_id):
            return refusal(
                400,
                "The webhook-id header is not a valid id.",
                {"webhook-id": ["Must be at most 200 printable ASCII characters with no spaces."]},
            )
        try:
            document = load_json(body)
        except BodyError as exc:
            return refusal(400, exc.message, {"body": [exc.detail]})
        if not isinstance(document, dict):
            return refusal(400, "The body must be a JSON object.", {"body": ["Must be a JSON object."]})
        if document.get("id") != webhook_id:
            return refusal(
                400, "The event does not match its schema.", {"id": ["Must equal the webhook-id header."]}
            )
        try:
            event = route.parse(document)
        except Rejected as exc:
            return refusal(400, exc.message, exc.errors)
        tolerance = self.future_tolerance_seconds
        if _too_far_ahead(event.occurred_at, now, tolerance):
            return refusal(
                400,
                "The event does not match its schema.",
                {"occurred_at": [f"Must not be more than {tolerance:g} seconds in the future."]},
            )
        if self.intake.accept(tenant, platform, webhook_id, event):
            return Answer(202, {"status": "accepted", "id": webhook_id})
        return Answer(200, {"status": "duplicate", "id": webhook_id})


def create_webhook_blueprint(edge: Edge) -> Blueprint:
    """The webhook route in Flask: what answers when the plain WSGI path is not mounted in front of the app,
    and what gives Flask the route, so that other methods get its 405 (with Allow) and OPTIONS its answer."""
    bp = Blueprint("webhooks", __name__)

    @bp.post("/webhooks/<tenant>/<platform>")
    def receive(tenant: str, platform: str) -> Response:
        webhook_headers = {name: request.headers.get(name, "") for name in WEBHOOK_HEADERS}
        try:
            answer = edge.answer(
                tenant,
                platform,
                request.content_length,
                request.mimetype,
                request.stream.read,
                webhook_headers,
            )
        except HTTPException as exc:
            # Werkzeug's own refusals while reading (a body shorter than its Content-Length), in our shape.
            answer = refusal(exc.code or 400, exc.description or exc.name)
        log_answer(tenant, platform, webhook_headers["webhook-id"], answer)
        response = jsonify(answer.body)
        response.status_code = answer.status
        return response

    return bp


WEBHOOK_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def _too_far_ahead(occurred_at: datetime, now: float, tolerance: float) -> bool:
    # occurred_at is in the envelope every platform shares, so the edge can check it without knowing a platform.
    return occurred_at.timestamp() > now + tolerance


def log_answer(tenant: str, platform: str, webhook_id: str, answer: Answer) -> None:
    """One line per webhook answered: ids and codes, the reason and the fields at fault, never a value sent.

    Nothing is built when the line's level is off: this runs for every webhook.
    """
    refused = answer.status >= 400
    if not log.isEnabledFor(logging.WARNING if refused else logging.INFO):
        return
    parts = [
        f"webhook answered {answer.status}",
        f"tenant={tenant if SAFE_NAME.fullmatch(tenant) else '?'}",
        f"platform={platform if SAFE_NAME.fullmatch(platform) else '?'}",
    ]
    if WEBHOOK_ID.fullmatch(webhook_id):
        parts.append(f"id={webhook_id}")
    if not refused:
        parts.append(f"status={answer.body.get('status')}")
        log.info("%s", " ".join(parts))
        return
    # The 404's message quotes the tenant and platform from the URL, which may be anything: say it in our words.
    reason = "unknown tenant or platform" if answer.status == 404 else answer.body.get("message", "")
    fields = sorted(name for name in answer.body.get("errors", {}) if SAFE_FIELD.fullmatch(name))
    parts.append(f"reason={reason!r}")
    if fields:
        parts.append(f"fields={','.join(fields)}")
    log.warning("%s", " ".join(parts))
