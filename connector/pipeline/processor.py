"""Processing: accepted events -> facts -> the tenant's rules -> ledger diff -> outbox, in one transaction.

Recompute, don't patch: each affected case, worker and team is re-folded from every event stored about it and
re-evaluated whole, so duplicates and any delivery order converge on the same obligations.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from connector.config import Config, TenantConfig
from connector.pipeline.facts import TEAM_FACT_EVENTS, fold_case, fold_team, fold_worker
from connector.pipeline.failures import record_failures
from connector.pipeline.inbox import Inbox, InboxItem
from connector.pipeline.ledger import DiffCounts, Ledger
from connector.pipeline.met import Held, booked_ahead_kinds, held_of, meeting_session, met_by_sessions
from connector.pipeline.outbox import Outbox
from connector.store.database import Database
from rules.calendar import WorkingCalendar
from rules.engine import Engine
from rules.events import Event, ShiftWorked, SupervisionBooked, SupervisionRecorded, WorkerUpdated
from rules.model import CaseFacts, Obligation, WorkerFacts

log = logging.getLogger(__name__)

REEVALUATION_SLICE = 500
WORKER_FACT_EVENTS = (WorkerUpdated, ShiftWorked, SupervisionBooked, SupervisionRecorded)


@dataclass
class _Facts:
    """Folds made during one batch, so a subject touched by many events is folded once."""

    inbox: Inbox
    tenant: str
    platform: str
    events: dict[str, list[Event]] = field(default_factory=dict)
    cases: dict[str, CaseFacts | None] = field(default_factory=dict)
    workers: dict[str, WorkerFacts | None] = field(default_factory=dict)

    def about(self, subject: str) -> list[Event]:
        if subject not in self.events:
            self.events[subject] = self.inbox.events_about(self.tenant, self.platform, subject)
        return self.events[subject]

    def case(self, case_id: str) -> CaseFacts | None:
        if case_id not in self.cases:
            self.cases[case_id] = fold_case(case_id, self.about(f"case:{case_id}"))
        return self.cases[case_id]

    def worker(self, worker_id: str) -> WorkerFacts | None:
        if worker_id not in self.workers:
            self.workers[worker_id] = fold_worker(worker_id, self.about(f"worker:{worker_id}"))
        return self.workers[worker_id]


class Evaluator:
    """Evaluates one tenant's rule pack on subjects of one platform; pure apart from reading the inbox."""

    def __init__(self, tenant: TenantConfig) -> None:
        self.tenant = tenant
        self.engine = Engine(tenant.rule_pack, WorkingCalendar(tenant.closure_days))

    def obligations(self, facts: _Facts, owner: str, today: date) -> list[Obligation]:
        kind, subject_id = owner.split(":", 1)
        if kind == "case":
            case = facts.case(subject_id)
            if case is None:
                return []
            workers = {a.worker_id: facts.worker(a.worker_id) for a in case.allocations}
            known = {w: f for w, f in workers.items() if f is not None}
            return self.engine.for_case(case, known, today)
        if kind == "worker":
            if not self.engine.has_worker_rules:
                return []
            worker = facts.worker(subject_id)
            return [] if worker is None else self.engine.for_worker(worker, today)
        if not self.engine.has_team_rules:
            return []
        members = []
        # A member is someone whose worker.updated names the team; workers seen only on its cases are not folded.
        named = [e for e in facts.about(f"team:{subject_id}") if isinstance(e, WorkerUpdated)]
        for other in _ids(named, "worker"):
            member = facts.worker(other)
            if member is not None and member.team_id == subject_id and member.end_date is None:
                members.append(member)
        team = fold_team(
            subject_id,
            members,
            facts.about(f"team:{subject_id}"),
            self.tenant.team_tags.get(subject_id, frozenset()),
        )
        return self.engine.for_team(team, today)


def _ids(events: Iterable[Event], kind: str) -> set[str]:
    found: set[str] = set()
    for event in events:
        found.update(event.worker_ids() if kind == "worker" else event.case_ids())
    return found


