"""An outbox row's payload as the platform writer's `ObligationWrite`: the one place the two shapes meet."""

from __future__ import annotations

from datetime import date
from typing import Any

from adapters.base import ObligationWrite


def obligation_write(
    reference: str,
    payload: dict[str, Any],
    platform_id: str | None,
    form_id: str | None,
    unsure: bool = False,
    first_sent: ObligationWrite | None = None,
) -> ObligationWrite:
    return ObligationWrite(
        reference=reference,
        open=bool(payload["open"]),
        kind=payload["kind"],
        case_id=payload.get("case_id"),
        assignee_id=payload["assignee_id"],
        team_id=payload.get("team_id"),
        due_date=date.fromisoformat(payload["due_date"]),
        title=payload["title"],
        notes=payload["notes"],
        incoming_on=date.fromisoformat(payload["incoming_on"]),
        form=tuple((str(k), str(v)) for k, v in payload.get("form", [])),
        platform_id=platform_id,
        form_id=form_id,
        supervisor_id=payload.get("supervisor_id"),
        met=bool(payload.get("met")),
        unsure=unsure,
        first_sent=first_sent,
    )
