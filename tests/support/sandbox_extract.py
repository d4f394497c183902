"""The sandbox's Mosaic month twice: heard as webhooks, and exported as the extract a data mart would give."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

from adapters.registry import get_adapter
from connector.config import Config
from connector.pipeline.facts import fold_case, fold_worker
from connector.pipeline.inbox import Inbox
from connector.pipeline.processor import Processor
from connector.sandbox.samples import sample_months
from connector.store.database import Database
from rules.events import SupervisionRecorded

TENANT = "lincolnshire"


def hear_month(db: Database, config: Config, missed: frozenset[str] = frozenset()) -> date:
    """Every event of the month (but those `missed`) accepted as a webhook would be, then processed; returns
    the month's as-of."""
    [month] = [m for m in sample_months() if m["platform"] == "mosaic"]
    inbox = Inbox(db)
    adapter = get_adapter("mosaic")
    for body in month["events"]:
        if body["id"] in missed:
            continue
        inbox.accept(TENANT, "mosaic", body["id"], adapter.parse_event(body))
    as_of = date.fromisoformat(month["as_of"])
    Processor(db, config, lambda: as_of).run_until_idle()
    return as_of


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _text(v) for k, v in row.items()})
    return path


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return str(value)


def export_state(db: Database, folder: Path, with_times: bool = False) -> list[Path]:
    """The final state the connector holds, as extract files: what a data mart would report at month end.

    `with_times`: each row also carries `occurred_at`, when the platform first recorded that worker or case (a
    data mart's created timestamp) or, for a supervision, when it was recorded; an extract with them tells the
    connector as much as the webhooks did, so rule 13's go-live clamp counts from the same days."""
    inbox = Inbox(db)

    def first_recorded(subject: str) -> str:
        return min(e.occurred_at for e in inbox.events_about(TENANT, "mosaic", subject)).isoformat()

    workers, allocations, statuses, supervisions = [], [], [], []
    for worker_id in sorted(inbox.subjects(TENANT, "mosaic", "worker"), key=int):
        w = fold_worker(worker_id, inbox.events_about(TENANT, "mosaic", f"worker:{worker_id}"))
        if w is None:
            continue
        workers.append(
            {
                "worker_id": w.worker_id,
                "team_id": w.team_id,
                "supervisor_id": w.supervisor_id,
                "job_role": w.job_role,
                "case_holding": w.case_holding,
                "supervises_case_holders": w.supervises_case_holders,
                "frontline": w.frontline,
                "asye": w.asye,
                "employment": w.employment,
                "start_date": w.start_date,
                "end_date": w.end_date,
                **({"occurred_at": first_recorded(f"worker:{worker_id}")} if with_times else {}),
            }
        )
    recorded: dict[str, SupervisionRecorded] = {}
    for case_id in sorted(inbox.subjects(TENANT, "mosaic", "case"), key=int):
        events = inbox.events_about(TENANT, "mosaic", f"case:{case_id}")
        case = fold_case(case_id, events)
        if case is None or case.closed_on is not None:
            continue
        for a in case.allocations:
            allocations.append(
                {
                    "person_id": case_id,
                    "worker_id": a.worker_id,
                    "team_id": a.team_id,
                    "relationship": a.relationship,
                    "start_date": a.start_date,
                    **({"occurred_at": first_recorded(f"case:{case_id}")} if with_times else {}),
                }
            )
        if case.status is not None:
            statuses.append(
                {
                    "person_id": case_id,
                    "status": case.status.status,
                    "start_date": case.status.start_date,
                    "permanency_plan_agreed": case.status.permanency_plan_agreed,
                    "fsm": case.status.fsm,
                    **({"occurred_at": first_recorded(f"case:{case_id}")} if with_times else {}),
                }
            )
    for worker_id in inbox.subjects(TENANT, "mosaic", "worker"):
        for e in inbox.events_about(TENANT, "mosaic", f"worker:{worker_id}"):
            if isinstance(e, SupervisionRecorded):
                recorded[e.event_id] = e
    for e in sorted(recorded.values(), key=lambda e: e.event_id):
        supervisions.append(
            {
                "kind": e.kind,
                "worker_id": e.worker_id,
                "supervisor_id": e.supervisor_id,
                "team_id": e.team_id,
                "person_ids": e.case_ids_discussed,
                "held_on": e.held_on,
                "recorded_on": e.recorded_on,
                "significant": e.significant,
                "workflow_step_id": e.step_ref,
                **({"occurred_at": e.occurred_at.isoformat()} if with_times else {}),
            }
        )
    return [
        _write(folder / "workers.csv", workers),
        _write(folder / "allocations.csv", allocations),
        _write(folder / "statuses.csv", statuses),
        _write(folder / "supervisions.csv", supervisions),
    ]
