"""The nightly reconcile: a full extract compared with what the connector holds, and corrective events stored.

Both sides are compared as facts: the connector's side is every stored event about a subject up to the extract's
as-of time, folded as the processor folds them, onto the subject's compaction base (pipeline/compaction.py).
Events that happened after the extract was taken are left out of the comparison, and corrective events carry the
as-of time, so a webhook that came later still wins. Corrective events are stored with `source = 'reconcile'` and ids `reconcile:<as-of date>:<hash>`,
so a second run of the same reconcile finds nothing left to correct and stores nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from connector.importing.rows import row_id
from connector.importing.store import BATCH_ROWS, Prepared, Spool, store_events
from connector.pipeline.compaction import fold_on_base
from connector.pipeline.facts import local_date
from connector.pipeline.folds import CaseFold, WorkerFold
from connector.pipeline.inbox import Inbox
from connector.store.database import Database
from connector.store.event_codec import event_to_json
from rules.events import CaseAllocated, CaseDeallocated, CaseStatusChanged, Event, WorkerUpdated
from rules.model import CaseFacts, WorkerFacts

RECONCILED_KINDS = ("workers", "allocations", "statuses")
WORKER_FIELDS = (
    "team_id",
    "supervisor_id",
    "job_role",
    "case_holding",
    "supervises_case_holders",
    "frontline",
    "asye",
    "employment",
    "start_date",
    "end_date",
)


@dataclass
class ReconcileCounts:
    allocated: int = 0  # allocations the extract has and the connector did not
    deallocated: int = 0  # allocations the connector held and the extract lacks
    statuses: int = 0
    workers: int = 0

    @property
    def total(self) -> int:
        return self.allocated + self.deallocated + self.statuses + self.workers


class _Held:
    """The connector's side: events about a subject up to the as-of time."""

    def __init__(self, db: Database, tenant: str, platform: str, as_of: datetime) -> None:
        self.inbox = Inbox(db)
        self.tenant = tenant
        self.platform = platform
        self.as_of = as_of

    def events(self, subject: str) -> list[Event]:
        found = self.inbox.events_about(self.tenant, self.platform, subject)
        return [e for e in found if e.occurred_at <= self.as_of]

    def case(self, subject: str) -> CaseFacts | None:
        # From the compaction base: an open case's oldest raw events are folded into it and deleted.
        fold = fold_on_base(self.inbox.db, self.tenant, self.platform, subject, self.events(subject))
        return fold.facts() if isinstance(fold, CaseFold) else None

    def worker(self, subject: str) -> WorkerFacts | None:
        fold = fold_on_base(self.inbox.db, self.tenant, self.platform, subject, self.events(subject))
        return fold.facts() if isinstance(fold, WorkerFold) else None


def corrective(event: Event, tenant: str, platform: str, as_of: datetime) -> Event:
    """The event again, as the reconcile of `as_of` tells it: its own id, the extract's time."""
    body = event_to_json(event)
    body.pop("event_id")
    body.pop("occurred_at")
    event_id = row_id(f"reconcile:{local_date(as_of).isoformat()}", tenant, platform, event.type_name, body)
    return dataclasses.replace(event, event_id=event_id, occurred_at=as_of)


def _allocation_corrections(held: _Held, spool: Spool, counts: ReconcileCounts) -> Iterator[Event]:
    tenant, platform, as_of = held.tenant, held.platform, held.as_of
    for subject, rows in spool.by_subject("allocations"):
        extract = {e.worker_id: e for e in (p.event() for p in rows) if isinstance(e, CaseAllocated)}
        case = held.case(subject)
        holding = {a.worker_id: a for a in case.allocations} if case is not None else {}
        for worker_id, wanted in sorted(extract.items()):
            have = holding.get(worker_id)
            if (
                have is None
                or have.team_id != wanted.team_id
                or have.relationship != wanted.relationship.value
                or have.start_date != wanted.start_date
            ):
                counts.allocated += 1
                yield corrective(wanted, tenant, platform, as_of)
        for worker_id in sorted(set(holding) - set(extract)):
            counts.deallocated += 1
            yield _deallocation(subject, worker_id, tenant, platform, as_of)
    # A case the connector holds allocations for and the extract has no allocation of at all.
    for case_id in held.inbox.subjects(tenant, platform, "case"):
        subject = f"case:{case_id}"
        if spool.has(
            "allocations", subject
        ):  # an indexed look-up: the extract's cases are not held in memory
            continue
        case = held.case(subject)
        for allocation in case.allocations if case is not None else ():
            counts.deallocated += 1
            yield _deallocation(subject, allocation.worker_id, tenant, platform, as_of)


def _deallocation(subject: str, worker_id: str, tenant: str, platform: str, as_of: datetime) -> Event:
    event = CaseDeallocated("", as_of, subject.split(":", 1)[1], worker_id, local_date(as_of))
    return corrective(event, tenant, platform, as_of)


def _status_corrections(held: _Held, spool: Spool, counts: ReconcileCounts) -> Iterator[Event]:
    for subject, rows in spool.by_subject("statuses"):
        statuses = [e for e in (p.event() for p in rows) if isinstance(e, CaseStatusChanged)]
        if not statuses:
            continue
        wanted = max(statuses, key=lambda e: e.start_date)
        case = held.case(subject)
        have = case.status if case is not None else None
        if (
            have is None
            or have.status != wanted.status
            or have.start_date != wanted.start_date
            or (wanted.fsm is not None and wanted.fsm != have.fsm)
            # Childview's: whether the young person is also looked after (an empty cell: not said).
            or (wanted.looked_after is not None and wanted.looked_after != have.looked_after)
            or (
                wanted.permanency_plan_agreed is not None
                and wanted.permanency_plan_agreed != have.permanency_plan_agreed
            )
        ):
            counts.statuses += 1
            yield corrective(wanted, held.tenant, held.platform, held.as_of)


def _worker_corrections(held: _Held, spool: Spool, counts: ReconcileCounts) -> Iterator[Event]:
    for subject, rows in spool.by_subject("workers"):
        updates = [e for e in (p.event() for p in rows) if isinstance(e, WorkerUpdated)]
        if not updates:
            continue
        wanted = updates[-1]
        worker = held.worker(subject)
        if worker is None or any(getattr(worker, f) != getattr(wanted, f) for f in WORKER_FIELDS):
            counts.workers += 1
            yield corrective(wanted, held.tenant, held.platform, held.as_of)


def reconcile(
    db: Database, tenant: str, platform: str, spool: Spool, kinds: tuple[str, ...], as_of: datetime
) -> ReconcileCounts:
    """Store a corrective event for each difference between the spooled full extract and the connector."""
    held = _Held(db, tenant, platform, as_of)
    counts = ReconcileCounts()
    # Workers first: a corrected worker is then the one the allocations below are compared against.
    for kind, corrections in (
        ("workers", _worker_corrections),
        ("allocations", _allocation_corrections),
        ("statuses", _status_corrections),
    ):
        if kind not in kinds:
            continue
        batch: list[Prepared] = []
        for event in corrections(held, spool, counts):
            batch.append(Prepared.of(event.event_id, event))
            if len(batch) >= BATCH_ROWS:
                _store(db, tenant, platform, batch)
                batch = []
        _store(db, tenant, platform, batch)
    return counts


def _store(db: Database, tenant: str, platform: str, batch: list[Prepared]) -> None:
    if batch:
        with db.transaction() as conn:
            store_events(db, conn, tenant, platform, "reconcile", batch)
