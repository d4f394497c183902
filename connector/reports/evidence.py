"""The inspection evidence pack: one zip of CSV files a council hands over on an inspection's first day.

Team, worker, kind and month figures; every session's held-to-recorded gap; actions never reviewed; and for each
child of a sample, the supervision history (due, held, recorded, by whom, days late). The stdlib's `zipfile` and
`csv` write it: a pack is a few small tables, nothing a library would do better. Ids, dates and codes only.
"""

from __future__ import annotations

import csv
import io
import random
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from connector.reports.report import Report
from connector.store.database import Database
from connector.store.dialect import days_late

FIGURE_COLUMNS = (
    "due", "on_time", "late", "missed", "pending", "days_late_total", "days_late_mean", "days_late_max",
    "open_now", "overdue_now", "on_time_percent", "rag",
)  # fmt: skip
HISTORY_COLUMNS = (
    "person_id", "kind", "due_date", "held_on", "recorded_on", "worker_id", "supervisor_id", "team_id",
    "outcome", "days_late",
)  # fmt: skip


def csv_text(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in columns})
    return out.getvalue()


def sample_children(db: Database, report: Report, size: int) -> list[str]:
    """`size` children with a cycle due in the range, drawn with a seed made of the tenant and the range, so
    the same request gives the same sample."""
    figures = report.figures
    params: list[Any] = [figures.tenant, figures.start.isoformat(), figures.end.isoformat()]
    team = ""
    if figures.team is not None:
        team = " AND team_id = ?"
        params.append(figures.team)
    rows = db.query(
        "SELECT DISTINCT case_id FROM (SELECT case_id, team_id, due_date, tenant FROM cycle_outcomes"
        " UNION ALL SELECT case_id, team_id, due_date, tenant FROM obligations WHERE status = 'open') cycles"
        f" WHERE tenant = ? AND case_id IS NOT NULL AND due_date BETWEEN ? AND ?{team} ORDER BY case_id",
        tuple(params),
    )
    children = [r[0] for r in rows]
    seed = f"{figures.tenant}:{figures.start}:{figures.end}:{figures.team}"
    return sorted(random.Random(seed).sample(children, min(size, len(children))))


def child_history(db: Database, tenant: str, case_id: str, today: str) -> list[dict[str, Any]]:
    rows = db.query(
        "SELECT case_id AS person_id, kind, due_date, held_on, recorded_on, worker_id, supervisor_id, team_id,"
        " outcome, days_late FROM cycle_outcomes WHERE tenant = ? AND case_id = ?"
        " UNION ALL SELECT case_id, kind, due_date, NULL, NULL, CASE WHEN holder = '-' THEN assignee_id ELSE"
        " holder END, NULL, team_id, CASE WHEN due_date < ? THEN 'overdue' ELSE 'open' END,"
        f" {days_late(db.dialect, '?', 'due_date')} FROM obligations"
        " WHERE tenant = ? AND case_id = ? AND status = 'open' ORDER BY due_date, kind",
        (tenant, case_id, today, today, tenant, case_id),
    )
    return [dict(r) for r in rows]


def write_evidence(db: Database, report: Report, sample: int, path: Path) -> list[str]:
    """Write the pack to `path`; returns the names of the files in it."""
    body = report.as_json()
    files = {
        "teams.csv": csv_text(("team_id", *FIGURE_COLUMNS), body["teams"]),
        "workers.csv": csv_text(("team_id", "worker_id", *FIGURE_COLUMNS), body["workers"]),
        "kinds.csv": csv_text(("kind", *FIGURE_COLUMNS), body["kinds"]),
        "months.csv": csv_text(("month", *FIGURE_COLUMNS), body["months"]),
        "sessions.csv": csv_text(
            (
                "platform",
                "kind",
                "worker_id",
                "supervisor_id",
                "team_id",
                "held_on",
                "recorded_on",
                "gap_days",
                "deadline",
                "rule_id",
                "within_deadline",
            ),
            body["sessions"],
        ),
        "actions_not_reviewed.csv": csv_text(
            (
                "platform",
                "person_id",
                "agreed_on",
                "worker_id",
                "team_id",
                "owner_worker_id",
                "due_date",
                "days_past_due",
            ),
            body["actions_not_reviewed"],
        ),
    }
    today = report.figures.as_of.isoformat()
    children = sample_children(db, report, sample)
    history = [row for child in children for row in child_history(db, report.figures.tenant, child, today)]
    files["sample_children.csv"] = csv_text(HISTORY_COLUMNS, history)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return list(files)
