"""POST /webhooks/{tenant}/{platform}: limits, signature, JSON, the platform's schema, then durable intake.

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

from webhooks.errors import error_response
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


def create_webhook_blueprint(
    intake: WebhookIntake,
    clock: Callable[[], float],
    future_tolerance_seconds: float = FUTURE_TOLERANCE_SECONDS,
) -> Blueprint:
    """`clock` (Unix seconds) checks webhook timestamps and how far in the future `occurred_at` may be."""
    bp = Blueprint("webhooks", __name__)

    @bp.post("/webhooks/<tenant>/<platform>")
    def receive(tenant: str, platform: str) -> Response:
        try:
            response = answer(tenant, platform)
        except HTTPException as exc:
            # Werkzeug's own refusals while reading (a body shorter than its Content-Length), in our shape.
            response = error_response(exc.code or 400, exc.description or exc.name)
        _log_answer(tenant, platform, request.headers.get("webhook-id", ""), response)
        return response

    def answer(tenant: str, platform: str) -> Response:
        route = intake.route(tenant, platform)
        if route is None:
            return error_response(404, f"No tenant {tenant!r} with platform {platform!r} is configured.")
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return error_response(413, f"The body is larger than {MAX_BODY_BYTES} bytes.")
        if request.mimetype != "application/json":
            return error_response(415, "The body must be sent as application/json.")
        body = request.stream.read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            return error_response(413, f"The body is larger than {MAX_BODY_BYTES} bytes.")
        headers = {
            name: request.headers.get(name, "")
            for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
        }
        now = clock()
        if not verify(route.keys, headers, body, now):
            return error_response(401, "The webhook signature is missing or not valid.")
        webhook_id = headers["webhook-id"]
        if not WEBHOOK_ID.fullmatch(webhook_id):
            return error_response(
                400,
                "The webhook-id header is not a valid id.",
                {"webhook-id": ["Must be at most 200 printable ASCII characters with no spaces."]},
            )
        try:
            document = load_json(body)
        except BodyError as exc:
            return error_response(400, exc.message, {"body": [exc.detail]})
        if not isinstance(document, dict):
            return error_response(
                400, "The body must be a JSON object.", {"body": ["Must be a JSON object."]}
            )
        if document.get("id") != webhook_id:
            return error_response(
                400, "The event does not match its schema.", {"id": ["Must equal the webhook-id header."]}
            )
        try:
            event = route.parse(document)
        except Rejected as exc:
            return error_response(400, exc.message, exc.errors)
        if _too_far_ahead(event.occurred_at, now, future_tolerance_seconds):
            return error_response(
                400,
                "The event does not match its schema.",
                {
                    "occurred_at": [
                        f"Must not be more than {future_tolerance_seconds:g} seconds in the future."
                    ]
                },
            )
        if intake.accept(tenant, platform, webhook_id, event):
            return _status("accepted", webhook_id, 202)
        return _status("duplicate", webhook_id, 200)

    return bp


def _too_far_ahead(occurred_at: datetime, now: float, tolerance: float) -> bool:
    # occurred_at is in the envelope every platform shares, so the edge can check it without knowing a platform.
    return occurred_at.timestamp() > now + tolerance


def _status(status: str, webhook_id: str, code: int) -> Response:
    response = jsonify({"status": status, "id": webhook_id})
    response.status_code = code
    return response


def _log_answer(tenant: str, platform: str, webhook_id: str, response: Response) -> None:
    """One line per webhook answered: ids and codes, the reason and the fields at fault, never a value sent."""
    parts = [
        f"webhook answered {response.status_code}",
        f"tenant={tenant if SAFE_NAME.fullmatch(tenant) else '?'}",
        f"platform={platform if SAFE_NAME.fullmatch(platform) else '?'}",
    ]
    if WEBHOOK_ID.fullmatch(webhook_id):
        parts.append(f"id={webhook_id}")
    body = response.get_json(silent=True) or {}
    if response.status_code < 400:
        log.info(" ".join([*parts, f"status={body.get('status')}"]))
        return
    # The 404's message quotes the tenant and platform from the URL, which may be anything: say it in our words.
    reason = "unknown tenant or platform" if response.status_code == 404 else body.get("message", "")
    fields = sorted(name for name in body.get("errors", {}) if SAFE_FIELD.fullmatch(name))
    parts.append(f"reason={reason!r}")
    if fields:
        parts.append(f"fields={','.join(fields)}")
    log.warning(" ".join(parts))
