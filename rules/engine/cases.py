"""Case-level obligations of each worker allocated to an open case: case supervision, FSM group supervision
and the records owed after booked sessions."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from operator import attrgetter
from typing import TYPE_CHECKING

from rules.codes import YOUTH_JUSTICE_DISPOSALS
from rules.dates import format_day
from rules.engine.build import check_made, obligation
from rules.engine.settle import (
    assignee,
    earliest,
    fixed_contenders,
    held_day,
    held_sessions,
    recorded,
    strictest,
)
from rules.engine.workers import personal_of
from rules.explain import Later, cited, label
from rules.model import Basis, CaseAllocation, CaseFacts, Obligation, Session, WorkerFacts
from rules.pack import Rule
from rules.schedules.assignment import roles
from rules.schedules.base import basis_of, booked_on, new_clock

if TYPE_CHECKING:
    from rules.engine import Engine


def for_case(
    engine: Engine, case: CaseFacts, workers: Mapping[str, WorkerFacts], as_of: date
) -> list[Obligation]:
    if case.closed_on is not None:
        return []  # rule 5: a closed case owes nothing
    obligations: list[Obligation] = []
    allocations = case.allocations
    status = case.status
    # Which rules apply depends only on a few codes and flags (the worker's: those a case rule names), so the
    # answer is kept per combination (`case_rules`): a national caseload has thousands of cases for each. The
    # key is made here, in the loop, as the lookup is most of what a case costs before its dates.
    status_key = (
        None
        if status is None
        else (status.status, status.permanency_plan_agreed, status.fsm, status.looked_after)
    )
    applicable = engine.applicable
    worker_key = engine.case_worker_key
    for allocation in allocations if len(allocations) < 2 else sorted(allocations, key=_by_worker):
        worker = workers.get(allocation.worker_id)
        if worker is not None and worker.end_date is not None and worker.end_date <= as_of:
            continue  # rule 5: a worker who left owes nothing (settle.left, written out in the hot loop)
        key = (allocation.relationship, status_key, None if worker is None else worker_key(worker))
        rules = applicable.get(key)
        if rules is None:
            rules = applicable[key] = case_rules(engine, case, allocation, worker)
        if rules.case_supervision:
            found = _case_supervision(engine, rules, case, allocation, worker, as_of)
            if found is not None:
                obligations.append(found)
        if rules.fsm_group:
            found = _fsm_group(engine, rules.fsm_group, case, allocation, worker, as_of)
            if found is not None:
                obligations.append(found)
        if rules.records and case.bookings:
            obligations += _records(engine, rules.records, case, allocation, worker, as_of)
    return obligations


_by_worker = attrgetter("worker_id")
_new = object.__new__


@dataclass(frozen=True, slots=True)
class CaseRules:
    """The rules in force for one worker's allocation to a case, by kind, and what follows from them alone."""

    case_supervision: tuple[Rule, ...]
    fsm_group: tuple[Rule, ...]
    records: tuple[Rule, ...]
    # Whether a case supervision rule is about a status, so its first date may count from the status's start.
    by_status: bool
    # The case supervision rules that contend whatever the clock (rule 3), when none decides by the clock.
    supervision_contenders: tuple[Rule, ...] | None
    # Whether a case supervision rule reads the worker's own sessions and personal supervision (`Clock.own`,
    # `Clock.personal`), so they are worked out at all.
    asks_personal: bool
    # The ids of the case supervision and FSM group rules, and of the record rules (read only for a case with
    # bookings): what `case_reads` reports.
    timing_ids: frozenset[str]
    record_ids: frozenset[str]


def case_rules(
    engine: Engine, case: CaseFacts, allocation: CaseAllocation, worker: WorkerFacts | None
) -> CaseRules:
    """The rules in force for this allocation (kept by `for_case` under its codes and flags)."""
    status = case.status
    counts_as = engine.pack.counts_as(status)

    def of(kind: str) -> tuple[Rule, ...]:
        return tuple(
            r
            for r in engine.pack.rules_of(kind)
            if r.applies_to.case_matches(status, allocation, counts_as)
            and r.applies_to.worker_matches(worker)
        )

    supervision = of("case_supervision")
    fsm_group = of("fsm_group_supervision")
    records = of("supervision_record")
    return CaseRules(
        supervision,
        fsm_group,
        records,
        any(r.applies_to.statuses is not None for r in supervision),
        fixed_contenders(supervision),
        any(r.schedule.reads_personal for r in supervision),
        frozenset(r.id for r in (*supervision, *fsm_group)),
        frozenset(r.id for r in records),
    )


