"""`connector tick --dry-run`: what a tick as of some date would write, with nothing written anywhere.

The day's work runs as it would for real, inside one transaction that is then rolled back, so the preview is
exactly what the real run would queue (the same code computes it) and neither the database nor the platform
changes. The transaction holds the database's write lock while it runs, as a real tick's writes would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from connector.pipeline.scheduler import TickCounts
from connector.store.engines.base import Connection, Row

if TYPE_CHECKING:
    from connector.service import Service


@dataclass(frozen=True)
class PlannedWrite:
    what: str  # "reminder", "escalation", "overdue", or "step create" / "step move" / "step withdraw"
    kind: str
    reference: str
    worker_id: str
    show_on: str | None
    due_date: str


class _RollBack(Exception):
    """Raised at the end of the preview so the transaction holding its writes is rolled back."""


def preview_tick(service: Service, as_of: date) -> tuple[TickCounts, list[PlannedWrite]]:
    planned: list[PlannedWrite] = []
    counts = TickCounts()
    try:
        with service.db.transaction() as conn:
            queued_before = {(r["id"], r["version"]) for r in conn.execute("SELECT id, version FROM outbox")}
            not_overdue = {
                r["reference"]
                for r in conn.execute("SELECT reference FROM obligations WHERE overdue_since IS NULL")
            }
            service.reevaluate_if_rules_changed()
            service.reevaluate_everything()
            counts = service.tick(as_of)
            for row in conn.execute("SELECT * FROM outbox WHERE state = 'pending' ORDER BY id").fetchall():
                if (row["id"], row["version"]) not in queued_before:
                    planned.append(_planned_write(conn, row))
            for row in conn.execute(
                "SELECT * FROM obligations WHERE overdue_since IS NOT NULL ORDER BY reference"
            ).fetchall():
                if row["reference"] in not_overdue:
                    planned.append(
                        PlannedWrite(
                            "overdue",
                            row["kind"],
                            row["reference"],
                            row["assignee_id"],
                            None,
                            row["due_date"],
                        )
                    )
            raise _RollBack
    except _RollBack:
        pass
    return counts, planned


def _planned_write(conn: Connection, row: Row) -> PlannedWrite:
    payload = json.loads(row["payload"])
    if row["item"] == "reminder":
        kind = conn.execute(
            "SELECT o.kind FROM reminders r JOIN obligations o ON o.tenant = r.tenant AND o.platform = r.platform"
            " AND o.reference = r.obligation_reference WHERE r.tenant = ? AND r.platform = ? AND r.reference = ?",
            (row["tenant"], row["platform"], row["reference"]),
        ).fetchone()
        return PlannedWrite(
            "escalation" if payload.get("escalation") else "reminder",
            "" if kind is None else kind[0],
            row["reference"],
            payload["worker_id"],
            payload["show_on"],
            payload["due_date"],
        )
    if row["item"] == "obligation":
        return PlannedWrite(
            f"step {row['action']}",
            payload["kind"],
            row["reference"],
            payload["assignee_id"],
            None,
            payload["due_date"],
        )
    return PlannedWrite(row["item"].replace("_", " "), "", row["reference"], "", None, "")
