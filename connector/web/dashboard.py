"""The compliance dashboard at /dashboard/{tenant}: server-rendered pages for a head of service and team
managers. A viewer token per tenant, asked for once and kept in Flask's signed session cookie, opens that
tenant's pages only. Pages carry ids, dates and codes only."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from connector.config import TenantConfig
from connector.reports.calendar_feed import feed_path
from connector.reports.report import build_report
from connector.service import Service
from connector.store.queries import ObligationFilter, list_obligations
from connector.web.charts import trend_svg
from webhooks.errors import error_response

Page = str | Response | WerkzeugResponse | tuple[Response, int]


def create_dashboard_blueprint(service: Service) -> Blueprint:
    bp = Blueprint(
        "dashboard",
        __name__,
        url_prefix="/dashboard",
        template_folder="templates",
        static_folder="static",
        static_url_path="/static",
    )

    def tenant_of(tenant: str) -> TenantConfig | Response:
        config = service.config.tenants.get(tenant)
        if config is None:
            return error_response(404, f"No tenant {tenant!r} is configured.")
        if config.viewer_token is None:
            return error_response(403, f"The dashboard of {tenant} is off: set its viewer_token(_env).")
        return config

    def viewer(tenant: str) -> TenantConfig | Page:
        config = tenant_of(tenant)
        if not isinstance(config, TenantConfig):
            return config
        if session.get("tenant") != tenant:
            return redirect(url_for("dashboard.login", tenant=tenant, next=request.path))
        return config

    @bp.route("/<tenant>/login", methods=["GET", "POST"])
    def login(tenant: str) -> Page:
        config = tenant_of(tenant)
        if not isinstance(config, TenantConfig):
            return config
        wrong = False
        if request.method == "POST":
            given = request.form.get("token", "")
            assert config.viewer_token is not None
            if hmac.compare_digest(given.encode(), config.viewer_token.encode()):
                session.clear()
                session["tenant"] = tenant
                session.permanent = True
                target = request.args.get("next", "")
                # Only back into this tenant's own pages: never an address someone else put in the link.
                if not target.startswith(f"/dashboard/{tenant}"):
                    target = url_for("dashboard.overview", tenant=tenant)
                return redirect(target)
            wrong = True
        page = render_template("login.html", tenant=tenant, wrong=wrong)
        return (Response(page), 401) if wrong else page

    @bp.post("/<tenant>/logout")
    def logout(tenant: str) -> Page:
        session.clear()
        return redirect(url_for("dashboard.login", tenant=tenant))

    def figures_page(config: TenantConfig, team: str | None) -> str:
        today = service.today()
        report = build_report(service.db, config, today, team=team)
        teams = sorted(report.figures.teams)
        overdue = list_obligations(service.db, ObligationFilter(config.id, team=team, state="overdue"), today)
        return render_template(
            "overview.html",
            tenant=config.id,
            team=team,
            report=report,
            body=report.as_json(),
            teams=teams,
            chart=trend_svg(report.figures, teams, config.compliance.target, config.compliance.floor),
            overdue=overdue,
            calendar=_calendar_links(service, config, team),
        )

    @bp.get("/<tenant>")
    def overview(tenant: str) -> Page:
        config = viewer(tenant)
        return figures_page(config, None) if isinstance(config, TenantConfig) else config

    @bp.get("/<tenant>/teams/<team>")
    def team_page(tenant: str, team: str) -> Page:
        config = viewer(tenant)
        return figures_page(config, team) if isinstance(config, TenantConfig) else config

    @bp.get("/<tenant>/workers/<worker>")
    def worker_page(tenant: str, worker: str) -> Page:
        config = viewer(tenant)
        if not isinstance(config, TenantConfig):
            return config
        items = list_obligations(service.db, ObligationFilter(tenant, worker=worker), service.today())
        return render_template(
            "worker.html", tenant=tenant, worker=worker, items=items, as_of=service.today()
        )

    return bp


def _calendar_links(service: Service, config: TenantConfig, team: str | None) -> dict[str, Any] | None:
    if team is None:
        return None
    path = feed_path(config, team)
    if path is None:
        return None
    # The address people reach the connector at: service.public_url, else the one this page was asked on.
    base = service.config.service.public_url or request.host_url.rstrip("/")
    return {"https": base + path, "webcal": "webcal://" + base.split("://", 1)[1] + path}
