"""Worker-level obligations: personal supervision and booking it ahead, the supervision agreement, practice
observations, agendas before booked sessions and dip samples after held ones."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from rules.dates import format_day
from rules.engine.build import obligation
from rules.engine.settle import (
    Due,
    assignee,
    contenders,
    first,
    held_day,
    held_sessions,
    latest,
    left,
    new_due,
    recorded,
    strictest,
)
from rules.explain import cited, label
from rules.model import Basis, Obligation, Session, WorkerFacts
from rules.pack import Rule
from rules.schedules.base import basis_of, booked_on, held_basis, new_clock
from rules.schedules.form_content import form_fields

if TYPE_CHECKING:
    from rules.engine import Engine

BOOKING_AHEAD = "booking-ahead"  # the scope of the prompt to book supervision sessions ahead


def for_worker(engine: Engine, worker: WorkerFacts, as_of: date) -> list[Obligation]:
    if left(worker, as_of):
        return []  # rule 5
    found = [
        _personal_supervision(engine, worker, as_of),
        _booked_ahead(engine, worker, as_of),
        _agreement(engine, worker, as_of),
        _practice_observation(engine, worker, as_of),
        _dip_sample(engine, worker, as_of),
    ]
    return [o for o in found if o is not None] + _agendas(engine, worker, as_of)


def rules_for(engine: Engine, kind: str, worker: WorkerFacts) -> tuple[Rule, ...]:
    """The rules of `kind` that apply to the worker: the same for every worker alike in the facts the pack's
    rules name, so kept per combination of them."""
    key = (kind, engine.worker_key(worker))
    found = engine.worker_rules.get(key)
    if found is None:
        found = engine.worker_rules[key] = tuple(
            r for r in engine.pack.rules_of(kind) if r.applies_to.worker_matches(worker)
        )
    return found


def worker_start(worker: WorkerFacts) -> Basis:
    """A worker's first due dates count from the later of joining, a new supervisor and when the connector
    first heard of the worker (rule 13)."""
    # Asked three times for each worker evaluated: `latest` written out, naming only the fact that wins, as a
    # Basis shared with every worker who counts from the same fact on the same day.
    on, fact = worker.start_date, "joining"
    since = worker.supervisor_since
    if since is not None and since > on:
        on, fact = since, "new supervisor"
    if worker.known_since > on:
        on, fact = worker.known_since, "first event the connector received about the worker"
    return basis_of(fact, on)


class Personal:
    """A worker's personal supervision sessions and due date as of one day, worked out once for the worker's
    facts: every child they hold asks (BFC-CS-EVERY), through `rules.schedules.base.PersonalSupervision`."""

    __slots__ = ("_asked", "_days", "_due", "_due_on", "_engine", "_held", "as_of", "sessions", "worker")

    def __init__(self, engine: Engine, worker: WorkerFacts, as_of: date) -> None:
        self._engine = engine
        self.worker = worker
        self.as_of = as_of
        self.sessions = held_sessions(
            worker.sessions, engine.pack.sessions_for("personal_supervision"), worker.held
        )
        self._due: Due | None = _UNKNOWN
        self._due_on: date | None = None
        self._asked = 0
        self._days: list[date] | None = None
        self._held: list[Basis] = []

    def settled(self) -> Due | None:
        due = self._due
        if due is _UNKNOWN:
            worker = self.worker
            rules = [
                r for r in rules_for(self._engine, "personal_supervision", worker) if r.schedule.scope is None
            ]
            clock = new_clock(
                self.as_of, self._engine.calendar, worker_start(worker), self.sessions, worker=worker
            )
            due = self._due = strictest(rules, clock)
            self._due_on = None if due is None else due.due
        return due

    def due_date(self) -> date | None:
        if self._due is _UNKNOWN:
            self.settled()
        return self._due_on

    def held_after(self, day: date) -> Basis | None:
        days = self._days
        if days is None:
            self._asked += 1
            if self._asked <= LISTS_AFTER:
                # The first few asks halve the sessions themselves: lists of their days made for every worker
                # evaluated cost a worker with a long history more at every event (10,000 sessions: 6 ms).
                sessions = self.sessions
                at = bisect_right(sessions, day, key=held_day)
                if at == len(sessions):
                    return None
                found = sessions[at]
                return held_basis(found.kind, found.held_on)
            # Asked by many children (a whole re-evaluation): the sessions' days and what a date counts from after
            # each, once, in plain lists. A session's own fields are lookups in its object's dict, and with
            # thousands of workers those objects are seldom in the processor's cache when a child asks.
            days = self._days = [s.held_on for s in self.sessions]
            self._held = [held_basis(s.kind, s.held_on) for s in self.sessions]
        at = bisect_right(days, day)
        return self._held[at] if at < len(self._held) else None


# Asks of a worker's personal supervision answered by halving its sessions before their days are listed.
LISTS_AFTER = 4
_UNKNOWN = Due(date.min, (), Basis("", date.min))  # not yet worked out (None is an answer: nothing is due)


def personal_of(engine: Engine, worker: WorkerFacts, as_of: date) -> Personal:
    found = engine.personal.get(worker.worker_id)
    # The same facts object on the same day: a worker's new facts (or another day) are worked out again.
    if found is None or found.worker is not worker or found.as_of != as_of:
        if len(engine.personal) > 100_000:
            engine.personal.clear()
        found = engine.personal[worker.worker_id] = Personal(engine, worker, as_of)
    return found


def _personal_supervision(engine: Engine, worker: WorkerFacts, as_of: date) -> Obligation | None:
    pack = engine.pack
    personal = personal_of(engine, worker, as_of)
    settled = personal.settled()
    if settled is None:
        return None
    sessions = personal.sessions
    form: list[tuple[str, str]] = []
    for rule, name in form_fields(pack.content_of("personal_supervision")):
        if name == "leave_gap":
            since = sessions[-1].held_on if sessions else worker_start(worker).on
            form.append(("leave_gap", _leave_gap(worker, sessions, since, settled.due, cited(rule))))
        elif name == "children_to_cover":
            children = ", ".join(worker.allocated_case_ids)
            form.append(
                (
                    "children_to_cover",
                    f"A case management supervision record for each child the worker holds: {children}"
                    f" ({cited(rule)})."
                    if children
                    else f"The worker holds no child's case ({cited(rule)}).",
                )
            )
        else:
            form.append((name, f"{pack.words(rule.words)} ({cited(rule)})"))
    # Lincolnshire §4.5: a personal supervision names no child, so nothing here mentions a case.
    return obligation(
        pack,
        "personal_supervision",
        scope="-",
        holder=worker.worker_id,
        cycle=1 + len(sessions),
        assignee=worker.worker_id,
        team_id=worker.team_id,
        settled=settled,
        supervisor_id=worker.supervisor_id,
        what=f"Personal supervision for worker {worker.worker_id}",
        form=form,
    )


def _leave_gap(worker: WorkerFacts, sessions: Sequence[Session], since: date, due: date, why: str) -> str:
    """Standard n: a gap in supervision that leave caused, from the leave the worker recorded since the last
    session up to the due date (ids, dates and reason codes only)."""
    last = (
        f"The last personal supervision was held on {sessions[-1].held_on.isoformat()}."
        if sessions
        else "No personal supervision has been recorded yet."
    )
    away = [v for v in worker.leave if v.end_date >= since and v.start_date <= due]
    if not away:
        return f"{last} No leave is recorded since; if leave left a gap in supervision, say so here ({why})."
    spells = "; ".join(
        f"{v.reason} leave {v.start_date.isoformat()} to {v.end_date.isoformat()}"
        f" ({(v.end_date - v.start_date).days + 1} days)"
        for v in away
    )
    return f"{last} Supervision gap caused by leave: {spells}. Record the gap on this supervision record ({why})."


def _booked_ahead(engine: Engine, worker: WorkerFacts, as_of: date) -> Obligation | None:
    rules = rules_for(engine, "supervision_booking", worker)
    if not rules:
        return None
    clock = new_clock(as_of, engine.calendar, worker_start(worker), worker=worker)
    settled = strictest(rules, clock)
    if settled is None:
        return None
    # A new booking starts a new cycle; a cancellation only moves the date.
    ever = {mark for r in contenders(rules, clock) for mark in r.schedule.marks(clock)}
    return obligation(
        engine.pack,
        "supervision_booking",
        scope=BOOKING_AHEAD,
        holder=worker.worker_id,
        cycle=1 + len(ever),
        assignee=worker.worker_id,
        team_id=worker.team_id,
        settled=settled,
        supervisor_id=worker.supervisor_id,
        what=f"Booking supervision sessions to cover the next three months for worker {worker.worker_id}",
    )


def _agreement(engine: Engine, worker: WorkerFacts, as_of: date) -> Obligation | None:
    pack = engine.pack
    kind = "supervision_agreement"
    since = worker.supervisor_since
    if worker.supervisor_id is None or since is None:
        return None  # no supervisor, or a relationship older than what the connector saw (rule 13)
    made = held_sessions(worker.sessions, pack.sessions_for(kind), worker.held)
    start = latest(
        Basis("joining" if since == worker.start_date else "new supervisor", since),
        Basis("first event the connector received about the worker", worker.known_since),
    )
    clock = new_clock(
        as_of, engine.calendar, start, made, since=since, known_since=worker.known_since, worker=worker
    )
    settled = strictest(rules_for(engine, kind, worker), clock)
    if settled is None:
        return None
    return obligation(
        pack,
        kind,
        scope="-",
        holder=worker.worker_id,
        cycle=1 + len(made),
        assignee=assignee(settled.rules[0], worker.worker_id, None, worker),
        team_id=worker.team_id,
        settled=settled,
        supervisor_id=worker.supervisor_id,
        what=f"The supervision agreement between worker {worker.worker_id} and supervisor {worker.supervisor_id}",
        form=[("supervisor", worker.supervisor_id)],
    )


def _practice_observation(engine: Engine, worker: WorkerFacts, as_of: date) -> Obligation | None:
    pack = engine.pack
    kind = "practice_observation"
    done = held_sessions(worker.sessions, pack.sessions_for(kind), worker.held)
    rules = rules_for(engine, kind, worker)
    if not rules:
        return None
    found = first(rules, new_clock(as_of, engine.calendar, worker_start(worker), done, worker=worker))
    if found is None:
        return None
    return obligation(
        pack,
        kind,
        scope="-",
        holder=worker.worker_id,
        cycle=found.cycle or 1,
        assignee=assignee(found.rule, worker.worker_id, None, worker),
        team_id=worker.team_id,
        settled=new_due(found.due, (found.rule,), found.basis),
        supervisor_id=worker.supervisor_id,
        what=f"Practice observation {found.part} for worker {worker.worker_id} in the year to {format_day(found.due)}",
        form=found.form,
        more=found.more,
    )


def _agendas(engine: Engine, worker: WorkerFacts, as_of: date) -> list[Obligation]:
    pack = engine.pack
    kind = "agenda"
    rules = rules_for(engine, kind, worker)
    if not rules:
        return []
    found = []
    for booking in worker.bookings:
        day = booked_on(booking)
        # After the meeting an agenda can no longer be shared ahead of it; a recorded session meets it too.
        if (
            booking.cancelled
            or day < as_of
            or recorded(worker.sessions, booking, day, None, pack.sessions_for(booking.kind))
        ):
            continue
        basis = Basis(f"{label(booking.kind)} booked", day)
        settled = strictest(rules, new_clock(as_of, engine.calendar, basis, booking=booking, worker=worker))
        if settled is None:
            continue
        found.append(
            obligation(
                pack,
                kind,
                scope=f"booking-{booking.booking_id}",
                holder=worker.worker_id,
                cycle=1,
                assignee=assignee(settled.rules[0], worker.worker_id, booking.supervisor_id, worker),
                team_id=worker.team_id,
                settled=settled,
                supervisor_id=worker.supervisor_id,
                what=f"The agenda for worker {worker.worker_id}'s {label(booking.kind)} booked for {format_day(day)}",
            )
        )
    return found


def _dip_sample(engine: Engine, worker: WorkerFacts, as_of: date) -> Obligation | None:
    pack = engine.pack
    kind = "dip_sample"
    rules = rules_for(engine, kind, worker)
    if not rules:
        return None
    clock = new_clock(
        as_of,
        engine.calendar,
        worker_start(worker),
        history=worker.sessions,
        met_by=pack.sessions_for(kind),
        worker=worker,
    )
    found = first(rules, clock)
    if found is None:
        return None
    return obligation(
        pack,
        kind,
        scope="-",
        holder=worker.worker_id,
        cycle=found.cycle or 1,
        assignee=assignee(found.rule, worker.worker_id, found.supervisor_id, worker),
        team_id=worker.team_id,
        settled=new_due(found.due, (found.rule,), found.basis),
        supervisor_id=worker.supervisor_id,
        what=f"A dip sample of worker {worker.worker_id}'s case records after their {found.basis.fact} on {format_day(found.basis.on)}",
    )
