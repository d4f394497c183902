"""The rule engine: a pack's rules applied to one subject's facts give its desired open obligations.

Pure and deterministic: plain values in, obligations out, with the day of evaluation passed in. Each obligation
is one "slot" (kind, scope, holder): the rules that can time it are gathered, a specific rule that applies
replaces the general ones, and the earliest due date wins with every rule that gave it (rule 3). The computation
rules of RULES.md are named where they act.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from rules.calendar import WorkingCalendar
from rules.dates import add_days, add_months, end_of_next_month, format_day, month_end, year_starting
from rules.explain import basic_form, cited, explanation, held, label, ordinal, reasons_of
from rules.model import (
    Basis,
    Booking,
    CaseAllocation,
    CaseFacts,
    Obligation,
    Session,
    TeamFacts,
    WorkerFacts,
)
from rules.pack import (
    AfterSession,
    Assignment,
    BeforeBooking,
    BookedAhead,
    CalendarMonth,
    FormContent,
    Interval,
    OnceAfter,
    Phased,
    Rule,
    RulePack,
    Shifts,
    WithPersonalSupervision,
    YearlyCount,
)

LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class _Candidate:
    rule: Rule
    due: date
    basis: Basis


@dataclass(frozen=True)
class _Due:
    """The settled due date of one slot: the date, the rules that gave it, the fact it counted from."""

    due: date
    rules: tuple[Rule, ...]
    basis: Basis


_UNKNOWN = object()  # a cache slot whose due date is not worked out yet


def _strictest(applicable: Sequence[Rule], candidate: Callable[[Rule], _Candidate | None]) -> _Due | None:
    """Rule 3: a specific rule that applies replaces the general ones; then the earliest date wins, and every
    rule that gave that date is kept."""
    if any(r.precedence == "specific" for r in applicable):
        applicable = [r for r in applicable if r.precedence != "general"]
    candidates = [c for r in applicable if (c := candidate(r)) is not None]
    if not candidates:
        return None
    due = min(c.due for c in candidates)
    winners = [c for c in candidates if c.due == due]
    return _Due(due, tuple(c.rule for c in winners), winners[0].basis)


def _latest(*facts: Basis | None) -> Basis:
    """The latest of several starts (rule 13); on a tie the first named."""
    present = [f for f in facts if f is not None]
    on = max(f.on for f in present)
    return next(f for f in present if f.on == on)


def _by_held(sessions: Iterable[Session]) -> list[Session]:
    return sorted(sessions, key=lambda s: (s.held_on, s.session_id))


def _left(worker: WorkerFacts | None, as_of: date) -> bool:
    return worker is not None and worker.end_date is not None and worker.end_date <= as_of


def booked_on(booking: Booking) -> date:
    return booking.starts_at.astimezone(LONDON).date()


class Engine:
    def __init__(self, pack: RulePack, calendar: WorkingCalendar) -> None:
        self._personal_cache: dict[str, tuple[WorkerFacts, list[Session], object]] = {}
        self._applicable: dict[tuple[object, ...], list[Rule]] = {}
        self.pack = pack
        self.calendar = calendar
        # Asked for every subject the service evaluates: work it out once, not per call.
        self._levels = pack.levels()

    @property
    def has_worker_rules(self) -> bool:
        """False when the pack owes nothing at worker level, so callers can skip folding workers' histories."""
        return "worker" in self._levels

    @property
    def has_team_rules(self) -> bool:
        return "team" in self._levels

    # --- cases ----------------------------------------------------------------------------------------------

    def for_case(self, case: CaseFacts, workers: Mapping[str, WorkerFacts], as_of: date) -> list[Obligation]:
        """Case-level obligations of each worker allocated to an open case (workers: their facts, when known)."""
        if case.closed_on is not None:
            return []  # rule 5: a closed case owes nothing
        obligations: list[Obligation] = []
        for allocation in sorted(case.allocations, key=lambda a: a.worker_id):
            worker = workers.get(allocation.worker_id)
            if _left(worker, as_of):
                continue  # rule 5: a worker who left owes nothing
            for found in (
                self._case_supervision(case, allocation, worker),
                self._fsm_group(case, allocation, worker),
            ):
                if found is not None:
                    obligations.append(found)
            obligations += self._records(case, allocation, worker)
        return obligations

    def _case_rules(
        self, kind: str, case: CaseFacts, allocation: CaseAllocation, worker: WorkerFacts | None
    ) -> list[Rule]:
        # Which rules apply depends only on a few codes and flags, so the answer is kept per combination: a
        # national caseload has thousands of cases for each.
        status = case.status
        key = (
            kind,
            allocation.relationship,
            None if status is None else (status.status, status.permanency_plan_agreed, status.fsm),
            None if worker is None else self._worker_key(worker),
        )
        rules = self._applicable.get(key)
        if rules is None:
            rules = [
                r
                for r in self.pack.rules_of(kind)
                if r.applies_to.case_matches(status, allocation) and r.applies_to.worker_matches(worker)
            ]
            self._applicable[key] = rules
        return list(rules)

    @staticmethod
    def _worker_key(worker: WorkerFacts) -> tuple[object, ...]:
        return (
            worker.job_role,
            worker.case_holding,
            worker.supervises_case_holders,
            worker.frontline,
            worker.asye,
            worker.employment,
        )

    def _case_start(self, case: CaseFacts, allocation: CaseAllocation, with_status: bool) -> Basis:
        """What a first due date counts from: the later of the allocation (or transfer), the status (for a status
        rule) and when the connector first heard of the case (rule 13)."""
        status = None
        if with_status and case.status is not None:
            status = Basis(f"status {case.status.status} began", case.status.start_date)
        return _latest(
            Basis("transfer" if allocation.transferred else "allocation", allocation.start_date),
            status,
            Basis("first event the connector received about the case", case.known_since),
        )

    def _case_supervision(
        self, case: CaseFacts, allocation: CaseAllocation, worker: WorkerFacts | None
    ) -> Obligation | None:
        applicable = self._case_rules("case_supervision", case, allocation, worker)
        if not applicable:
            return None
        qualifying = _by_held(
            s for s in case.sessions if s.kind in self.pack.sessions_for("case_supervision")
        )
        # Rule 8: a keyworker's clock is the child's (sessions of this and earlier keyworkers count, not those of
        # workers only involved in the case now); an involved worker's clock is their own.
        if allocation.is_keyworker:
            involved = {a.worker_id for a in case.allocations if not a.is_keyworker}
            clock = [s for s in qualifying if s.worker_id not in involved]
        else:
            clock = [s for s in qualifying if s.worker_id == allocation.worker_id]
        own = [
            s
            for s in qualifying
            if s.worker_id == allocation.worker_id and s.held_on >= allocation.start_date
        ]

        def candidate(rule: Rule) -> _Candidate | None:
            schedule = rule.schedule
            if isinstance(schedule, OnceAfter):
                # Rule 8: an allocation rule is met by any qualifying session held on or after the allocation.
                if any(s.held_on >= allocation.start_date for s in clock):
                    return None
                start = self._case_start(case, allocation, with_status=False)
                return _Candidate(rule, add_days(start.on, schedule.days), start)
            if isinstance(schedule, WithPersonalSupervision):
                return self._with_personal_supervision(rule, allocation, worker, own)
            return self._clocked(
                rule,
                clock,
                self._case_start(case, allocation, rule.applies_to.statuses is not None),
                case,
                allocation,
            )

        settled = _strictest(applicable, candidate)
        if settled is None:
            return None
        what = f"Case supervision for person {case.case_id}"
        form = self._case_form(qualifying)
        # A cycle ends with each qualifying session this worker held on the case since the allocation began.
        return self._obligation(
            "case_supervision",
            scope=case.case_id,
            holder=allocation.worker_id,
            cycle=1 + len(own),
            assignee=allocation.worker_id,
            case_id=case.case_id,
            team_id=allocation.team_id or (worker.team_id if worker else None),
            settled=settled,
            what=what,
            form=form,
        )

    def _clocked(
        self,
        rule: Rule,
        clock: Sequence[Session],
        start: Basis,
        case: CaseFacts | None = None,
        allocation: CaseAllocation | None = None,
    ) -> _Candidate | None:
        """Interval and calendar-month rules: from the last session held, or from the start with none yet."""
        schedule = rule.schedule
        last = clock[-1] if clock else None
        # Rules 1, 4 and 7: from the date the last session was held, even if that makes it overdue at once.
        basis = Basis(held(last.kind), last.held_on) if last is not None else start
        if isinstance(schedule, Interval):
            agreed = case is not None and case.status is not None and case.status.permanency_plan_agreed
            days = schedule.days_for(allocation.relationship if allocation else None, agreed)
            return None if days is None else _Candidate(rule, add_days(basis.on, days), basis)
        if isinstance(schedule, CalendarMonth):
            # Rule 2: by the end of the month after the last session's; with none, by the end of the first month.
            due = end_of_next_month(basis.on) if last is not None else month_end(basis.on)
            return _Candidate(rule, due, basis)
        return None

    def _with_personal_supervision(
        self, rule: Rule, allocation: CaseAllocation, worker: WorkerFacts | None, own: Sequence[Session]
    ) -> _Candidate | None:
        """Each child is recorded at every personal supervision: due when the worker's personal supervision is
        due, or at once from a personal supervision held since the allocation that recorded nothing for it."""
        if worker is None:
            return None
        personal = self._personal_due(worker)
        if personal is None:
            return None
        last_record = own[-1].held_on if own else None
        missed = [
            s
            for s in _by_held(worker.sessions)
            if s.kind in self.pack.sessions_for("personal_supervision")
            and s.held_on > allocation.start_date
            and (last_record is None or s.held_on > last_record)
        ]
        if missed:
            return _Candidate(rule, missed[0].held_on, Basis(held(missed[0].kind), missed[0].held_on))
        return _Candidate(rule, personal.due, Basis("worker's personal supervision due", personal.due))

    def _case_form(self, qualifying: Sequence[Session]) -> list[tuple[str, str]]:
        form: list[tuple[str, str]] = []
        for rule in self.pack.content_of("case_supervision"):
            if isinstance(rule.schedule, FormContent) and rule.schedule.field == "previous_actions":
                form.append(("previous_actions", _previous_actions(qualifying)))
        return form

    def _fsm_group(
        self, case: CaseFacts, allocation: CaseAllocation, worker: WorkerFacts | None
    ) -> Obligation | None:
        kind = "fsm_group_supervision"
        applicable = self._case_rules(kind, case, allocation, worker)
        if not applicable:
            return None
        clock = _by_held(s for s in case.sessions if s.kind in self.pack.sessions_for(kind))
        start = self._case_start(case, allocation, with_status=True)
        settled = _strictest(applicable, lambda r: self._clocked(r, clock, start, case, allocation))
        if settled is None:
            return None
        team_id = allocation.team_id or (worker.team_id if worker else None)
        more: list[str] = []
        form: list[tuple[str, str]] = []
        for rule in self.pack.content_of(kind):
            if isinstance(rule.schedule, Assignment):
                # Rule 12: the keyworker has the step; the team's administrator records the session.
                who = (
                    f"the {rule.schedule.role.replace('_', ' ').lower()} of team {team_id or 'the keyworker'}"
                )
                more.append(f"{who} records it ({cited(rule)})")
                form.append(("recorded_by", f"{who} ({rule.id}, {rule.source})"))
        cycle = 1 + sum(1 for s in clock if s.held_on >= allocation.start_date)
        what = f"FSM group casework supervision for person {case.case_id}"
        return self._obligation(
            kind,
            scope=case.case_id,
            holder=allocation.worker_id,
            cycle=cycle,
            assignee=allocation.worker_id,
            case_id=case.case_id,
            team_id=team_id,
            settled=settled,
            what=what,
            form=form,
            more=more,
        )

    def _records(
        self, case: CaseFacts, allocation: CaseAllocation, worker: WorkerFacts | None
    ) -> list[Obligation]:
        """Rule 11: a recording deadline starts from a booked session, counts from the booked date, and is met
        when the session is recorded."""
        kind = "supervision_record"
        rules = self._case_rules(kind, case, allocation, worker)
        found = []
        for booking in case.bookings:
            if booking.cancelled or booking.worker_id != allocation.worker_id:
                continue
            day = booked_on(booking)
            if self._recorded(case.sessions, booking, day, case.case_id):
                continue
            basis = Basis(f"{label(booking.kind)} booked", day)

            def candidate(rule: Rule, booking: Booking = booking, basis: Basis = basis) -> _Candidate | None:
                schedule = rule.schedule
                if not isinstance(schedule, AfterSession) or booking.kind not in schedule.kinds:
                    return None
                return _Candidate(rule, self._after(schedule, basis.on, significant=False), basis)

            applicable = [
                r for r in rules if isinstance(r.schedule, AfterSession) and booking.kind in r.schedule.kinds
            ]
            settled = _strictest(applicable, candidate)
            if settled is None:
                continue
            assignee = self._assignee(settled.rules[0], allocation.worker_id, booking.supervisor_id, worker)
            what = f"The supervision record for person {case.case_id} from the {label(booking.kind)} booked for {format_day(day)}"
            found.append(
                self._obligation(
                    kind,
                    scope=f"booking-{booking.booking_id}-{case.case_id}",
                    holder=allocation.worker_id,
                    cycle=1,
                    assignee=assignee,
                    case_id=case.case_id,
                    team_id=allocation.team_id or booking.team_id,
                    settled=settled,
                    what=what,
                )
            )
        return found

    def _recorded(
        self, sessions: Iterable[Session], booking: Booking, day: date, case_id: str | None
    ) -> bool:
        """A booked session is taken to be recorded once the same worker has a session recorded on or after the
        booked day (a record made before it belongs to an earlier meeting): for a child, a case supervision of
        that child, whatever the booking was for (Bracknell records each child at a personal supervision);
        otherwise a session of the booking's own kind."""
        kinds = self.pack.sessions_for("case_supervision" if case_id is not None else booking.kind)
        return any(
            s.kind in kinds
            and s.worker_id == booking.worker_id
            and s.recorded_on >= day
            and (case_id is None or case_id in s.case_ids)
            for s in sessions
        )

    def _after(self, schedule: AfterSession, day: date, significant: bool) -> date:
        if significant and schedule.significant_calendar_days is not None:
            return add_days(day, schedule.significant_calendar_days)
        if schedule.working_days is not None:
            return self.calendar.add_working_days(day, schedule.working_days)
        return add_days(day, schedule.calendar_days or 0)

    def record_deadline(self, session: Session, case: CaseFacts | None = None) -> tuple[date, Rule] | None:
        """When a session held without a booking should have been recorded: for reports, which measure lateness
        (recorded date against this), since no obligation was open for it (rule 11)."""
        best: tuple[date, Rule] | None = None
        for rule in self.pack.rules_of("supervision_record"):
            schedule = rule.schedule
            if not isinstance(schedule, AfterSession):
                continue
            if not any(session.kind in self.pack.sessions_for(k) for k in schedule.kinds):
                continue
            status = case.status if case is not None else None
            statuses = rule.applies_to.statuses
            if statuses is not None and (status is None or status.status not in statuses):
                continue
            due = self._after(schedule, session.held_on, session.significant)
            if best is None or due < best[0] or (rule.precedence == "specific" and due == best[0]):
                best = (due, rule)
        return best

    # --- workers --------------------------------------------------------------------------------------------

    def for_worker(self, worker: WorkerFacts, as_of: date) -> list[Obligation]:
        """Worker-level obligations: personal supervision, its bookings, agenda and dip sample, the supervision
        agreement and practice observations."""
        if _left(worker, as_of):
            return []  # rule 5
        found = [
            self._personal_supervision(worker),
            self._booked_ahead(worker, as_of),
            self._agreement(worker),
            self._practice_observation(worker, as_of),
            self._dip_sample(worker),
        ]
        return [o for o in found if o is not None] + self._agendas(worker, as_of)

    def _worker_start(self, worker: WorkerFacts) -> Basis:
        """A worker's first due dates count from the later of joining, a new supervisor and when the connector
        first heard of the worker (rule 13)."""
        return _latest(
            Basis("joining", worker.start_date),
            None if worker.supervisor_since is None else Basis("new supervisor", worker.supervisor_since),
            Basis("first event the connector received about the worker", worker.known_since),
        )

    def _personal_sessions(self, worker: WorkerFacts) -> list[Session]:
        cached = self._personal_cache.get(worker.worker_id)
        if cached is not None and cached[0] is worker:
            return cached[1]
        sessions = _by_held(
            s for s in worker.sessions if s.kind in self.pack.sessions_for("personal_supervision")
        )
        self._remember(worker, sessions, _UNKNOWN)
        return sessions

    def _personal_due(self, worker: WorkerFacts) -> _Due | None:
        # Every child a worker holds asks for the same answer (BFC-CS-EVERY): work it out once per worker's facts.
        cached = self._personal_cache.get(worker.worker_id)
        if cached is not None and cached[0] is worker and cached[2] is not _UNKNOWN:
            return cached[2]  # type: ignore[return-value]
        due = self._compute_personal_due(worker)
        self._remember(worker, self._personal_sessions(worker), due)
        return due

    def _remember(self, worker: WorkerFacts, sessions: list[Session], due: object) -> None:
        if len(self._personal_cache) > 100_000:
            self._personal_cache.clear()
        self._personal_cache[worker.worker_id] = (worker, sessions, due)

    def _compute_personal_due(self, worker: WorkerFacts) -> _Due | None:
        clock = self._personal_sessions(worker)
        start = self._worker_start(worker)
        last = clock[-1] if clock else None

        def in_force(rule: Rule) -> bool:
            if isinstance(rule.schedule, BookedAhead) or not rule.applies_to.worker_matches(worker):
                return False
            if isinstance(rule.schedule, Phased):
                # Rule 9: the phase in force on the day of the last session (or of the start, with none yet).
                return (
                    rule.schedule.in_force(worker.start_date, last.held_on if last else start.on) is not None
                )
            return True

        def candidate(rule: Rule) -> _Candidate | None:
            schedule = rule.schedule
            if isinstance(schedule, Phased):
                basis = Basis(held(last.kind), last.held_on) if last else start
                phase = schedule.in_force(worker.start_date, basis.on)
                return (
                    None if phase is None else _Candidate(rule, add_days(basis.on, phase.every_days), basis)
                )
            if isinstance(schedule, Shifts):
                # Rule 10: due on the date of the Nth shift worked since the last session.
                since = [d for d in worker.shifts if (d > last.held_on if last else d >= start.on)]
                if len(since) < schedule.every_shifts:
                    return None
                day = since[schedule.every_shifts - 1]
                return _Candidate(
                    rule,
                    day,
                    Basis(f"{ordinal(schedule.every_shifts)} shift worked since the last supervision", day),
                )
            return self._clocked(rule, clock, start)

        return _strictest([r for r in self.pack.rules_of("personal_supervision") if in_force(r)], candidate)

    def _personal_supervision(self, worker: WorkerFacts) -> Obligation | None:
        settled = self._personal_due(worker)
        if settled is None:
            return None
        clock = self._personal_sessions(worker)
        form: list[tuple[str, str]] = []
        for rule in self.pack.content_of("personal_supervision"):
            if not isinstance(rule.schedule, FormContent):
                continue
            if rule.schedule.field == "leave_gap":
                last = (
                    f"The last personal supervision was held on {clock[-1].held_on.isoformat()}."
                    if clock
                    else "No personal supervision has been recorded yet."
                )
                form.append(
                    (
                        "leave_gap",
                        f"{last} If leave (sickness or annual leave) left a gap in supervision, say so here ({cited(rule)}).",
                    )
                )
            else:
                form.append((rule.schedule.field, f"{self.pack.words(rule.words)} ({cited(rule)})"))
        # Lincolnshire §4.5: a personal supervision names no child, so nothing here mentions a case.
        what = f"Personal supervision for worker {worker.worker_id}"
        return self._obligation(
            "personal_supervision",
            scope="-",
            holder=worker.worker_id,
            cycle=1 + len(clock),
            assignee=worker.worker_id,
            team_id=worker.team_id,
            settled=settled,
            what=what,
            form=form,
        )

    def _booked_ahead(self, worker: WorkerFacts, as_of: date) -> Obligation | None:
        rules = [
            r
            for r in self.pack.rules_of("personal_supervision")
            if isinstance(r.schedule, BookedAhead) and r.applies_to.worker_matches(worker)
        ]
        if not rules:
            return None
        start = self._worker_start(worker)
        ever: set[str] = set()

        def candidate(rule: Rule) -> _Candidate | None:
            schedule = rule.schedule
            assert isinstance(schedule, BookedAhead)
            bookings = [b for b in worker.bookings if b.kind in schedule.booking_kinds]
            ever.update(b.booking_id for b in bookings)
            furthest = max((booked_on(b) for b in bookings if not b.cancelled), default=None)
            if furthest is None:
                return _Candidate(rule, start.on, start)
            if furthest >= add_months(as_of, schedule.months):
                return None
            # Bookings stopped reaching far enough the day after the furthest was exactly that far ahead.
            due = max(add_days(add_months(furthest, -schedule.months), 1), start.on)
            return _Candidate(rule, due, Basis("furthest session booked", furthest))

        settled = _strictest(rules, candidate)
        if settled is None:
            return None
        what = f"Booking personal supervision ahead for worker {worker.worker_id}"
        # A new booking starts a new cycle; a cancellation only moves the date.
        return self._obligation(
            "personal_supervision",
            scope="booking-ahead",
            holder=worker.worker_id,
            cycle=1 + len(ever),
            assignee=worker.worker_id,
            team_id=worker.team_id,
            settled=settled,
            what=what,
        )

    def _agreement(self, worker: WorkerFacts) -> Obligation | None:
        kind = "supervision_agreement"
        since = worker.supervisor_since
        if worker.supervisor_id is None or since is None:
            return None  # no supervisor, or a relationship older than what the connector saw (rule 13)
        made = [s for s in worker.sessions if s.kind in self.pack.sessions_for(kind)]

        def candidate(rule: Rule) -> _Candidate | None:
            schedule = rule.schedule
            if not isinstance(schedule, OnceAfter):
                return None
            # Rule 13: owed only for a start the connector saw within so many days of it happening.
            if schedule.seen_within_days is not None and since < add_days(
                worker.known_since, -schedule.seen_within_days
            ):
                return None
            if any(s.held_on >= since for s in made):
                return None
            fact = "joining" if since == worker.start_date else "new supervisor"
            basis = _latest(
                Basis(fact, since),
                Basis("first event the connector received about the worker", worker.known_since),
            )
            return _Candidate(rule, add_days(basis.on, schedule.days), basis)

        settled = _strictest(
            [r for r in self.pack.rules_of(kind) if r.applies_to.worker_matches(worker)], candidate
        )
        if settled is None:
            return None
        what = f"The supervision agreement between worker {worker.worker_id} and supervisor {worker.supervisor_id}"
        assignee = self._assignee(settled.rules[0], worker.worker_id, None, worker)
        return self._obligation(
            kind,
            scope="-",
            holder=worker.worker_id,
            cycle=1 + len(made),
            assignee=assignee,
            team_id=worker.team_id,
            settled=settled,
            what=what,
            form=[("supervisor", worker.supervisor_id)],
        )

    def _practice_observation(self, worker: WorkerFacts, as_of: date) -> Obligation | None:
        kind = "practice_observation"
        for rule in self.pack.rules_of(kind):
            schedule = rule.schedule
            if not isinstance(schedule, YearlyCount) or not rule.applies_to.worker_matches(worker):
                continue
            begins = year_starting(as_of, *schedule.year_starts)
            ends = add_days(date(begins.year + 1, begins.month, begins.day), -1)
            done = sum(
                1
                for s in worker.sessions
                if s.kind in self.pack.sessions_for(kind) and begins <= s.held_on <= ends
            )
            if done >= schedule.count:
                continue
            number = done + 1
            settled = _Due(ends, (rule,), Basis("start of the practice year", begins))
            more: list[str] = []
            form = [("observations_done", f"{done} of {schedule.count}")]
            if done == 0 and schedule.reminder is not None:
                month, day = schedule.reminder
                reminder = date(
                    begins.year if (month, day) >= schedule.year_starts else begins.year + 1, month, day
                )
                # The connector knows only the sessions it saw since it first heard of the worker: it says no more.
                heard = worker.known_since if worker.known_since > begins else None
                if as_of <= reminder:
                    more.append(f"a reminder falls on {format_day(reminder)} if none is recorded by then")
                elif heard is None:
                    more.append(f"none was recorded by the reminder date, {format_day(reminder)}")
                else:
                    more.append(
                        "none has been recorded since the connector first heard of the worker"
                        f" on {format_day(heard)}"
                    )
                # A reminder date that passed before the connector knew the worker is not sent as if due then.
                if heard is None or heard <= reminder:
                    form.append(("reminder_on", reminder.isoformat()))
            what = f"Practice observation {number} of {schedule.count} for worker {worker.worker_id} in the year to {format_day(ends)}"
            assignee = self._assignee(rule, worker.worker_id, None, worker)
            # One cycle per observation owed in each year, e.g. 202601 and 202602 for the year from April 2026.
            return self._obligation(
                kind,
                scope="-",
                holder=worker.worker_id,
                cycle=begins.year * 100 + number,
                assignee=assignee,
                team_id=worker.team_id,
                settled=settled,
                what=what,
                form=form,
                more=more,
            )
        return None

    def _agendas(self, worker: WorkerFacts, as_of: date) -> list[Obligation]:
        kind = "agenda"
        rules = [r for r in self.pack.rules_of(kind) if r.applies_to.worker_matches(worker)]
        found = []
        for booking in worker.bookings:
            day = booked_on(booking)
            # After the meeting an agenda can no longer be shared ahead of it; a recorded session meets it too.
            if booking.cancelled or day < as_of or self._recorded(worker.sessions, booking, day, None):
                continue

            def candidate(rule: Rule, booking: Booking = booking) -> _Candidate | None:
                schedule = rule.schedule
                if not isinstance(schedule, BeforeBooking) or booking.kind not in schedule.booking_kinds:
                    return None
                due = (booking.starts_at - timedelta(hours=schedule.hours)).astimezone(LONDON).date()
                return _Candidate(rule, due, Basis(f"{label(booking.kind)} booked", booked_on(booking)))

            settled = _strictest(rules, candidate)
            if settled is None:
                continue
            what = f"The agenda for worker {worker.worker_id}'s {label(booking.kind)} booked for {format_day(day)}"
            found.append(
                self._obligation(
                    kind,
                    scope=f"booking-{booking.booking_id}",
                    holder=worker.worker_id,
                    cycle=1,
                    assignee=self._assignee(
                        settled.rules[0], worker.worker_id, booking.supervisor_id, worker
                    ),
                    team_id=worker.team_id,
                    settled=settled,
                    what=what,
                )
            )
        return found

    def _dip_sample(self, worker: WorkerFacts) -> Obligation | None:
        kind = "dip_sample"
        for rule in self.pack.rules_of(kind):
            schedule = rule.schedule
            if not isinstance(schedule, AfterSession) or not rule.applies_to.worker_matches(worker):
                continue
            sessions = _by_held(s for s in worker.sessions if s.kind in schedule.kinds)
            if not sessions:
                continue
            latest = sessions[-1]
            if any(
                s.kind in self.pack.sessions_for(kind) and s.held_on >= latest.held_on
                for s in worker.sessions
            ):
                continue
            basis = Basis(held(latest.kind), latest.held_on)
            settled = _Due(self._after(schedule, latest.held_on, significant=False), (rule,), basis)
            what = f"A dip sample of worker {worker.worker_id}'s case records after their {held(latest.kind)} on {format_day(latest.held_on)}"
            assignee = self._assignee(rule, worker.worker_id, latest.supervisor_id, worker)
            # Each session starts the next cycle: the dip sample after the latest session is the one owed.
            return self._obligation(
                kind,
                scope="-",
                holder=worker.worker_id,
                cycle=len(sessions),
                assignee=assignee,
                team_id=worker.team_id,
                settled=settled,
                what=what,
            )
        return None

    # --- teams ----------------------------------------------------------------------------------------------

    def for_team(self, team: TeamFacts, as_of: date) -> list[Obligation]:
        """Team obligations (group supervision, team brief), assigned to the team's manager (rule 12); none
        while the team has no manager the connector knows of."""
        managers = sorted(
            (m for m in team.members if m.job_role == "TEAM_MANAGER" and not _left(m, as_of)),
            key=lambda m: m.worker_id,
        )
        if not managers:
            return []
        manager = managers[0]
        known = team.known_since or min(m.known_since for m in team.members)
        start = Basis("first event the connector received about the team", known)
        found = []
        for kind in ("group_supervision", "team_brief"):
            applicable = [r for r in self.pack.rules_of(kind) if r.applies_to.team_matches(team)]
            if not applicable:
                continue
            clock = _by_held(s for s in team.sessions if s.kind in self.pack.sessions_for(kind))

            def candidate(rule: Rule, clock: list[Session] = clock) -> _Candidate | None:
                return self._clocked(rule, clock, start)

            settled = _strictest(applicable, candidate)
            if settled is None:
                continue
            found.append(
                self._obligation(
                    kind,
                    scope=f"team-{team.team_id}",
                    holder="-",
                    cycle=1 + len(clock),
                    assignee=manager.worker_id,
                    team_id=team.team_id,
                    settled=settled,
                    what=f"{label(kind).capitalize()} for team {team.team_id}",
                )
            )
        return found

    # --- shared ---------------------------------------------------------------------------------------------

    def _assignee(
        self, rule: Rule, holder: str, supervisor_id: str | None, worker: WorkerFacts | None
    ) -> str:
        """Who gets the step: the holder, or for a supervisor's step the session's (or the worker's) supervisor;
        the holder when no supervisor is known, so the step is seen by someone."""
        if rule.assignee == "supervisor":
            return supervisor_id or (worker.supervisor_id if worker else None) or holder
        return holder

    def _obligation(
        self,
        kind: str,
        *,
        scope: str,
        holder: str,
        cycle: int,
        assignee: str,
        team_id: str | None,
        settled: _Due,
        what: str,
        case_id: str | None = None,
        form: Sequence[tuple[str, str]] = (),
        more: Sequence[str] = (),
    ) -> Obligation:
        reasons = reasons_of(self.pack, settled.rules)
        return Obligation(
            kind=kind,
            scope=scope,
            holder=holder,
            cycle=cycle,
            assignee_id=assignee,
            case_id=case_id,
            team_id=team_id,
            due_date=settled.due,
            reasons=reasons,
            counted_from=settled.basis,
            explanation=explanation(self.pack, what, settled.due, reasons, settled.basis, more),
            form=tuple(basic_form(self.pack, settled.due, reasons, settled.basis) + list(form)),
        )


def _previous_actions(qualifying: Sequence[Session]) -> str:
    """LINC-CARRY: the actions agreed at the case's previous case supervision, as owner and due date only (their
    text is never kept)."""
    previous = qualifying[-1] if qualifying else None
    if previous is None or not previous.actions:
        return "No actions were recorded at the previous case supervision."
    listed = "; ".join(
        f"{n}. owner {a.owner_worker_id or 'not set'}, due {a.due_date.isoformat() if a.due_date else 'not set'}"
        for n, a in enumerate(previous.actions, start=1)
    )
    return f"Agreed at the case supervision held {previous.held_on.isoformat()}: {listed}"
