"""Processing: accepted events -> facts -> the tenant's rules -> ledger diff -> outbox, in one transaction.

Recompute, don't patch: each affected case, worker and team is re-evaluated whole from its facts, and its facts
are the fold of every event about it in order (kept, see kept_state.py), so duplicates and any delivery order
converge on the same obligations.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from datetime import date

from connector.config import Config
from connector.pipeline.collector import fewer_collections
from connector.pipeline.evaluator import Evaluated, Evaluator, _Facts
from connector.pipeline.facts_memo import FactsMemo
from connector.pipeline.failures import record_failures
from connector.pipeline.fold_cache import FoldCache
from connector.pipeline.folds import TEAM_FACT_EVENTS, WorkerFold
from connector.pipeline.inbox import Inbox, InboxItem, subject_keys
from connector.pipeline.kept_state import KeptState
from connector.pipeline.ledger import DiffCounts, Ledger
from connector.pipeline.met import (
    Held,
    held_of,
)
from connector.pipeline.outbox import Outbox
from connector.pipeline.owner_digest import desired_digest
from connector.pipeline.plans import Plan, add_counts
from connector.pipeline.prepared_diffs import prepare, write_prepared
from connector.pipeline.reevaluate_on import digest_unchanged, save_reevaluate_on, stored
from connector.pipeline.reevaluation import (
    WritePart,
    before_the_lock,
    earlier_failures,
    evaluate_each,
    owners_to_reevaluate,
    read_slice,
    slices,
    write_parts,
)
from connector.pipeline.reevaluation_processes import in_processes
from connector.pipeline.skipped import obligations_before, skipped_cycles
from connector.store.database import Database
from connector.store.engines.base import Connection
from connector.store.leases import turn
from rules.events import Event, ShiftWorked, SupervisionBooked, SupervisionRecorded, WorkerUpdated

log = logging.getLogger(__name__)

REEVALUATION_SLICE = 2000  # cases, or the weight of as many (reevaluation.SLICE_WEIGHTS)
FOLD_CACHE_SIZE = 50_000
WORKER_FACT_EVENTS = (WorkerUpdated, ShiftWorked, SupervisionBooked, SupervisionRecorded)


def owners_affected(facts: _Facts, event: Event) -> set[str]:
    """Every subject whose obligations may change because of this event (after the batch is applied)."""
    owners = {f"case:{c}" for c in event.case_ids()}
    if isinstance(event, TEAM_FACT_EVENTS):
        owners |= {f"team:{t}" for t in event.team_ids()}
    for worker_id in event.worker_ids():
        owners.add(f"worker:{worker_id}")
        # Only the worker an event is about has facts it changes (a supervision's supervisor, named in it, does
        # not): so a supervision that names a supervisor re-evaluates the supervisor, not every case they hold.
        if isinstance(event, WORKER_FACT_EVENTS) and getattr(event, "worker_id", None) == worker_id:
            fold = facts.kept.fold(f"worker:{worker_id}")
            assert isinstance(fold, WorkerFold)
            # A worker's own facts feed every case they hold (e.g. case supervision at each personal
            # supervision) and their team; an allocation changes neither for the worker's other cases. A case
            # they no longer hold was re-evaluated when it left them, and no longer reads their facts.
            owners |= {f"case:{c}" for c in fold.cases}
            # Every team the worker was in: a move leaves the old team's manager duties to re-evaluate too.
            owners |= {f"team:{t}" for t in fold.teams}
    return owners


class Processor:
    def __init__(
        self,
        db: Database,
        config: Config,
        today: Callable[[], date],
        fold_cache_size: int = FOLD_CACHE_SIZE,
    ) -> None:
        self.db = db
        self.config = config
        self.today = today
        self.inbox = Inbox(db)
        self.ledger = Ledger(db, Outbox(db))
        self.evaluators = {tid: Evaluator(t) for tid, t in config.tenants.items()}
        # Folds kept in memory between batches and re-evaluation slices (bounded; checked against the store).
        self.folds = FoldCache(fold_cache_size)
        # The owners the last `reevaluate_all` could not evaluate, with the reason (also kept in `failures`).
        self.failed_owners: dict[str, str] = {}
        # One batch or slice at a time: each folds from what it read before its commit, so two at once (the
        # work loop and the daily run's catch-up at start) would each save a fold without the other's events.
        # Taken from outside too: by compaction, and to put a re-evaluation's gates in place between batches.
        self.one_at_a_time = threading.RLock()
        # While a re-evaluation has parts in other processes (reevaluation_processes.py), each batch holds a lock
        # that each of their slices holds too: neither writes from folds read before the other's commit.
        self.batch_gate: AbstractContextManager[object] = nullcontext()
        self.slice_gate: AbstractContextManager[object] = nullcontext()
        # ... and their write transactions take turns, so intake waits behind one of them at most, as before.
        self.write_turn: AbstractContextManager[object] = nullcontext()

    def run_once(self, limit: int = 200) -> int:
        """Process up to `limit` pending events; returns how many were processed (0 while another process on
        the same PostgreSQL database has the processing turn: store/leases.py)."""
        with self.one_at_a_time, self.batch_gate, turn(self.db, "processing") as mine:
            return self._run_once(limit) if mine else 0

    def _run_once(self, limit: int) -> int:
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
        with self.one_at_a_time, self.batch_gate:
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
        kept_states: list[KeptState] = []
        try:
            return self._evaluate_and_apply(groups, kept_states, today, items)
        except BaseException:
            for kept in kept_states:
                kept.discard()
            raise

    def _evaluate_and_apply(
        self,
        groups: dict[tuple[str, str], list[InboxItem]],
        kept_states: list[KeptState],
        today: date,
        items: list[InboxItem],
    ) -> DiffCounts:
        """The batch's work; its kept states are added to `kept_states` as they are made, for `discard`."""
        plans: list[Plan] = []
        for (tenant_id, platform), group in groups.items():
            evaluator = self.evaluators.get(tenant_id)
            if evaluator is None:
                raise RuntimeError(f"tenant {tenant_id!r} is no longer configured")
            kept = KeptState(self.inbox, tenant_id, platform, self.folds, (item.seq for item in group))
            kept_states.append(kept)
            kept.apply(
                [item.event for item in group],
                {item.event.event_id: sorted(subject_keys(item.event)) for item in group},
            )
            facts = _Facts(kept)
            owners: set[str] = set()
            steps: list[tuple[str, Held]] = []
            new = frozenset(i.event.event_id for i in group if isinstance(i.event, SupervisionRecorded))
            for item in group:
                owners |= owners_affected(facts, item.event)
                if isinstance(item.event, SupervisionRecorded) and item.event.step_ref:
                    steps.append((item.event.step_ref, held_of(item.event)))
            found = self._desired(evaluator, facts, owners, today)
            desired = [(owner, got.obligations) for owner, got in found.items()]
            changes = {owner: got.day for owner, got in found.items()}
            reads = {owner: got.reads for owner, got in found.items()}
            plans.append(Plan(evaluator, platform, steps, desired, facts, changes, new_sessions=new, reads=reads))
        with self.db.transaction() as conn:
            totals = self._apply(conn, plans, today)
            for plan in plans:
                plan.facts.kept.save(conn)
            self.inbox.mark_processed(conn, [item.seq for item in items])
        for plan in plans:
            plan.facts.kept.publish()
            plan.evaluator.engine.personal.clear()  # as after a re-evaluation slice
        return totals

    def _desired(
        self, evaluator: Evaluator, facts: _Facts, owners: Iterable[str], today: date
    ) -> dict[str, Evaluated]:
        return {owner: evaluator.evaluate(facts, owner, today) for owner in sorted(owners)}

    def _apply(self, conn: Connection, plans: list[Plan], today: date) -> DiffCounts:
        totals = DiffCounts()
        for plan in plans:
            tenant = plan.evaluator.tenant
            for step_ref, session in plan.completed_steps:
                # The platform completed this step: never cancel it, whatever the diff says next.
                self.ledger.mark_closed_by_step(conn, tenant.id, plan.platform, step_ref, session, today)
            # An owner given the obligations its last diff stored the digest of has nothing to diff
            # (pipeline/owner_digest.py): only the others' ledger rows are read, in one query.
            owners = [owner for owner, _ in plan.desired]
            known = plan.known if plan.known is not None else stored(conn, tenant.id, plan.platform, owners)
            digests = plan.digests or {owner: desired_digest(desired) for owner, desired in plan.desired}
            to_diff = [(o, d) for o, d in plan.desired if not digest_unchanged(known, o, digests[o])]
            rows = self.ledger.rows_of(conn, tenant.id, plan.platform, to_diff)
            for owner, desired in to_diff:
                found = plan.checks.get(owner)
                met_by, held_by = found if found else plan.evaluator.met_checks(plan.facts, owner)
                # Asked only when a diff jumps past a cycle the batch's own sessions ended (skipped.py).
                before = obligations_before(plan.evaluator, plan.facts, owner, today)
                skipped = skipped_cycles(before, held_by, plan.new_sessions)
                counts = self.ledger.apply(
                    conn, tenant.id, plan.platform, tenant.reference_prefix, owner, desired, today,
                    met_by=met_by, held_by=held_by, rows=rows.get(owner, []), skipped=skipped,
                )  # fmt: skip
                totals = add_counts(totals, counts)
            save_reevaluate_on(conn, tenant.id, plan.platform, plan.changes, digests, known, plan.reads)
        return totals

    def reevaluate_all(
        self,
        tenant_id: str,
        platform: str,
        only_due: bool = False,
        kinds: frozenset[str] | None = None,
        case_rules: frozenset[str] | None = None,
    ) -> DiffCounts:
        """Re-evaluate every subject a tenant's events ever mentioned (after a rule or config change); with
        `only_due` (the daily run), only those whose obligations the day alone may have changed since they were
        last evaluated, and those never evaluated with a day to re-evaluate on (a database from before it); with
        `kinds` (a pack change that only some kinds of subject read), every subject of those and the due others;
        with `case_rules` too (a change of only those case-level rules), of the cases those they applied to."""
        with (
            turn(self.db, "processing", wait=True),
            fewer_collections(),
        ):  # another instance's turn is waited for
            if only_due:
                kinds, case_rules = frozenset(), None
            return self._reevaluate_all(tenant_id, platform, kinds, case_rules)

    def _reevaluate_all(
        self, tenant_id: str, platform: str, kinds: frozenset[str] | None, case_rules: frozenset[str] | None
    ) -> DiffCounts:
        today = self.today()
        owners = owners_to_reevaluate(self.db.conn, self.inbox, tenant_id, platform, today, kinds, case_rules)
        self.failed_owners = {}
        failed_before = earlier_failures(self.db.conn, tenant_id, platform)
        # Split across processes when there are enough owners to be worth starting one (reevaluation_processes).
        totals, self.failed_owners = in_processes(self, tenant_id, platform, owners, today, failed_before)
        return totals

    def reevaluate_part(
        self, tenant_id: str, platform: str, owners: list[str], today: date, failed_before: set[str]
    ) -> tuple[DiffCounts, dict[str, str]]:
        """Re-evaluate these owners in slices: the owners that could not be evaluated, with the reason."""
        evaluator = self.evaluators[tenant_id]
        totals = DiffCounts()
        failed_owners: dict[str, str] = {}
        memo = FactsMemo()
        # In slices, each evaluated whole before the write lock and written in short transactions of only what
        # changed (pipeline/reevaluation.py), so webhooks never wait long for the lock while a whole caseload is
        # re-evaluated; folds are kept between slices in the bounded cache, so a worker holding cases across
        # many slices is read once while memory stays bounded.
        for chunk in slices(owners, REEVALUATION_SLICE):
            with self.one_at_a_time, self.slice_gate:
                kept = KeptState(self.inbox, tenant_id, platform, self.folds)
                facts = _Facts(kept, memo=memo)
                read_slice(kept, facts, chunk)
                evaluated = evaluate_each(evaluator, facts, chunk, today)
                failed = evaluated.failed
                digests = {owner: desired_digest(obligations) for owner, obligations in evaluated.desired}
                known = stored(self.db.conn, tenant_id, platform, chunk)
                parts = write_parts(evaluated, digests, known)
                cleared = [owner for owner in chunk if owner in failed_before and owner not in failed]
                if not parts and (failed or cleared or kept.unsaved):
                    parts = [WritePart()]
                for n, part in enumerate(parts):
                    checks = before_the_lock(evaluator, facts, part)
                    plan = Plan(
                        evaluator, platform, [], part.desired, facts, part.changes, checks, digests, known,
                        reads=evaluated.reads,
                    )  # fmt: skip
                    prepared = prepare(self.ledger, self.db.conn, plan, today)
                    with self.write_turn, self.db.transaction() as conn:
                        counts = write_prepared(self.ledger, conn, plan, prepared)
                        if counts is None:  # a row changed since it was read: diffed again, in the lock
                            log.info("tenant %s: a write part's ledger rows changed; diffed again", tenant_id)
                            counts = self._apply(conn, [plan], today)
                        totals = add_counts(totals, counts)
                        if n == len(parts) - 1:
                            record_failures(conn, tenant_id, platform, "evaluate", cleared, failed)
                            # Subjects kept for the first time here (a database from before kept state) are stored.
                            kept.save(conn)
                kept.publish()
                # The engine's answers per worker hold the facts they were asked with, so they serve this slice's
                # facts only; kept, they held every worker's sessions of a whole re-evaluation in memory.
                evaluator.engine.personal.clear()
                failed_owners.update(failed)
        return totals, failed_owners