def owners_affected(facts: _Facts, event: Event) -> set[str]:
    """Every subject whose obligations may change because of this event."""
    owners = {f"case:{c}" for c in event.case_ids()}
    if isinstance(event, TEAM_FACT_EVENTS):
        owners |= {f"team:{t}" for t in event.team_ids()}
    for worker_id in event.worker_ids():
        owners.add(f"worker:{worker_id}")
        if isinstance(event, WORKER_FACT_EVENTS):
            # A worker's own facts feed every case they hold (e.g. case supervision at each personal
            # supervision) and their team; an allocation changes neither for the worker's other cases.
            history = facts.about(f"worker:{worker_id}")
            owners |= {f"case:{c}" for c in _ids(history, "case")}
            # Every team the worker was in: a move leaves the old team's manager duties to re-evaluate too.
            owners |= {f"team:{t}" for e in history if isinstance(e, WorkerUpdated) for t in e.team_ids()}
    return owners


class Processor:
    def __init__(self, db: Database, config: Config, today: Callable[[], date]) -> None:
        self.db = db
        self.config = config
        self.today = today
        self.inbox = Inbox(db)
        self.ledger = Ledger(db, Outbox(db))
        self.evaluators = {tid: Evaluator(t) for tid, t in config.tenants.items()}
        # The owners the last `reevaluate_all` could not evaluate, with the reason (also kept in `failures`).
        self.failed_owners: dict[str, str] = {}

    def run_once(self, limit: int = 200) -> int:
        """Process up to `limit` pending events; returns how many were processed."""
        items = self.inbox.pending(limit)
        if not items:
            return 0
        try:
            self._process(items)
        except Exception:
            # One bad event must not block the rest: retry one by one and set aside what still fails.
            log.exception("batch of %d events failed; retrying one by one", len(items))
            failed = [item for item in items if not self._process_alone(item)]
            if len(failed) > 1:
                # A good event folded beside a still-pending bad one of the same subject failed with it; now
                # that the bad ones are set aside (and left out of folds), each gets one more try on its own.
                for item in failed:
                    self.inbox.set_pending(item.seq)
                    self._process_alone(item)
        return len(items)

    def _process_alone(self, item: InboxItem) -> bool:
        """Process one event; when it fails, mark it failed with the reason. True when processed."""
        try:
            self._process([item])
        except Exception as exc:
            log.exception("event seq %d (%s) could not be processed", item.seq, item.webhook_id)
            self.inbox.mark_failed(item.seq, f"{type(exc).__name__}: {exc}")
            return False
        return True

    def retry_event(self, seq: int) -> tuple[str, str | None] | None:
        """Process one failed event again now: (its new state, the reason if it failed again); None if no such
        failed event. Back to pending first, so its own event is folded again."""
        item = self.inbox.item(seq)
        state = self.inbox.state_of(seq)
        if item is None or state is None or state[0] != "failed":
            return None
        self.inbox.set_pending(seq)
        self._process_alone(item)
        return self.inbox.state_of(seq)

    def run_until_idle(self, limit: int = 200) -> int:
        total = 0
        while True:
            count = self.run_once(limit)
            total += count
            if count == 0:
                return total

    def _process(self, items: list[InboxItem]) -> DiffCounts:
        # Evaluate first, outside the write lock (folding and rules are the slow part), then apply the diffs in
        # one short transaction. Events accepted meanwhile stay pending and are evaluated in the next batch, so
        # the result still converges. Only one worker per database may do this (see the README).
        today = self.today()
        groups: dict[tuple[str, str], list[InboxItem]] = {}
        for item in items:
            groups.setdefault((item.tenant, item.platform), []).append(item)
        plans: list[_Plan] = []
        for (tenant_id, platform), group in groups.items():
            evaluator = self.evaluators.get(tenant_id)
            if evaluator is None:
                raise RuntimeError(f"tenant {tenant_id!r} is no longer configured")
            facts = _Facts(self.inbox, tenant_id, platform)
            owners: set[str] = set()
            steps: list[tuple[str, Held]] = []
            for item in group:
                owners |= owners_affected(facts, item.event)
                if isinstance(item.event, SupervisionRecorded) and item.event.step_ref:
                    steps.append((item.event.step_ref, held_of(item.event)))
            plans.append(
                _Plan(evaluator, platform, steps, self._desired(evaluator, facts, owners, today), facts)
            )
        with self.db.transaction() as conn:
            totals = self._apply(conn, plans, today)
            self.inbox.mark_processed(conn, [item.seq for item in items])
        return totals

    def _desired(
        self, evaluator: Evaluator, facts: _Facts, owners: Iterable[str], today: date
    ) -> list[tuple[str, list[Obligation]]]:
        return [(owner, evaluator.obligations(facts, owner, today)) for owner in sorted(owners)]

    def _desired_each(
        self, evaluator: Evaluator, facts: _Facts, owners: Iterable[str], today: date
    ) -> tuple[list[tuple[str, list[Obligation]]], dict[str, str]]:
        """As `_desired`, but one owner's error is logged (ids only) and returned instead of raised, so the
        others go on. A failed owner is left out of the diff: its ledger rows stay as they were rather than
        being withdrawn as if nothing were owed."""
        desired: list[tuple[str, list[Obligation]]] = []
        failed: dict[str, str] = {}
        for owner in sorted(owners):
            try:
                desired.append((owner, evaluator.obligations(facts, owner, today)))
            except Exception as exc:
                log.exception("tenant %s: %s could not be evaluated", evaluator.tenant.id, owner)
                failed[owner] = f"{type(exc).__name__}: {exc}"
        return desired, failed

    def _apply(self, conn: sqlite3.Connection, plans: list[_Plan], today: date) -> DiffCounts:
        totals = DiffCounts()
        for plan in plans:
            tenant = plan.evaluator.tenant
            for step_ref, session in plan.completed_steps:
                # The platform completed this step: never cancel it, whatever the diff says next.
                self.ledger.mark_closed_by_step(conn, tenant.id, plan.platform, step_ref, session, today)
            for owner, desired in plan.desired:
                pack = plan.evaluator.engine.pack
                events = plan.facts.about(owner)
                met_by = met_by_sessions(events, pack.sessions_for, booked_ahead_kinds(pack))
                held_by = meeting_session(events, pack.sessions_for)
                counts = self.ledger.apply(
                    conn,
                    tenant.id,
                    plan.platform,
                    tenant.reference_prefix,
                    owner,
                    desired,
                    today,
                    met_by=met_by,
                    held_by=held_by,
                )
                totals = _add(totals, counts)
        return totals

    def reevaluate_all(self, tenant_id: str, platform: str) -> DiffCounts:
        """Re-evaluate every subject a tenant's events ever mentioned (after a rule or config change, or daily)."""
        evaluator = self.evaluators[tenant_id]
        owners = sorted(
            f"{kind}:{sid}"
            for kind in ("case", "worker", "team")
            for sid in self.inbox.subjects(tenant_id, platform, kind)
        )
        today = self.today()
        totals = DiffCounts()
        self.failed_owners = {}
        # In slices, each its own short transaction, so webhooks are never kept waiting for the write lock while
        # a whole caseload is re-evaluated; folds are not kept between slices, so memory stays flat too.
        for start in range(0, len(owners), REEVALUATION_SLICE):
            facts = _Facts(self.inbox, tenant_id, platform)
            chunk = owners[start : start + REEVALUATION_SLICE]
            desired, failed = self._desired_each(evaluator, facts, chunk, today)
            plan = _Plan(evaluator, platform, [], desired, facts)
            with self.db.transaction() as conn:
                totals = _add(totals, self._apply(conn, [plan], today))
                record_failures(conn, tenant_id, platform, "evaluate", chunk, failed)
            self.failed_owners.update(failed)
        return totals


@dataclass(frozen=True)
class _Plan:
    evaluator: Evaluator
    platform: str
    completed_steps: list[tuple[str, Held]]
    desired: list[tuple[str, list[Obligation]]]
    facts: _Facts


def _add(a: DiffCounts, b: DiffCounts) -> DiffCounts:
    return DiffCounts(a.created + b.created, a.moved + b.moved, a.withdrawn + b.withdrawn, a.met + b.met)
