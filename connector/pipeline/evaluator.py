"""One tenant's rule engine applied to the subjects of a batch or slice: their facts made from the kept folds, and
for each owner its desired obligations, the day to re-evaluate it on and, for a case, the rules it read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from connector.config import TenantConfig
from connector.pipeline.facts_memo import FactsMemo
from connector.pipeline.folds import CaseFold, TeamFold, WorkerFold
from connector.pipeline.kept_state import KeptState
from connector.pipeline.met import MetCheck, SessionFinder, booked_ahead_kinds, fold_checks
from connector.pipeline.reevaluate_on import reads_text
from rules.calendar import WorkingCalendar
from rules.engine import Engine
from rules.model import CaseFacts, Obligation, TeamFacts, WorkerFacts


class Evaluated(NamedTuple):
    obligations: list[Obligation]
    day: date | None  # the first day the day alone could change them (None: only a new fact can)
    # A case's case-level timing rules that applied to it (reevaluate_on.reads_text); None for a worker or team.
    reads: str | None


@dataclass
class _Facts:
    """The facts of one batch or slice, from the kept folds, each subject's made once."""

    kept: KeptState
    cases: dict[str, CaseFacts | None] = field(default_factory=dict)
    workers: dict[str, WorkerFacts | None] = field(default_factory=dict)
    # Workers' facts kept across a whole re-evaluation's slices (None: made once for this batch only).
    memo: FactsMemo | None = None

    def case(self, case_id: str) -> CaseFacts | None:
        if case_id not in self.cases:
            fold = self.kept.fold(f"case:{case_id}")
            self.cases[case_id] = fold.facts() if isinstance(fold, CaseFold) else None
        return self.cases[case_id]

    def worker(self, worker_id: str) -> WorkerFacts | None:
        if worker_id not in self.workers:
            fold = self.kept.fold(f"worker:{worker_id}")
            if self.memo is not None:
                self.workers[worker_id] = self.memo.worker(worker_id, fold)
            else:
                self.workers[worker_id] = fold.facts() if isinstance(fold, WorkerFold) else None
        return self.workers[worker_id]


class Evaluator:
    """Evaluates one tenant's rule pack on subjects of one platform; pure apart from reading the kept state."""

    def __init__(self, tenant: TenantConfig) -> None:
        self.tenant = tenant
        self.engine = Engine(tenant.rule_pack, WorkingCalendar(tenant.closure_days))
        self.booking_kinds = booked_ahead_kinds(tenant.rule_pack)
        self._reads: dict[frozenset[str], str] = {}

    def obligations(self, facts: _Facts, owner: str, today: date) -> list[Obligation]:
        kind, subject_id = owner.split(":", 1)
        if kind == "case":
            found = self._case(facts, subject_id)
            return [] if found is None else self.engine.for_case(*found, today)
        if kind == "worker":
            worker = self._worker(facts, subject_id)
            return [] if worker is None else self.engine.for_worker(worker, today)
        team = self._team(facts, owner)
        return [] if team is None else self.engine.for_team(team, today)

    def changes(self, facts: _Facts, owner: str, today: date) -> date | None:
        """The first day after `today` on which the owner's same facts could give other obligations (None: only
        a new fact can), so the daily run can leave it alone until then."""
        kind, subject_id = owner.split(":", 1)
        if kind == "case":
            found = self._case(facts, subject_id)
            return None if found is None else self.engine.case_changes(*found, today)
        if kind == "worker":
            worker = self._worker(facts, subject_id)
            return None if worker is None else self.engine.worker_changes(worker, today)
        team = self._team(facts, owner)
        return None if team is None else self.engine.team_changes(team, today)

    def evaluate(self, facts: _Facts, owner: str, today: date) -> Evaluated:
        obligations = self.obligations(facts, owner, today)
        kind, subject_id = owner.split(":", 1)
        if kind != "case":
            return Evaluated(obligations, self.changes(facts, owner, today), None)
        found = self._case(facts, subject_id)
        if found is None:
            return Evaluated(obligations, None, "")
        engine = self.engine
        return Evaluated(
            obligations,
            engine.case_changes(*found, today),
            self._reads_text(engine.case_reads(*found, today)),
        )

    def _reads_text(self, rules: frozenset[str]) -> str:
        # A caseload has a few combinations of rules: each one's text is made once.
        text = self._reads.get(rules)
        if text is None:
            text = self._reads[rules] = reads_text(rules)
        return text

    def _case(self, facts: _Facts, case_id: str) -> tuple[CaseFacts, dict[str, WorkerFacts]] | None:
        case = facts.case(case_id)
        if case is None:
            return None
        workers = {a.worker_id: facts.worker(a.worker_id) for a in case.allocations}
        return case, {w: f for w, f in workers.items() if f is not None}

    def _worker(self, facts: _Facts, worker_id: str) -> WorkerFacts | None:
        return facts.worker(worker_id) if self.engine.has_worker_rules else None

    def _team(self, facts: _Facts, owner: str) -> TeamFacts | None:
        if not self.engine.has_team_rules:
            return None
        subject_id = owner.split(":", 1)[1]
        fold = facts.kept.fold(owner)
        assert isinstance(fold, TeamFold)
        members = []
        # A member is someone whose worker.updated names the team; workers seen only on its cases are not folded.
        for other in sorted(fold.named):
            member = facts.worker(other)
            if member is not None and member.team_id == subject_id and member.end_date is None:
                members.append(member)
        return fold.facts(members, self.tenant.team_tags.get(subject_id, frozenset()))

    def met_checks(self, facts: _Facts, owner: str) -> tuple[MetCheck, SessionFinder]:
        """Whether each of the owner's ledger rows was met, and by which session, from its kept fold."""
        fold = facts.kept.fold(owner)
        return fold_checks(fold.held(), fold.booked(), self.engine.pack.sessions_for, self.booking_kinds)
