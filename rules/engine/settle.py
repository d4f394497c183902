"""Settling a slot from its rules' candidates (rule 3), and the small helpers the level modules share."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import islice
from operator import attrgetter, lt

from rules.held import HeldIndex
from rules.makers import maker
from rules.model import Basis, Booking, Session, WorkerFacts
from rules.pack import Rule
from rules.schedules.base import Candidate, Clock, Schedule


@dataclass(slots=True)  # not frozen, as Clock: one per slot, read once by `build.obligation`
class Due:
    """The settled due date of one slot: the date, the rules that gave it, the fact it counted from."""

    due: date
    rules: tuple[Rule, ...]
    basis: Basis


new_due = maker(Due)  # one per slot: rules/makers.py says why


def contenders(rules: Iterable[Rule], clock: Clock) -> list[Rule]:
    """Rule 3, first half: of the rules in force, a specific rule that applies replaces the general ones."""
    applicable = [r for r in rules if r.schedule.applies(clock)]
    if any(r.precedence == "specific" for r in applicable):
        applicable = [r for r in applicable if r.precedence != "general"]
    return applicable


def fixed_contenders(rules: Sequence[Rule]) -> tuple[Rule, ...] | None:
    """`contenders` worked out once, for rules whose schedules all take part whatever the clock (None when one
    decides by the clock): the same answer for every subject the rules apply to."""
    if any(type(r.schedule).applies is not Schedule.applies for r in rules):
        return None
    if any(r.precedence == "specific" for r in rules):
        return tuple(r for r in rules if r.precedence != "general")
    return tuple(rules)


def strictest(rules: Sequence[Rule], clock: Clock) -> Due | None:
    """Rule 3: then the earliest date wins, and every rule that gave that date is kept."""
    if len(rules) == 1:
        # Most slots have one rule in force, which replaces nothing and is replaced by nothing.
        rule = rules[0]
        schedule = rule.schedule
        if schedule.applies(clock) and (found := schedule.due(rule, clock)) is not None:
            return new_due(found.due, (rule,), found.basis)
        return None
    return earliest(contenders(rules, clock), clock)


def earliest(contending: Sequence[Rule], clock: Clock) -> Due | None:
    """Rule 3, second half, on the contenders alone (from `contenders` or `fixed_contenders`)."""
    if len(contending) == 1:
        rule = contending[0]
        found = rule.schedule.due(rule, clock)
        return None if found is None else new_due(found.due, (rule,), found.basis)
    if len(contending) == 2:
        # The usual pair (a rule for the first weeks of an allocation beside the regular one): compared directly.
        a, b = contending
        one, two = a.schedule.due(a, clock), b.schedule.due(b, clock)
        if one is None:
            return None if two is None else new_due(two.due, (b,), two.basis)
        if two is None or one.due < two.due:
            return new_due(one.due, (a,), one.basis)
        return new_due(two.due, (b,), two.basis) if two.due < one.due else new_due(one.due, (a, b), one.basis)
    candidates = [c for r in contending if (c := r.schedule.due(r, clock)) is not None]
    if len(candidates) < 2:
        return new_due(candidates[0].due, (candidates[0].rule,), candidates[0].basis) if candidates else None
    due = min(c.due for c in candidates)
    winners = [c for c in candidates if c.due == due]
    return new_due(due, tuple(c.rule for c in winners), winners[0].basis)


def first(rules: Iterable[Rule], clock: Clock) -> Candidate | None:
    """For kinds where one rule gives the obligation: the first rule in the pack that owes something."""
    for rule in rules:
        if rule.schedule.applies(clock) and (found := rule.schedule.due(rule, clock)) is not None:
            return found
    return None


def latest(*facts: Basis | None) -> Basis:
    """The latest of several starts (rule 13); on a tie the first named."""
    present = [f for f in facts if f is not None]
    on = max(f.on for f in present)
    return next(f for f in present if f.on == on)


def by_held(sessions: Iterable[Session]) -> list[Session]:
    return sorted(sessions, key=_held_order)


_held_order = attrgetter("held_on", "session_id")
# A session's day held, for sorting and halving sessions by it (in C).
held_day = attrgetter("held_on")


def left(worker: WorkerFacts | None, as_of: date) -> bool:
    return worker is not None and worker.end_date is not None and worker.end_date <= as_of


def recorded(
    sessions: Iterable[Session], booking: Booking, day: date, case_id: str | None, kinds: frozenset[str]
) -> bool:
    """A booked session is taken to be recorded once the same worker has a session of `kinds` recorded on or
    after the booked day (a record made before it belongs to an earlier meeting); for a child, one that
    discussed that child."""
    return any(
        s.kind in kinds
        and s.worker_id == booking.worker_id
        and s.recorded_on >= day
        and (case_id is None or case_id in s.case_ids)
        for s in sessions
    )


def assignee(rule: Rule, holder: str, supervisor_id: str | None, worker: WorkerFacts | None) -> str:
    """Who gets the step: the holder, or for a supervisor's step the session's (or the worker's) supervisor;
    the holder when no supervisor is known, so the step is seen by someone."""
    if rule.assignee == "supervisor":
        return supervisor_id or (worker.supervisor_id if worker else None) or holder
    return holder


def held_sessions(
    sessions: Sequence[Session], kinds: frozenset[str], index: HeldIndex | None = None
) -> Sequence[Session]:
    """The sessions of these kinds in held order: from the facts' index when they carry one."""
    if index is not None:
        return index.of_kinds(kinds)
    found = [s for s in sessions if s.kind in kinds]
    # Sessions mostly come in held order already: when their days strictly rise, that is the order, and checking
    # the days (in C) costs less than sorting by (day, id), which makes a tuple per session. The days are listed
    # by a comprehension, not map(held_day): the interpreter reads a field it has seen before at a cached offset,
    # where attrgetter looks the name up in every session (about 60% more instructions).
    days = [s.held_on for s in found]
    if not all(map(lt, days, islice(days, 1, None))):
        found.sort(key=_held_order)
    return found
