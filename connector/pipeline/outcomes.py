"""The compliance history: each cycle's outcome written once, when the ledger closes it (met or withdrawn).

Kept apart from the `obligations` rows, which a later evaluation may revisit, so a figure about last March
stays what it was. A met cycle keeps the session that met it (held on, recorded on, its supervisor); its days
late count from the due date to the day it was held. A withdrawn cycle is late only when it was still owed past
its due date (the figures call it missed). Ids, dates and codes only.
"""

from __future__ import annotations

from datetime import date

from connector.pipeline.met import Columns, Held
from connector.store.database import utc_now_text
from connector.store.engines.base import Connection


def days_late(due: date, done: date) -> int:
    return max(0, (done - due).days)


OUTCOME_INSERT = (
    "INSERT INTO cycle_outcomes (tenant, platform, reference, kind, case_id, worker_id, assignee_id,"
    " supervisor_id, team_id, due_date, rules, counted_from_fact, counted_from_date, outcome, held_on,"
    " recorded_on, closed_on, days_late, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
    " ?, ?) ON CONFLICT DO NOTHING"
)


def record_outcome(
    conn: Connection,
    tenant: str,
    platform: str,
    row: Columns,
    met: bool,
    session: Held | None,
    closed_on: date,
) -> None:
    """Write the outcome of one closing cycle; a cycle closes once, so a second call keeps the first."""
    conn.execute(OUTCOME_INSERT, outcome_params(tenant, platform, row, met, session, closed_on))


def outcome_params(
    tenant: str, platform: str, row: Columns, met: bool, session: Held | None, closed_on: date
) -> tuple[object, ...]:
    """`OUTCOME_INSERT`'s parameters for one closing cycle (made before the write lock by a prepared diff)."""
    due = date.fromisoformat(row["due_date"])
    done = session.held_on if met and session is not None else closed_on
    worker = row["assignee_id"] if row["holder"] == "-" else row["holder"]
    return (
        tenant,
        platform,
        row["reference"],
        row["kind"],
        row["case_id"],
        worker,
        row["assignee_id"],
        None if session is None else session.supervisor_id,
        row["team_id"],
        row["due_date"],
        row["rules"],
        row["counted_from_fact"],
        row["counted_from_date"],
        "met" if met else "withdrawn",
        None if session is None else session.held_on.isoformat(),
        None if session is None or session.recorded_on is None else session.recorded_on.isoformat(),
        closed_on.isoformat(),
        days_late(due, done),
        utc_now_text(),
    )
