"""Hand-built histories for the compliance figures: closed cycles, open obligations and recorded sessions."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from tests.support.harness import config_document

from connector.config import TenantConfig, parse_config
from connector.pipeline.inbox import Inbox
from connector.store.database import Database
from rules.events import Action, SupervisionBooked, SupervisionRecorded

TODAY = date(2026, 6, 15)
RULES = json.dumps([["LINC-CS-GEN", "5.1.1", "every four weeks"]])


def tenant(tmp_path: Path) -> TenantConfig:
    return parse_config(config_document(tmp_path, "http://127.0.0.1:9001/api"), tmp_path, {}).tenants[
        "lincolnshire"
    ]


def closed(
    db: Database,
    ref: str,
    due: str,
    outcome: str,
    held: str | None,
    closed_on: str,
    days_late: int,
    team: str = "310",
    worker: str = "5521",
    kind: str = "case_supervision",
    case: str | None = "100234",
) -> None:
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO cycle_outcomes (tenant, platform, reference, kind, case_id, worker_id, assignee_id,"
            " supervisor_id, team_id, due_date, rules, counted_from_fact, counted_from_date, outcome, held_on,"
            " recorded_on, closed_on, days_late, recorded_at) VALUES ('lincolnshire', 'mosaic', ?, ?, ?, ?, ?,"
            " '5500', ?, ?, ?, 'allocation', '2026-01-01', ?, ?, ?, ?, ?, 'x')",
            (ref, kind, case, worker, worker, team, due, RULES, outcome, held, held, closed_on, days_late),
        )


def open_obligation(
    db: Database,
    ref: str,
    due: str,
    team: str = "310",
    worker: str = "5521",
    kind: str = "case_supervision",
    case: str = "100234",
) -> None:
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO obligations (tenant, platform, reference, owner, kind, scope, holder, cycle, case_id,"
            " assignee_id, team_id, due_date, rules, counted_from_fact, counted_from_date, explanation, form,"
            " status, created_at, updated_at) VALUES ('lincolnshire', 'mosaic', ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?,"
            " 'case supervision held', '2026-04-01', 'Case supervision is due.', '[]', 'open', 'x', 'x')",
            (ref, f"case:{case}", kind, case, worker, case, worker, team, due, RULES),
        )


AT = datetime(2026, 6, 1, tzinfo=UTC)


def recorded(
    inbox: Inbox,
    event_id: str,
    held: date,
    recorded_on: date,
    kind: str = "case",
    cases: tuple[str, ...] = ("100234",),
    actions: tuple[Action, ...] = (),
    team: str = "310",
    significant: bool = False,
) -> None:
    event = SupervisionRecorded(
        event_id, AT, kind, "5521", "5500", team, cases, held, recorded_on, significant, None, actions
    )
    inbox.accept("lincolnshire", "mosaic", event_id, event)


def booked(
    inbox: Inbox,
    event_id: str,
    booking: str,
    starts: datetime,
    status: str = "booked",
    team: str = "310",
    at: datetime = AT,
) -> None:
    event = SupervisionBooked(
        event_id, at, booking, "case_supervision", "5521", "5500", team, ("100234",), starts, 60, status
    )
    inbox.accept("lincolnshire", "mosaic", event_id, event)
