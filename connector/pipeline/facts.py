"""The fold from stored domain events to the rule engine's facts, in one go.

Events are applied in `occurred_at` order (ties by event id) whatever order they arrived in, and an event id seen
twice counts once, so duplicates and any delivery order give the same facts: the status with the latest
`occurred_at` wins; allocations, transfers, de-allocations and closure apply in the order they happened. The
folding itself is `connector/pipeline/folds.py`, the same code the kept state applies one event at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from connector.pipeline.folds import (
    LONDON,
    SEEN_WITHIN,
    TEAM_FACT_EVENTS,
    CaseFold,
    TeamFold,
    WorkerFold,
    booking_of,
    local_date,
    position,
    session_of,
)
from rules.events import Event
from rules.model import CaseFacts, TeamFacts, WorkerFacts

__all__ = [
    "LONDON",
    "SEEN_WITHIN",
    "TEAM_FACT_EVENTS",
    "booking_of",
    "fold_case",
    "fold_team",
    "fold_worker",
    "in_order",
    "local_date",
    "session_of",
]


def in_order(events: Iterable[Event]) -> list[Event]:
    unique = {e.event_id: e for e in events}
    return sorted(unique.values(), key=position)


def fold_case(case_id: str, events: Iterable[Event]) -> CaseFacts | None:
    """The case as the events tell it, or None if none of them mentions it."""
    fold = CaseFold(case_id=case_id)
    for event in in_order(events):
        fold.apply(event)
    return fold.facts()


def fold_worker(worker_id: str, events: Iterable[Event]) -> WorkerFacts | None:
    """The worker as the events tell it, or None until a `worker.updated` about them was seen."""
    fold = WorkerFold(worker_id=worker_id)
    for event in in_order(events):
        fold.apply(event)
    return fold.facts()


def fold_team(
    team_id: str, members: Sequence[WorkerFacts], events: Iterable[Event], tags: frozenset[str]
) -> TeamFacts:
    """The team: its current members (folded by the caller), the sessions held for it, its tenant's tags."""
    fold = TeamFold(team_id=team_id)
    for event in in_order(events):
        fold.apply(event)
    return fold.facts(list(members), tags)
