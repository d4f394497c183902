"""When a subject's obligations could change with the day alone: the first day after `as_of` on which
evaluating the same facts could give something else, so the daily run re-evaluates only subjects due one.

The day of evaluation is read in few places, each listed here: a rule whose schedule `depends_on_date`
(`changes_after`), a worker who has left by `end_date` (`settle.left`), an agenda dropped once its meeting day
passed (`workers._agendas`), and the "(overdue)" mark on a previous case supervision's actions
(`cases.PreviousActions`). A day named here may change nothing; a day that changes something is never missed
(tests/rules/test_changes.py checks this against evaluating every day). Phased schedules choose their phase
by the last session's date or the start, not the day of evaluation, so they name no days.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING

from rules.dates import add_days
from rules.engine.settle import held_sessions
from rules.model import CaseFacts, TeamFacts, WorkerFacts
from rules.schedules.base import booked_on, new_clock

if TYPE_CHECKING:
    from rules.engine import Engine


def _earliest(days: Iterable[date], as_of: date) -> date | None:
    return min((d for d in days if d > as_of), default=None)


def _left_on(worker: WorkerFacts | None) -> Iterable[date]:
    # `left` holds from the end date itself.
    if worker is not None and worker.end_date is not None:
        yield worker.end_date


def worker_changes(engine: Engine, worker: WorkerFacts, as_of: date) -> date | None:
    from rules.engine.workers import worker_start

    days: list[date] = list(_left_on(worker))
    pack = engine.pack
    if pack.rules_of("agenda"):
        # An agenda is dropped the day after its meeting.
        days += [add_days(booked_on(b), 1) for b in worker.bookings if not b.cancelled]
    rules = [r for r in engine.date_rules if r.applies_to.worker_matches(worker)]
    if rules:
        sessions = held_sessions(worker.sessions, pack.sessions_for("practice_observation"), worker.held)
        clock = new_clock(as_of, engine.calendar, worker_start(worker), sessions, worker=worker)
        for rule in rules:
            days += rule.schedule.changes_after(clock)
    return _earliest(days, as_of)


def case_changes(
    engine: Engine, case: CaseFacts, workers: Mapping[str, WorkerFacts], as_of: date
) -> date | None:
    if case.closed_on is not None:
        return None  # a closed case owes nothing whatever the day
    days: list[date] = []
    for allocation in case.allocations:
        days += _left_on(workers.get(allocation.worker_id))
    if engine.carries_actions:
        # "(overdue)" is added the day after an action's due date.
        with_actions = case.sessions if case.held is None else case.held.with_actions
        days += [add_days(a.due_date, 1) for s in with_actions for a in s.actions if a.due_date is not None]
    return _earliest(days, as_of)


def team_changes(engine: Engine, team: TeamFacts, as_of: date) -> date | None:
    return _earliest((d for m in team.members for d in _left_on(m)), as_of)
