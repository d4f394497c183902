"""Settling a slot: held order from unordered sessions, and rule 3 between two contending rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from rules.calendar import WorkingCalendar
from rules.engine.settle import earliest, held_sessions
from rules.model import Basis, Session
from rules.pack import Rule
from rules.pack.applies_to import AppliesTo
from rules.schedules.base import Candidate, Clock, Schedule

START = Basis("allocation", date(2026, 11, 2))


def held(session_id: str, day: int, kind: str = "case") -> Session:
    return Session(
        session_id, kind, "5521", None, "310", ("100234",), date(2026, 11, day), date(2026, 11, day)
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (("a", "b", "c"), ("a", "b", "c")),  # already in held order: kept as it is
        (("c", "a", "b"), ("a", "b", "c")),
        (("b2", "b1"), ("b1", "b2")),  # the same day: by session id
        (("a", "b2", "b1", "c"), ("a", "b1", "b2", "c")),
    ],
)
def test_held_sessions_are_in_held_order_then_by_id(
    given: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    day = {"a": 1, "b": 2, "b1": 2, "b2": 2, "c": 3}
    sessions = [held(n, day[n]) for n in given] + [held("x", 1, kind="personal")]
    assert [s.session_id for s in held_sessions(sessions, frozenset({"case"}))] == list(expected)


@dataclass(frozen=True)
class Fixed(Schedule):
    """A schedule that gives a set day (or nothing) whatever the clock."""

    day: int | None = None

    def due(self, rule: Rule, clock: Clock) -> Candidate | None:
        if self.day is None:
            return None
        return Candidate(rule, date(2026, 12, self.day), Basis(f"from {rule.id}", date(2026, 11, 1)))


def rule(rule_id: str, day: int | None) -> Rule:
    return Rule(rule_id, "1", "case_supervision", "words", AppliesTo(), Fixed(day))


@pytest.mark.parametrize(
    ("days", "due", "winners"),
    [
        ((5, 9), 5, ("A",)),
        ((9, 5), 5, ("B",)),
        ((5, 5), 5, ("A", "B")),  # a tie: both rules, counted from the first's basis
        ((None, 5), 5, ("B",)),
        ((5, None), 5, ("A",)),
        ((None, None), None, ()),
        ((7, 5, 5), 5, ("B", "C")),
    ],
)
def test_the_earliest_date_wins_with_every_rule_that_gave_it(
    days: tuple[int | None, ...], due: int | None, winners: tuple[str, ...]
) -> None:
    rules = [rule(name, day) for name, day in zip("ABC", days, strict=False)]
    settled = earliest(rules, Clock(date(2026, 11, 22), WorkingCalendar(), START))
    if due is None:
        assert settled is None
        return
    assert settled is not None
    assert (settled.due, tuple(r.id for r in settled.rules)) == (date(2026, 12, due), winners)
    assert settled.basis == Basis(f"from {winners[0]}", date(2026, 11, 1))
