"""Compliance figures: each obligation cycle due in a date range, classed by how it ended, tallied per tenant,
team, worker, kind and month.

A cycle comes from the history of closed cycles (`cycle_outcomes`) or, while still open, from the ledger. Its
class, by its due date:
- on time: met (the session that met it held) on or before its due date;
- late: met after it, by `days_late` days;
- missed: not met: still open past its due date, or no longer owed (withdrawn) after it had passed;
- pending: open and not yet due;
- a cycle withdrawn before its due date was never owed and is left out.
On time % is on time / (on time + late + missed): of the cycles whose due date has come. `open_now` and
`overdue_now` are a snapshot of today, whatever the range. Obligation kinds are whatever the ledger holds, so a
kind a rule pack adds later simply appears.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from connector.store.database import Database
from connector.store.dialect import days_late

CLASSES = ("on_time", "late", "missed", "pending")

_CYCLES = """
SELECT team_id, worker_id, kind, substr(due_date, 1, 7) AS month,
  CASE WHEN outcome = 'met' AND COALESCE(held_on, closed_on) <= due_date THEN 'on_time'
       WHEN outcome = 'met' THEN 'late'
       WHEN closed_on > due_date THEN 'missed'
       ELSE 'withdrawn' END AS class, days_late
FROM cycle_outcomes WHERE tenant = :tenant AND due_date BETWEEN :start AND :end {team}
UNION ALL
SELECT team_id, CASE WHEN holder = '-' THEN assignee_id ELSE holder END, kind, substr(due_date, 1, 7),
  CASE WHEN status = 'open' AND due_date < :today THEN 'missed'
       WHEN status = 'open' THEN 'pending'
       WHEN substr(updated_at, 1, 10) <= due_date THEN 'on_time' ELSE 'late' END,
  {days_late}
FROM obligations o WHERE tenant = :tenant AND due_date BETWEEN :start AND :end {team}
  AND (status = 'open' OR (status = 'closed' AND NOT EXISTS (SELECT 1 FROM cycle_outcomes c
    WHERE c.tenant = o.tenant AND c.platform = o.platform AND c.reference = o.reference)))
"""
# A step the platform closed itself (status 'closed') has no outcome row until the ledger moves on from it: it
# counts as met on the day the platform said so.

_SNAPSHOT = """
SELECT team_id, CASE WHEN holder = '-' THEN assignee_id ELSE holder END AS worker_id, kind,
  COUNT(*), SUM(CASE WHEN due_date < :today THEN 1 ELSE 0 END)
FROM obligations WHERE tenant = :tenant AND status = 'open' {team}
GROUP BY 1, 2, 3
"""


def _days_late(db: Database) -> str:
    closed_or_today = "CASE WHEN status = 'open' THEN :today ELSE substr(updated_at, 1, 10) END"
    return days_late(db.dialect, closed_or_today, "due_date")


@dataclass
class Tally:
    due: int = 0
    on_time: int = 0
    late: int = 0
    days_late: int = 0  # over the late cycles
    max_days_late: int = 0
    missed: int = 0
    pending: int = 0
    open_now: int = 0
    overdue_now: int = 0

    def add(self, cls: str, count: int, days: int, most: int) -> None:
        if cls not in CLASSES:
            return
        self.due += count
        setattr(self, cls, getattr(self, cls) + count)
        if cls == "late":
            self.days_late += days
            self.max_days_late = max(self.max_days_late, most)

    @property
    def fallen_due(self) -> int:
        return self.on_time + self.late + self.missed

    @property
    def on_time_percent(self) -> float | None:
        return None if self.fallen_due == 0 else round(100.0 * self.on_time / self.fallen_due, 1)

    @property
    def mean_days_late(self) -> float | None:
        return None if self.late == 0 else round(self.days_late / self.late, 1)

    def as_json(self) -> dict[str, Any]:
        return {
            "due": self.due,
            "on_time": self.on_time,
            "late": self.late,
            "missed": self.missed,
            "pending": self.pending,
            "days_late_total": self.days_late,
            "days_late_mean": self.mean_days_late,
            "days_late_max": self.max_days_late,
            "open_now": self.open_now,
            "overdue_now": self.overdue_now,
            "on_time_percent": self.on_time_percent,
        }


@dataclass
class Figures:
    tenant: str
    start: date
    end: date
    as_of: date
    team: str | None = None
    total: Tally = field(default_factory=Tally)
    teams: dict[str, Tally] = field(default_factory=dict)
    workers: dict[tuple[str, str], Tally] = field(default_factory=dict)  # (team, worker)
    kinds: dict[str, Tally] = field(default_factory=dict)
    months: dict[str, Tally] = field(default_factory=dict)
    team_months: dict[tuple[str, str], Tally] = field(default_factory=dict)  # (team, "YYYY-MM")

    def month_range(self) -> list[str]:
        months: list[str] = []
        year, month = self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months


def _team_clause(team: str | None) -> str:
    return "" if team is None else "AND team_id = :team"


def compliance_figures(
    db: Database, tenant: str, start: date, end: date, today: date, team: str | None = None
) -> Figures:
    """The figures of one tenant (or one of its teams) for cycles due from `start` to `end`, as of `today`."""
    params = {
        "tenant": tenant,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "today": today.isoformat(),
        "team": team,
    }
    figures = Figures(tenant, start, end, today, team)
    clause = _team_clause(team)
    grouped = (
        f"SELECT team_id, worker_id, kind, month, class, COUNT(*), CAST(SUM(days_late) AS BIGINT), MAX(days_late)"
        f" FROM ({_CYCLES.format(team=clause, days_late=_days_late(db))}) q GROUP BY 1, 2, 3, 4, 5"
    )
    for team_id, worker, kind, month, cls, count, days, most in db.conn.execute(grouped, params):
        team_key = team_id or "-"
        for tally in _tallies(figures, team_key, worker, kind, month):
            tally.add(cls, count, days or 0, most or 0)
    for team_id, worker, kind, count, overdue in db.conn.execute(_SNAPSHOT.format(team=clause), params):
        team_key = team_id or "-"
        for tally in _tallies(figures, team_key, worker, kind, None):
            tally.open_now += count
            tally.overdue_now += overdue or 0
    return figures


def _tallies(figures: Figures, team: str, worker: str, kind: str, month: str | None) -> Iterable[Tally]:
    yield figures.total
    yield figures.teams.setdefault(team, Tally())
    yield figures.workers.setdefault((team, worker), Tally())
    yield figures.kinds.setdefault(kind, Tally())
    if month is not None:
        yield figures.months.setdefault(month, Tally())
        yield figures.team_months.setdefault((team, month), Tally())


def figures_json(figures: Figures) -> dict[str, Any]:
    return {
        "tenant": figures.tenant,
        "team": figures.team,
        "from": figures.start.isoformat(),
        "to": figures.end.isoformat(),
        "as_of": figures.as_of.isoformat(),
        "total": figures.total.as_json(),
        "teams": [{"team_id": t, **v.as_json()} for t, v in sorted(figures.teams.items())],
        "workers": [
            {"team_id": t, "worker_id": w, **v.as_json()} for (t, w), v in sorted(figures.workers.items())
        ],
        "kinds": [{"kind": k, **v.as_json()} for k, v in sorted(figures.kinds.items())],
        "months": [{"month": m, **v.as_json()} for m, v in sorted(figures.months.items())],
        "team_months": [
            {"team_id": t, "month": m, **v.as_json()} for (t, m), v in sorted(figures.team_months.items())
        ],
    }
