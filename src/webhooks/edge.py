"""POST /webhooks/{tenant}/{platform}: limits, signature, JSON, the platform's schema, then durable intake.

The edge knows nothing of rules or of any platform's fields: a `WebhookIntake` tells it, per tenant and
platform, which keys sign the webhooks and how to parse the body, and stores what was accepted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from flask import Blueprint, Response, jsonify, request

from adapters.base import EventValidationError
from connector.domain import Event
from webhooks.errors import error_response
from webhooks.json_body import BodyError, load_json
from webhooks.signature import verify

MAX_BODY_BYTES = 64 * 1024
# How far ahead of the connector's clock an event may say it happened: a platform's clock may run a little
# fast, but an event dated next year would win over every real one (the latest occurred_at wins).
FUTURE_TOLERANCE_SECONDS = 24 * 60 * 60
# A webhook id is a token: printable ASCII, no spaces, so it can be stored, logged and shown as it is.
WEBHOOK_ID = re.compile(r"[!-~]{1,200}")


@dataclass(frozen=True)
class Route:
    keys: tuple[bytes, ...]
    parse: Callable[[Mapping[str, Any]], Event]


class WebhookIntake(Protocol):
    def route(self, tenant: str, platform: str) -> Route | None: ...

    def accept(self, tenant: str, platform: str, webhook_id: str, event: Event) -> bool:
        """Store durably; False when this webhook id was accepted before."""
        ...


def create_webhook_blueprint(
    intake: WebhookIntake,
    clock: Callable[[], float],
    future_tolerance_seconds: float = FUTURE_TOLERANCE_SECONDS,
) -> Blueprint:
    """`clock` (Unix seconds) checks webhook timestamps and how far in the future `occurred_at` may be."""
    bp = Blueprint("webhooks", __name__)

    @bp.post("/webhooks/<tenant>/<platform>")
    def receive(tenant: str, platform: str) -> Response | tuple[Response, int]:
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
        except EventValidationError as exc:
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
            return jsonify({"status": "accepted", "id": webhook_id}), 202
        return jsonify({"status": "duplicate", "id": webhook_id}), 200

    return bp


def _too_far_ahead(occurred_at: datetime, now: float, tolerance: float) -> bool:
    # occurred_at is in the envelope every platform shares, so the edge can check it without knowing a platform.
    return occurred_at.timestamp() > now + tolerance
