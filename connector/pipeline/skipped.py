"""Cycles a diff went past without the ledger ever holding them, and what the compliance history keeps of them.

The engine numbers a series' cycles by the sessions that ended them (mostly `cycle = 1 + qualifying sessions`).
When one diff counts two sessions of a series at once (both in one processing batch, or a first evaluation of a
subject with a past), the desired set jumps from cycle N to N+2: the ledger ends N met, and N+1 never had a row.
Its outcome is then worked out from the final facts, the same as a diff that saw it open would have recorded:
the k-th qualifying session met cycle k, and the cycle's due date, rules and counted-from fact are what the rules
give for the same facts with only the sessions held before that session, and without a case status or a
supervisor that began on its day or later. What those facts were before such a change is not kept (the final
state holds the current status and supervisor only), so the rules are given none: two batchings agree on a
skipped cycle's timing as far as the final state determines it.

No work in the common case: only a diff whose desired cycle is more than one past the cycle it ends (or a new
series starting above cycle 1 with no row at all) asks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from connector.pipeline.met import SESSION_FACTS, Held, SessionFinder
from rules.model import Obligation, Session, TeamFacts, WorkerFacts

if TYPE_CHECKING:
    from connector.pipeline.evaluator import Evaluator, _Facts

Series = tuple[str, str, str]  # (kind, scope, holder)
# (series, first cycle never held, the session that met the cycle before it or None, the cycle desired now) ->
# each cycle in between the ledger never held, as the rules gave it, with the session that met it.
SkippedCycles = Callable[[Series, int, Held | None, int], list[tuple[Obligation, Held | None]]]
# The owner's obligations from its facts with only the sessions held before a day.
ObligationsBefore = Callable[[date], list[Obligation]]

_A_SESSION_FACT = sorted(SESSION_FACTS)[0]


def none_skipped(
    series: Series, start: int, met_before: Held | None, upto: int
) -> list[tuple[Obligation, Held | None]]:
    return []


def skipped_cycles(before: ObligationsBefore, finder: SessionFinder, new: frozenset[str]) -> SkippedCycles:
    """From the owner's obligations as of a day, the finder of the session that met a ledger row, and the
    sessions (event ids) the batch brings. Only a cycle one of those ended is recorded: a diff that saw it open
    would have recorded it when that session came. A re-evaluation brings none, so a rule pack change that
    numbers a series anew (a kind added, another session kind counted) records no past it never owed."""
    if not new:
        return none_skipped

    def fill(
        series: Series, start: int, met_before: Held | None, upto: int
    ) -> list[tuple[Obligation, Held | None]]:
        kind, scope, holder = series
        # The session that ended the cycle before `start` (the count goes on from it): the one that met it, or,
        # when none was found for it (held before what it counted from), the (start - 1)-th that counts.
        previous = met_before
        for _ in range(start - 1 if met_before is None else 0):
            previous = finder(_after(kind, scope, holder, previous))
            if previous is None:
                return []
        found: list[tuple[Obligation, Held | None]] = []
        for cycle in range(start, upto):
            # The next session that counts for the series ends this cycle: the rules numbered it from the sessions
            # held before it.
            ending = finder(_after(kind, scope, holder, previous))
            if ending is None or ending.session_id not in new:
                break
            key = (kind, scope, holder, cycle)
            match = next((o for o in before(ending.held_on) if o.key == key), None)
            if match is None:
                # The rules number this series otherwise (a year's count) or two sessions were held the same
                # day: no cycle is made up.
                break
            # Met by the session that ended it, if `met.py` counts it for the cycle as for a row the ledger held:
            # not when it was held before the fact the cycle counted from (before an allocation, say), and not a
            # later one either, which ended a later cycle; then met with no session, as the ledger records it.
            counted = finder(_columns(match))
            previous = ending
            if counted is not None and counted.held_on <= ending.held_on:
                found.append((match, ending))
            elif ending.recorded_on is None or ending.recorded_on >= match.counted_from.on:
                found.append((match, None))
            # Else recorded before the fact the cycle counted from: the session was known before the cycle
            # began, so a diff that saw each event come held no row of it, and none is made up.
        return found

    return fill


def _after(kind: str, scope: str, holder: str, previous: Held | None) -> Mapping[str, object]:
    """The columns `met.py`'s finder reads of a row, for a cycle counted from the previous session."""
    return {
        "kind": kind,
        "scope": scope,
        "holder": holder,
        "counted_from_fact": "start" if previous is None else _A_SESSION_FACT,
        "counted_from_date": (date.min if previous is None else previous.held_on).isoformat(),
    }


def _columns(obligation: Obligation) -> Mapping[str, object]:
    return {
        "kind": obligation.kind,
        "scope": obligation.scope,
        "holder": obligation.holder,
        "counted_from_fact": obligation.counted_from.fact,
        "counted_from_date": obligation.counted_from.on.isoformat(),
    }


def obligations_before(evaluator: Evaluator, facts: _Facts, owner: str, today: date) -> ObligationsBefore:
    """The owner's obligations on `today` from its facts with only the sessions held before a day (pure: the
    engine given earlier facts; the kept folds are not changed)."""
    engine = evaluator.engine
    kind, subject_id = owner.split(":", 1)

    def before(day: date) -> list[Obligation]:
        if kind == "case":
            found = evaluator._case(facts, subject_id)
            if found is None:
                return []
            case, workers = found
            earlier = {w: _worker_before(f, day) for w, f in workers.items()}
            # Likewise a status from that day or later: the one before it is not kept.
            status = None if case.status is not None and case.status.start_date >= day else case.status
            then = replace(case, sessions=_held_before(case.sessions, day), held=None, status=status)
            return engine.for_case(then, earlier, today)
        if kind == "worker":
            worker = evaluator._worker(facts, subject_id)
            return [] if worker is None else engine.for_worker(_worker_before(worker, day), today)
        team = evaluator._team(facts, owner)
        return [] if team is None else engine.for_team(_team_before(team, day), today)

    return before


def _held_before(sessions: Sequence[Session], day: date) -> list[Session]:
    return [s for s in sessions if s.held_on < day]


def _worker_before(worker: WorkerFacts, day: date) -> WorkerFacts:
    # A supervisor since that day or later was not the worker's supervisor then; who was is not kept, so the
    # rules count as for a relationship older than the connector (as they did before the change was seen).
    since = worker.supervisor_since
    earlier = None if since is not None and since >= day else since
    return replace(worker, sessions=_held_before(worker.sessions, day), held=None, supervisor_since=earlier)


def _team_before(team: TeamFacts, day: date) -> TeamFacts:
    members = tuple(_worker_before(m, day) for m in team.members)
    return replace(team, members=members, sessions=_held_before(team.sessions, day), held=None)
