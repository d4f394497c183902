"""The read side for people: the dashboard (behind a viewer token kept in a signed session cookie) and the
team calendar feeds, registered on the app together with the cookie's settings."""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import timedelta

from flask import Flask, Response

from connector.reports.calendar_feed import feed_token, team_calendar
from connector.service import Service
from connector.web.dashboard import create_dashboard_blueprint
from webhooks.errors import error_response

log = logging.getLogger(__name__)


def register_read_side(app: Flask, service: Service) -> None:
    secret = service.config.service.session_secret
    if secret is None and any(t.viewer_token for t in service.config.tenants.values()):
        log.warning(
            "service.session_secret is not set: the dashboard signs its cookies with a key made for this process,"
            " so viewers log in again after a restart (and each process of several needs its own login)"
        )
    app.secret_key = secret or secrets.token_hex(32)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=(service.config.service.public_url or "").startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
    )
    app.register_blueprint(create_dashboard_blueprint(service))

    @app.get("/calendar/<tenant>/<team>/<token>.ics")
    def calendar(tenant: str, team: str, token: str) -> Response:
        config = service.config.tenants.get(tenant)
        # One answer for every refusal, so a wrong URL tells nothing about which tenants or teams exist.
        if config is None or config.calendar_secret is None:
            return error_response(404, "No such calendar.")
        if not hmac.compare_digest(token.encode(), feed_token(config.calendar_secret, tenant, team).encode()):
            return error_response(404, "No such calendar.")
        body = team_calendar(service.db, config, team, service.today())
        return Response(
            body,
            mimetype="text/calendar",
            headers={
                "Cache-Control": "private, max-age=3600",
                "Content-Disposition": f'inline; filename="team-{team}.ics"',
            },
        )
