"""The admin read API: GET /api/tenants/{tenant}/obligations, behind the admin token from the config."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, jsonify, request

from connector.reports.report import build_report
from connector.service import Service
from connector.store.queries import ObligationFilter, list_obligations
from connector.web.openapi import compliance_filters
from webhooks.errors import error_response


def create_api_blueprint(service: Service) -> Blueprint:
    bp = Blueprint("api", __name__, url_prefix="/api")

    @bp.before_request
    def require_admin_token() -> Response | None:
        token = service.config.service.admin_token
        if token is None:
            return error_response(403, "The read API is off: set service.admin_token(_env) in the config.")
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return error_response(401, "Send the admin token as 'Authorization: Bearer <token>'.")
        return None

    @bp.get("/tenants/<tenant>/obligations")
    def obligations(tenant: str) -> Response:
        if tenant not in service.config.tenants:
            return error_response(404, f"No tenant {tenant!r} is configured.")
        unknown = sorted(set(request.args) - {"worker", "person", "team", "kind", "state"})
        where = ObligationFilter(
            tenant=tenant,
            worker=request.args.get("worker"),
            person=request.args.get("person"),
            team=request.args.get("team"),
            kind=request.args.get("kind"),
            state=request.args.get("state", "open"),
        )
        errors = where.problems()
        for name in unknown:
            errors[name] = ["Unknown filter; use worker, person, team, kind or state."]
        if errors:
            return error_response(400, "Some filters are not valid.", errors)
        items = list_obligations(service.db, where, service.today())
        return jsonify(
            {"tenant": tenant, "as_of": service.today().isoformat(), "count": len(items), "items": items}
        )

    @bp.get("/tenants/<tenant>/compliance")
    def compliance(tenant: str) -> Response:
        if tenant not in service.config.tenants:
            return error_response(404, f"No tenant {tenant!r} is configured.")
        filters, errors = compliance_filters(request.args)
        if errors:
            return error_response(400, "Some filters are not valid.", errors)
        report = build_report(service.db, service.config.tenants[tenant], service.today(), **filters)
        return jsonify(report.as_json())

    return bp