def case_reads(
    engine: Engine, case: CaseFacts, workers: Mapping[str, WorkerFacts], as_of: date
) -> frozenset[str]:
    """The ids of the case-level timing rules whose schedules `for_case` reads for this case: the rules that
    apply to one of its allocations (the same answers `for_case` keeps, so this costs a lookup per allocation).
    A rule left out is read only for whether it applies, so changing anything of it but its `applies_to` cannot
    change this case's obligations (connector/pipeline/rule_change.py narrows a pack change with this)."""
    if case.closed_on is not None:
        return frozenset()
    status = case.status
    status_key = (
        None
        if status is None
        else (status.status, status.permanency_plan_agreed, status.fsm, status.looked_after)
    )
    found: frozenset[str] = frozenset()
    for allocation in case.allocations:
        worker = workers.get(allocation.worker_id)
        if worker is not None and worker.end_date is not None and worker.end_date <= as_of:
            continue
        key = (allocation.relationship, status_key, None if worker is None else engine.case_worker_key(worker))
        rules = engine.applicable.get(key)
        if rules is None:
            rules = engine.applicable[key] = case_rules(engine, case, allocation, worker)
        found |= rules.timing_ids
        if case.bookings:
            found |= rules.record_ids
    return found


def case_start(case: CaseFacts, allocation: CaseAllocation, with_status: bool) -> Basis:
    """What a first due date counts from: the later of the allocation (or transfer), the status (for a status
    rule) and when the connector first heard of the case (rule 13); on a tie the first named."""
    # Asked for every allocation of every case: compare the dates, and name only the fact that wins.
    on, winner = allocation.start_date, 0
    status = case.status
    if with_status and status is not None and status.start_date > on:
        on, winner = status.start_date, 1
    if case.known_since > on:
        on, winner = case.known_since, 2
    if winner == 0:
        return basis_of("transfer" if allocation.transferred else "allocation", on)
    if winner == 1 and status is not None:
        return basis_of(f"{_status_words(status.status)} began", on)
    return basis_of("first event the connector received about the case", on)


def _case_supervision(
    engine: Engine,
    rules: CaseRules,
    case: CaseFacts,
    allocation: CaseAllocation,
    worker: WorkerFacts | None,
    as_of: date,
) -> Obligation | None:
    pack = engine.pack
    kinds = pack.qualifying_case_sessions  # pack.sessions_for("case_supervision"), read once
    index = case.held
    qualifying = held_sessions(case.sessions, kinds, index)
    # Rule 8: a keyworker's clock is the child's (sessions of this and earlier keyworkers count, not those of
    # workers only involved in the case now); an involved worker's clock is their own.
    holder = allocation.worker_id
    sessions: Sequence[Session]
    # Every qualifying session this worker held on the case, in any allocation of it: an involved worker's clock,
    # and what numbers their cycles.
    mine = (
        index.own_since(kinds, holder, date.min)
        if index is not None
        else [s for s in qualifying if s.worker_id == holder]
    )
    if not allocation.is_keyworker:
        sessions = mine
    elif len(case.allocations) > 1:
        involved = {a.worker_id for a in case.allocations if not a.is_keyworker}
        sessions = [s for s in qualifying if s.worker_id not in involved]
    else:
        sessions = qualifying
    since = allocation.start_date
    clock = new_clock(
        as_of,
        engine.calendar,
        case_start(case, allocation, with_status=False),
        sessions,
        # A status rule's start is read only when no session has been held (`Clock.start_for`).
        status_start=case_start(case, allocation, with_status=True)
        if rules.by_status and not sessions
        else None,
        since=since,
        relationship=allocation.relationship,
        permanency_plan_agreed=case.status is not None and case.status.permanency_plan_agreed,
        worker=worker,
        # This allocation's own sessions (`mine` is in held order: its tail from `since`) and the worker's
        # personal supervision, for the rules that read them.
        own=mine[bisect_left(mine, since, key=held_day) :] if rules.asks_personal else (),
        personal=personal_of(engine, worker, as_of) if rules.asks_personal and worker is not None else None,
    )
    fixed = rules.supervision_contenders
    settled = strictest(rules.case_supervision, clock) if fixed is None else earliest(fixed, clock)
    if settled is None:
        return None
    form: list[tuple[str, str | Later]] = []
    if engine.carries_actions:
        carried = _new(PreviousActions)  # `made`, written out
        carried.__dict__.update(previous=qualifying[-1] if qualifying else None, as_of=as_of)
        form = [("previous_actions", carried)] * engine.carries_actions
    # A cycle ends with each qualifying session this worker held on the case, in any allocation of it: counted
    # from this allocation's start only, a worker given the child back (or kept across a transfer) would start
    # again at a cycle number a session already met, and a met cycle is never reopened.
    return obligation(
        pack,
        "case_supervision",
        scope=case.case_id,
        holder=allocation.worker_id,
        cycle=1 + len(mine),
        assignee=allocation.worker_id,
        case_id=case.case_id,
        team_id=allocation.team_id or (worker.team_id if worker else None),
        settled=settled,
        supervisor_id=None if worker is None else worker.supervisor_id,
        what=f"Case supervision for person {case.case_id}",
        form=form,
        more=_disposal_named(case) if case.status is not None and case.status.status in _DISPOSALS else (),
    )


