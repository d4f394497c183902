"""Read side: the open obligations the connector holds, with why, for the CLI and the read API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from connector.importing.provenance import annotate
from connector.store.database import Database
from rules.model import OBLIGATION_KINDS

STATES = ("open", "overdue")


@dataclass(frozen=True)
class ObligationFilter:
    tenant: str
    worker: str | None = None
    person: str | None = None
    team: str | None = None
    kind: str | None = None
    state: str = "open"

    def problems(self) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        if self.kind is not None and self.kind not in OBLIGATION_KINDS:
            errors["kind"] = [f"Must be one of: {', '.join(OBLIGATION_KINDS)}."]
        if self.state not in STATES:
            errors["state"] = [f"Must be one of: {', '.join(STATES)}."]
        return errors


def list_obligations(db: Database, where: ObligationFilter, today: date) -> list[dict[str, Any]]:
    sql = ["SELECT * FROM obligations WHERE tenant = ? AND status = 'open'"]
    params: list[Any] = [where.tenant]
    if where.worker is not None:
        sql.append("AND (assignee_id = ? OR holder = ?)")
        params += [where.worker, where.worker]
    if where.person is not None:
        sql.append("AND case_id = ?")
        params.append(where.person)
    if where.team is not None:
        sql.append("AND team_id = ?")
        params.append(where.team)
    if where.kind is not None:
        sql.append("AND kind = ?")
        params.append(where.kind)
    if where.state == "overdue":
        sql.append("AND due_date < ?")
        params.append(today.isoformat())
    sql.append("ORDER BY due_date, kind, case_id, reference")
    items = [_as_json(row, today) for row in db.query(" ".join(sql), tuple(params))]
    annotate(db, where.tenant, items)  # counted_from.source: the reconcile a date rests on, if any
    return items


def _as_json(row: Any, today: date) -> dict[str, Any]:
    due = date.fromisoformat(row["due_date"])
    return {
        "reference": row["reference"],
        "platform": row["platform"],
        "kind": row["kind"],
        "person_id": row["case_id"],
        "worker_id": None if row["holder"] == "-" else row["holder"],
        "assignee_id": row["assignee_id"],
        "team_id": row["team_id"],
        "cycle": row["cycle"],
        "due_date": row["due_date"],
        "overdue": due < today,
        "days_overdue": max(0, (today - due).days),
        "rules": [{"id": r[0], "source": r[1], "words": r[2]} for r in json.loads(row["rules"])],
        "counted_from": {"fact": row["counted_from_fact"], "date": row["counted_from_date"]},
        "explanation": row["explanation"],
        "platform_record_id": row["platform_id"],
        "written": row["platform_id"] is not None,
    }
