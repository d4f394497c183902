"""Which open obligations count from a fact a reconcile supplied, so `connector explain` can say so."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from connector.pipeline.facts import local_date
from connector.store.database import Database

_DATE_FIELDS = ("start_date", "transfer_date", "end_date", "held_on")


def corrective_source(
    db: Database, tenant: str, platform: str, case_id: str | None, holder: str, fact_date: str
) -> str | None:
    """ "the reconcile of 2026-12-01" when a corrective event about the subject gave the counted-from date."""
    subject = f"case:{case_id}" if case_id else f"worker:{holder}"
    rows = db.query(
        "SELECT i.webhook_id, i.event FROM event_subjects s JOIN inbox i ON i.seq = s.seq"
        " WHERE s.tenant = ? AND s.platform = ? AND s.subject = ? AND i.source = 'reconcile'"
        " ORDER BY i.seq DESC",
        (tenant, platform, subject),
    )
    for row in rows:
        event = json.loads(row["event"])
        dates = {event.get(f) for f in _DATE_FIELDS}
        # A subject first heard of through the reconcile counts from that day (rule 13's go-live clause).
        dates.add(local_date(datetime.fromisoformat(event["occurred_at"])).isoformat())
        if fact_date in dates:
            return f"the reconcile of {row['webhook_id'].split(':')[1]}"
    return None


def annotate(db: Database, tenant: str, items: list[dict[str, Any]]) -> None:
    """Adds `counted_from.source` (None when the fact came from a webhook or an import) to read-side items."""
    for item in items:
        counted = item["counted_from"]
        counted["source"] = corrective_source(
            db,
            tenant,
            item["platform"],
            item["person_id"],
            item["worker_id"] or item["assignee_id"],
            counted["date"],
        )
