"""Cycles a diff went past without the ledger ever holding them, and what the compliance history keeps of them.

The engine numbers a series' cycles by the sessions that ended them (mostly `cycle = 1 + qualifying sessions`).
When one diff counts two sessions of a series at once (both in one processing batch, or a first evaluation of a
subject with a past), the desired set jumps from cycle N to N+2: the ledger ends N met, and N+1 never had a row.
Its outcome is then worked out from the final facts, the same as a diff that saw it open would have recorded:
the k-th qualifying session met cycle k, and the cycle's due date, rules and counted-from fact are what the rules
give for the same facts with only the sessions held before that session. Facts other than sessions (a status
change, a new supervisor) are taken as they ended: the final state does not say when they changed relative to
each session, so two batchings agree on them only as far as that state determines them.

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
    from connector.pipeline.processor import Evaluator, _Facts

Series = tuple[str, str, str]  # (kind, scope, holder)
# (series, first cycle never held, the session that met the cycle before it or None, the cycle desired now) ->
# each cycle in between the ledger never held, as the rules gave it, with the session that met it.
SkippedCycles = Callable[[Series, int, Held | None, int], list[tuple[Obligation, Held]]]
# The owner's obligations from its facts with only the sessions held before a day.
ObligationsBefore = Callable[[date], list[Obligation]]

_A_SESSION_FACT = sorted(SESSION_FACTS)[0]


def none_skipped(
    series: Series, start: int, met_before: Held | None, upto: int
) -> list[tuple[Obligation, Held]]:
    return []


def skipped_cycles(before: ObligationsBefore, finder: SessionFinder) -> SkippedCycles:
    """From the owner's obligations as of a day and the finder of the session that met a ledger row."""

    def fill(series: Series, start: int, met_before: Held | None, upto: int) -> list[tuple[Obligation, Held]]:
        kind, scope, holder = series
        if met_before is None and start > 1:
            return []  # the cycle before was ended with no session found to count on from
        found: list[tuple[Obligation, Held]] = []
        previous = met_before
        for cycle in range(start, upto):
            # The session that met this cycle: the first that counts for the series after the one that met the
            # cycle before (from the start for cycle 1), as `met.py` finds it for a row the ledger held.
            session = finder(_counted_from(kind, scope, holder, previous))
            if session is None:
                break
            key = (kind, scope, holder, cycle)
            match = next((o for o in before(session.held_on) if o.key == key), None)
            if match is None:
                # The rules number this series otherwise (a year's count) or two sessions were held the same
                # day: no cycle is made up.
                break
            found.append((match, session))
            previous = session
        return found

    return fill


def _counted_from(kind: str, scope: str, holder: str, previous: Held | None) -> Mapping[str, object]:
    """The columns `met.py`'s finder reads of a row, for a cycle counted from the previous session."""
    return {
        "kind": kind,
        "scope": scope,
        "holder": holder,
        "counted_from_fact": "start" if previous is None else _A_SESSION_FACT,
        "counted_from_date": (date.min if previous is None else previous.held_on).isoformat(),
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
            return engine.for_case(
                replace(case, sessions=_held_before(case.sessions, day), held=None), earlier, today
            )
        if kind == "worker":
            worker = evaluator._worker(facts, subject_id)
            return [] if worker is None else engine.for_worker(_worker_before(worker, day), today)
        team = evaluator._team(facts, owner)
        return [] if team is None else engine.for_team(_team_before(team, day), today)

    return before


def _held_before(sessions: Sequence[Session], day: date) -> list[Session]:
    return [s for s in sessions if s.held_on < day]


def _worker_before(worker: WorkerFacts, day: date) -> WorkerFacts:
    return replace(worker, sessions=_held_before(worker.sessions, day), held=None)


def _team_before(team: TeamFacts, day: date) -> TeamFacts:
    members = tuple(_worker_before(m, day) for m in team.members)
    return replace(team, members=members, sessions=_held_before(team.sessions, day), held=None)
