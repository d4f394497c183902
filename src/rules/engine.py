"""The rule engine: a pack's rules applied to one subject's facts give its desired open obligations.

Pure: plain values in, obligations out. The computation rules of RULES.md it follows are named where they act.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from rules.calendar import WorkingCalendar
from rules.dates import add_days, format_day
from rules.model import (
    Basis,
    CaseAllocation,
    CaseFacts,
    Obligation,
    Reason,
    Session,
    TeamFacts,
    WorkerFacts,
)
from rules.pack import LEVELS, Rule, RulePack


@dataclass(frozen=True)
class _Candidate:
    rule: Rule
    due: date
    basis: Basis


class Engine:
    def __init__(self, pack: RulePack, calendar: WorkingCalendar) -> None:
        self.pack = pack
        self.calendar = calendar
        self.case_rules = pack.rules_of("case_supervision")
        self.carries_actions = [
            r
            for r in pack.rules
            if r.schedule.type == "form_content" and r.schedule.field == "previous_actions"
        ]

    # --- cases ----------------------------------------------------------------------------------------------

    def for_case(self, case: CaseFacts, workers: Mapping[str, WorkerFacts], as_of: date) -> list[Obligation]:
        """Case supervision owed by each worker allocated to an open case."""
        if case.closed_on is not None or not self.case_rules:
            return []  # rule 5: a closed case owes nothing
        qualifying = sorted(
            (s for s in case.sessions if s.kind in self.pack.qualifying_case_sessions),
            key=lambda s: (s.held_on, s.session_id),
        )
        obligations = []
        for allocation in sorted(case.allocations, key=lambda a: a.worker_id):
            worker = workers.get(allocation.worker_id)
            if worker is not None and worker.end_date is not None and worker.end_date <= as_of:
                continue  # rule 5: a worker who left owes nothing
            obligation = self._case_supervision(case, allocation, qualifying, worker)
            if obligation is not None:
                obligations.append(obligation)
        return obligations

    def _case_supervision(
        self,
        case: CaseFacts,
        allocation: CaseAllocation,
        qualifying: Sequence[Session],
        worker: WorkerFacts | None,
    ) -> Obligation | None:
        # Rule 8: a keyworker's clock is the child's: sessions of this and earlier keyworkers count, but not those
        # of workers only involved in the case now. An involved worker's clock is their own.
        if allocation.is_keyworker:
            involved = {a.worker_id for a in case.allocations if not a.is_keyworker}
            clock = [s for s in qualifying if s.worker_id not in involved]
        else:
            clock = [s for s in qualifying if s.worker_id == allocation.worker_id]
        applicable = [r for r in self.case_rules if self._applies(r, case, allocation)]
        # Rule 3: a rule for a specific status or role replaces the general floor.
        if any(r.precedence == "specific" for r in applicable):
            applicable = [r for r in applicable if r.precedence != "general"]
        candidates = [c for r in applicable if (c := self._candidate(r, case, allocation, clock)) is not None]
        if not candidates:
            return None
        due = min(c.due for c in candidates)
        winners = [
            c for c in candidates if c.due == due
        ]  # strictest wins; every rule giving that date is kept
        basis = winners[0].basis
        reasons = tuple(Reason(c.rule.id, c.rule.source, self.pack.words(c.rule.words)) for c in winners)
        # A cycle ends with each session this worker held on the case since the allocation began.
        cycle = 1 + sum(
            1
            for s in qualifying
            if s.worker_id == allocation.worker_id and s.held_on >= allocation.start_date
        )
        team_id = allocation.team_id or (worker.team_id if worker is not None else None)
        return Obligation(
            kind="case_supervision",
            scope=case.case_id,
            holder=allocation.worker_id,
            cycle=cycle,
            assignee_id=allocation.worker_id,
            case_id=case.case_id,
            team_id=team_id,
            due_date=due,
            reasons=reasons,
            counted_from=basis,
            explanation=self._explain(f"Case supervision for person {case.case_id}", due, reasons, basis),
            form=self._case_form(due, reasons, basis, qualifying),
        )

    def _applies(self, rule: Rule, case: CaseFacts, allocation: CaseAllocation) -> bool:
        scope = rule.applies_to
        if scope.relationships is not None and allocation.relationship not in scope.relationships:
            return False
        if scope.statuses is not None and (case.status is None or case.status.status not in scope.statuses):
            return False
        agreed = case.status.permanency_plan_agreed if case.status is not None else False
        return scope.permanency_plan_agreed is None or scope.permanency_plan_agreed == agreed

    def _candidate(
        self, rule: Rule, case: CaseFacts, allocation: CaseAllocation, clock: Sequence[Session]
    ) -> _Candidate | None:
        schedule = rule.schedule
        start = self._start(case, allocation, rule)
        if schedule.type == "once_after":
            # Rule 8: met by any qualifying session held on or after the allocation date.
            if any(s.held_on >= allocation.start_date for s in clock):
                return None
            assert schedule.days is not None
            return _Candidate(rule, add_days(start.on, schedule.days), start)
        agreed = case.status.permanency_plan_agreed if case.status is not None else False
        days = schedule.interval_for(allocation.relationship, agreed)
        if days is None:
            return None
        if clock:
            # Rules 1, 4 and 7: from the date the last session was held, even if that makes it overdue at once.
            last = clock[-1]
            return _Candidate(rule, add_days(last.held_on, days), Basis(_held(last.kind), last.held_on))
        return _Candidate(rule, add_days(start.on, days), start)

    def _start(self, case: CaseFacts, allocation: CaseAllocation, rule: Rule) -> Basis:
        """The fact a first due date counts from: the later of the allocation (or transfer), the status the rule
        is about, and when the connector first heard of the case (rule 13)."""
        facts = [Basis("transfer" if allocation.transferred else "allocation", allocation.start_date)]
        if (
            rule.applies_to.statuses is not None
            and case.status is not None
            and rule.schedule.type == "interval"
        ):
            facts.append(Basis(f"start of status {case.status.status}", case.status.start_date))
        facts.append(Basis("first event the connector received about the case", case.known_since))
        latest = max(f.on for f in facts)
        return next(f for f in facts if f.on == latest)

    def _case_form(
        self, due: date, reasons: tuple[Reason, ...], basis: Basis, qualifying: Sequence[Session]
    ) -> tuple[tuple[str, str], ...]:
        form = [
            ("due_date", due.isoformat()),
            ("reason", "; ".join(f"{r.rule_id} ({r.source})" for r in reasons)),
            ("counted_from", f"{basis.fact} on {basis.on.isoformat()}"),
        ]
        if self.carries_actions:
            previous = qualifying[-1] if qualifying else None
            if previous is None or not previous.actions:
                text = "No actions were recorded at the previous case supervision."
            else:
                text = "; ".join(
                    f"{n}. owner {a.owner_worker_id or 'not set'}, due {a.due_date.isoformat() if a.due_date else 'not set'}"
                    for n, a in enumerate(previous.actions, start=1)
                )
                text = f"Agreed at the case supervision held {previous.held_on.isoformat()}: {text}"
            form.append(("previous_actions", text))
        return tuple(form)

    def _explain(self, what: str, due: date, reasons: tuple[Reason, ...], basis: Basis) -> str:
        why = "; ".join(f"{r.words} ({r.rule_id}, policy {r.source})" for r in reasons)
        return f"{what} is due by {format_day(due)}: {why}, counted from the {basis.fact} on {format_day(basis.on)}."

    # --- workers and teams ----------------------------------------------------------------------------------

    @property
    def has_worker_rules(self) -> bool:
        """False when the pack owes nothing at worker level, so callers can skip folding workers' histories."""
        return any(
            LEVELS.get(r.kind) == "worker" for r in self.pack.rules if r.schedule.type != "form_content"
        )

    @property
    def has_team_rules(self) -> bool:
        return any(LEVELS.get(r.kind) == "team" for r in self.pack.rules if r.schedule.type != "form_content")

    def for_worker(self, worker: WorkerFacts, as_of: date) -> list[Obligation]:
        """Worker-level obligations. This version's packs hold case supervision rules only, so none are owed."""
        return []

    def for_team(self, team: TeamFacts, as_of: date) -> list[Obligation]:
        """Team-level obligations. This version's packs hold case supervision rules only, so none are owed."""
        return []


def _held(kind: str) -> str:
    return {
        "case": "case supervision held",
        "ad_hoc": "ad hoc case discussion held",
        "allocation_discussion": "allocation discussion held",
        "ten_twenty_day_discussion": "10/20 day discussion held",
    }.get(kind, f"{kind.replace('_', ' ')} held")
