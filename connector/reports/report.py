"""One compliance report, as the CLI, the read API and the dashboard all give it: figures with red/amber/green,
record timeliness and actions never reviewed, for one tenant or team and a range of due dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from connector.config import TenantConfig
from connector.reports.figures import Figures, Tally, compliance_figures, figures_json
from connector.reports.sessions import (
    OpenAction,
    RecordedSession,
    open_actions,
    record_tally,
    recorded_sessions,
)
from connector.store.database import Database


def default_range(today: date) -> tuple[date, date]:
    """The twelve months to today: from the first day of the month eleven months back."""
    month = today.month - 11
    year = today.year + (month - 1) // 12
    return date(year, (month - 1) % 12 + 1, 1), today


@dataclass(frozen=True)
class Report:
    tenant: TenantConfig
    figures: Figures
    sessions: list[RecordedSession]
    actions: list[OpenAction]

    def rag(self, tally: Tally) -> str:
        return self.tenant.compliance.rag(tally.on_time_percent)

    def as_json(self) -> dict[str, Any]:
        body = figures_json(self.figures)
        body["thresholds"] = {"target": self.tenant.compliance.target, "floor": self.tenant.compliance.floor}
        body["total"]["rag"] = self.rag(self.figures.total)
        for group, key in (("teams", "team_id"), ("kinds", "kind"), ("months", "month")):
            source = {"teams": self.figures.teams, "kinds": self.figures.kinds, "months": self.figures.months}
            for item in body[group]:
                item["rag"] = self.rag(source[group][item[key]])
        for item in body["workers"]:
            item["rag"] = self.rag(self.figures.workers[(item["team_id"], item["worker_id"])])
        body["records"] = record_tally(self.sessions).as_json()
        body["sessions"] = [s.as_json() for s in self.sessions]
        body["actions_not_reviewed"] = [a.as_json() for a in self.actions]
        return body


def build_report(
    db: Database,
    tenant: TenantConfig,
    today: date,
    start: date | None = None,
    end: date | None = None,
    team: str | None = None,
) -> Report:
    first, last = default_range(today)
    start, end = start or first, end or last
    return Report(
        tenant,
        compliance_figures(db, tenant.id, start, end, today, team),
        recorded_sessions(db, tenant, start, end, team),
        open_actions(db, tenant, today, team),
    )
