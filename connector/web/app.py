"""The Flask app factory: webhook edge, health and status endpoints, with the one JSON error shape."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from connector.observability.logs import WebhookRequests, install_request_logging
from connector.observability.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from connector.service import Service
from connector.web.api import create_api_blueprint
from connector.web.intake import Intake, Waker
from connector.web.openapi import openapi_document
from connector.web.people import register_read_side
from webhooks.edge import Edge, create_webhook_blueprint
from webhooks.errors import UNEXPECTED, error_response
from webhooks.wsgi import WebhookMiddleware


def create_app(service: Service, clock: Any = time.time, wake: Waker | None = None) -> Flask:
    """An app serving `service`; `clock` (Unix seconds) checks webhook timestamps and is injectable for tests;
    `wake` is told of each accepted event (default: the service's own processing thread)."""
    app = Flask("connector")
    app.extensions["connector"] = service
    intake = Intake(service.config, service.inbox, service.wake if wake is None else wake, service.meter)
    edge = Edge(intake, clock, service.config.service.future_tolerance_seconds)
    app.register_blueprint(create_webhook_blueprint(edge))
    # Webhooks are answered in front of Flask, without its request context, routing or response objects (the
    # Flask route stays for the other methods' 405 and as the same checks for an app without the middleware).
    # The same request id, log line and count as Flask's hooks give every other request.
    hooks = WebhookRequests(set(service.config.tenants), service.metrics.webhook)
    app.wsgi_app = WebhookMiddleware(app.wsgi_app, edge, hooks)  # type: ignore[method-assign]
    app.register_blueprint(create_api_blueprint(service))

    install_request_logging(app, set(service.config.tenants))
    register_read_side(app, service)

    @app.get("/openapi.json")
    def openapi() -> Response:
        return jsonify(openapi_document())

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def readyz() -> Response | tuple[Response, int]:
        if service.db.is_ready():
            return jsonify({"status": "ready", "schema_version": service.db.schema_version()})
        return error_response(503, "The database is not open or its migrations are not applied.")

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(service.metrics.exposition(), content_type=METRICS_CONTENT_TYPE)

    @app.after_request
    def count_webhooks(response: Response) -> Response:
        if request.blueprint == "webhooks" and request.view_args:
            service.metrics.webhook(
                str(request.view_args.get("tenant")),
                str(request.view_args.get("platform")),
                response.status_code,
            )
        return response

    @app.get("/status")
    def status() -> Response:
        return jsonify(service.status())

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        response = error_response(exc.code or 500, exc.description or exc.name)
        # Keep what the exception says beyond its body, such as a 405's Allow; the body is ours, JSON.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        app.logger.exception("unexpected error")
        return error_response(500, UNEXPECTED)

    return app
