"""The events the benches send: plain bodies, importing nothing, so a bench's child running another checkout's
connector can use them too."""

from __future__ import annotations

from typing import Any


def allocation(event_id: str, person: int, worker: int) -> dict[str, Any]:
    """A Mosaic `case.allocated` body: a new child for one of the workers, each of whom opens a step."""
    return {
        "id": event_id,
        "type": "case.allocated",
        "occurred_at": "2026-11-02T09:30:00Z",
        "data": {
            "person_id": person,
            "worker_id": worker,
            "team_id": 300 + worker % 50,
            "relationship": "ALLWKR",
            "start_date": "2026-11-02",
        },
    }