_DISPOSALS = frozenset(YOUTH_JUSTICE_DISPOSALS)  # asked of every case: a set, not the contract's tuple


def _status_words(status: str) -> str:
    return f"youth justice disposal {status}" if status in YOUTH_JUSTICE_DISPOSALS else f"status {status}"


def _disposal_named(case: CaseFacts) -> list[str]:
    """A Youth Offending Service case says which disposal it is under, though no rule of the policy names one."""
    status = case.status
    if status is None or status.status not in _DISPOSALS:
        return []
    looked_after = ", and looked after" if status.looked_after else ""
    return [
        f"a Youth Offending Service case ({_status_words(status.status)} since {format_day(status.start_date)}{looked_after})"
    ]


def _fsm_group(
    engine: Engine,
    applicable: Sequence[Rule],
    case: CaseFacts,
    allocation: CaseAllocation,
    worker: WorkerFacts | None,
    as_of: date,
) -> Obligation | None:
    pack = engine.pack
    kind = "fsm_group_supervision"
    sessions = held_sessions(case.sessions, pack.sessions_for(kind), case.held)
    clock = new_clock(
        as_of,
        engine.calendar,
        case_start(case, allocation, with_status=True),
        sessions,
        relationship=allocation.relationship,
        permanency_plan_agreed=case.status is not None and case.status.permanency_plan_agreed,
        worker=worker,
    )
    settled = strictest(applicable, clock)
    if settled is None:
        return None
    team_id = allocation.team_id or (worker.team_id if worker else None)
    more: list[str] = []
    form: list[tuple[str, str]] = []
    for rule, role in roles(pack.content_of(kind)):
        # Rule 12: the keyworker has the step; the team's administrator records the session.
        who = f"the {role.replace('_', ' ').lower()} of team {team_id or 'the keyworker'}"
        more.append(f"{who} records it ({cited(rule)})")
        form.append(("recorded_by", f"{who} ({rule.id}, {rule.source})"))
    return obligation(
        pack,
        kind,
        scope=case.case_id,
        holder=allocation.worker_id,
        cycle=1 + sum(1 for s in sessions if s.held_on >= allocation.start_date),
        assignee=allocation.worker_id,
        case_id=case.case_id,
        team_id=team_id,
        settled=settled,
        supervisor_id=None if worker is None else worker.supervisor_id,
        what=f"FSM group casework supervision for person {case.case_id}",
        form=form,
        more=more,
    )


def _records(
    engine: Engine,
    rules: Sequence[Rule],
    case: CaseFacts,
    allocation: CaseAllocation,
    worker: WorkerFacts | None,
    as_of: date,
) -> list[Obligation]:
    """Rule 11: a recording deadline starts from a booked session, counts from the booked date, and is met
    when the session is recorded (a case supervision of that child, whatever the booking was for: Bracknell
    records each child at a personal supervision)."""
    pack = engine.pack
    kind = "supervision_record"
    found = []
    for booking in case.bookings:
        if booking.cancelled or booking.worker_id != allocation.worker_id:
            continue
        day = booked_on(booking)
        if recorded(case.sessions, booking, day, case.case_id, pack.sessions_for("case_supervision")):
            continue
        basis = Basis(f"{label(booking.kind)} booked", day)
        settled = strictest(rules, new_clock(as_of, engine.calendar, basis, booking=booking, worker=worker))
        if settled is None:
            continue
        found.append(
            obligation(
                pack,
                kind,
                scope=f"booking-{booking.booking_id}-{case.case_id}",
                holder=allocation.worker_id,
                cycle=1,
                assignee=assignee(settled.rules[0], allocation.worker_id, booking.supervisor_id, worker),
                case_id=case.case_id,
                team_id=allocation.team_id or booking.team_id,
                settled=settled,
                supervisor_id=None if worker is None else worker.supervisor_id,
                what=f"The supervision record for person {case.case_id} from the {label(booking.kind)} booked for {format_day(day)}",
            )
        )
    return found


@dataclass(frozen=True)
class PreviousActions(Later):
    """LINC-CARRY: the actions agreed at the case's previous case supervision, carried forward for review as
    owner, due date and whether now overdue (their text is never kept)."""

    previous: Session | None
    as_of: date

    def write(self) -> str:
        previous = self.previous
        if previous is None or not previous.actions:
            return "No actions were recorded at the previous case supervision."
        listed = "; ".join(
            f"{n}. owner {a.owner_worker_id or 'not set'}, due {a.due_date.isoformat() if a.due_date else 'not set'}"
            + (" (overdue)" if a.due_date is not None and a.due_date < self.as_of else "")
            for n, a in enumerate(previous.actions, start=1)
        )
        return f"Agreed at the case supervision held {previous.held_on.isoformat()}: {listed}"


check_made(PreviousActions, {"previous", "as_of"})
