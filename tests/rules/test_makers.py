"""rules.makers: a maker gives the instance its class would, and refuses classes it cannot make alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest

from rules.calendar import WorkingCalendar
from rules.makers import maker
from rules.model import Basis
from rules.schedules.base import Candidate, Clock, new_candidate, new_clock


def _fields(instance: object) -> dict[str, object]:
    return {name: getattr(instance, name) for name in type(instance).__slots__}  # type: ignore[attr-defined]


def test_a_made_clock_has_every_field_its_constructor_sets_defaults_included() -> None:
    calendar = WorkingCalendar()
    start = Basis("allocation", date(2026, 1, 5))
    made = new_clock(date(2026, 3, 1), calendar, start, since=date(2026, 1, 5), relationship="ALLWKR")
    assert type(made) is Clock
    assert _fields(made) == _fields(
        Clock(date(2026, 3, 1), calendar, start, since=date(2026, 1, 5), relationship="ALLWKR")
    )
    assert made.met_by == frozenset() and made.own == () and made.personal is None


def test_a_made_candidate_equals_the_constructed_one() -> None:
    basis = Basis("allocation", date(2026, 1, 5))
    rule = object()
    assert new_candidate(rule, date(2026, 2, 2), basis, cycle=3) == Candidate(  # type: ignore[arg-type]
        rule,  # type: ignore[arg-type]
        date(2026, 2, 2),
        basis,
        cycle=3,
    )


def test_a_made_instance_is_missing_no_argument_its_constructor_needs() -> None:
    with pytest.raises(TypeError):
        new_clock(date(2026, 3, 1), WorkingCalendar())  # type: ignore[call-arg]


@dataclass(frozen=True, slots=True)
class _Frozen:
    a: int


@dataclass
class _WithoutSlots:
    a: int


@dataclass(slots=True)
class _WithFactory:
    a: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _WithPostInit:
    a: int

    def __post_init__(self) -> None:
        self.a += 1


@pytest.mark.parametrize("cls", [_Frozen, _WithoutSlots, _WithFactory, _WithPostInit])
def test_a_class_whose_constructor_does_more_than_set_its_fields_is_refused(cls: type[object]) -> None:
    with pytest.raises(TypeError, match=cls.__name__):
        maker(cls)
