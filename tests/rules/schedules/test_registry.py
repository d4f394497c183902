"""The schedule registry: every type parses its own example, an unknown type is refused naming the known ones,
and a new type needs only its own module (here a test-only class) to be loaded and used by the engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, ClassVar, Self

import pytest

from rules.calendar import WorkingCalendar
from rules.dates import add_days
from rules.engine import Engine
from rules.model import Basis, CaseAllocation, CaseFacts, StatusSpell
from rules.pack import PackError, Rule, load_pack
from rules.pack.reader import Reader
from rules.schedules import registry
from rules.schedules.base import Candidate, Clock, Schedule

# One example per registered type: (the obligation kind it times, its table as a pack writes it).
EXAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "interval": ("case_supervision", {"every_days": 28}),
    "calendar_month": ("group_supervision", {}),
    "phased": ("personal_supervision", {"phases": [{"every_days": 7, "for_days": 42}]}),
    "shifts": ("personal_supervision", {"every_shifts": 8}),
    "once_after": ("case_supervision", {"after": "allocation", "days": 28}),
    "after_session": (
        "supervision_record",
        {"after": "booking", "booking_kinds": ["case_supervision"], "working_days": 5},
    ),
    "before_booking": ("agenda", {"booking_kinds": ["personal_supervision"], "hours": 24}),
    "booked_ahead": ("supervision_booking", {"booking_kinds": ["personal_supervision"], "months": 3}),
    "yearly_count": ("practice_observation", {"count": 2, "year_starts": "04-01"}),
    "with_personal_supervision": ("case_supervision", {}),
    "form_content": ("case_supervision", {"field": "previous_actions"}),
    "assignment": ("fsm_group_supervision", {"role": "ADMINISTRATOR"}),
}

HEAD = """\
[pack]
name = "testshire"
council = "Testshire"
policy = "Supervision policy"
qualifying_case_sessions = ["case"]

[[rules]]
id = "T-CS"
source = "1.1"
kind = "case_supervision"
words = "every case is supervised on a fortnightly rhythm"
"""


def test_every_registered_type_parses_its_own_example(tmp_path: Path) -> None:
    assert set(EXAMPLES) == set(registry.SCHEDULES)
    for name, (kind, table) in EXAMPLES.items():
        cls = registry.schedule_type(name)
        assert cls.type == name and kind in cls.times
        assert cls.required <= set(table) <= cls.required | cls.allowed
        schedule = cls.parse(table, kind, Reader(tmp_path / "testshire.toml"))
        assert isinstance(schedule, cls)
        assert schedule.sets_due_dates == (name not in ("form_content", "assignment"))


def test_an_unknown_type_is_refused_naming_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(registry.UnknownSchedule) as caught:
        registry.schedule_type("fortnightly")
    assert "'fortnightly'" in str(caught.value) and all(name in str(caught.value) for name in EXAMPLES)
    path = tmp_path / "testshire.toml"
    path.write_text(HEAD + 'schedule = { type = "fortnightly" }\n', encoding="utf-8")
    with pytest.raises(PackError) as refused:
        load_pack(str(path))
    assert str(refused.value).startswith(
        "testshire.toml: rule T-CS: 'schedule' needs a 'type', one of interval,"
    )


@dataclass(frozen=True)
class Fortnightly(Schedule):
    """A third council's schedule, defined here only: due on the Nth day after the start, counted in weeks."""

    type: ClassVar[str] = "fortnightly"
    times: ClassVar[frozenset[str]] = frozenset({"case_supervision"})
    required: ClassVar[frozenset[str]] = frozenset({"weeks"})
    weeks: int = 2

    @classmethod
    def parse(cls, table: Mapping[str, Any], kind: str, reader: Reader) -> Self:
        return cls(reader.positive(table["weeks"], "weeks"))

    def due(self, rule: Rule, clock: Clock) -> Candidate | None:
        _, basis = clock.last_or_start(rule)
        return Candidate(rule, add_days(basis.on, 7 * self.weeks), basis)


@pytest.fixture
def fortnightly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.SCHEDULES, Fortnightly.type, Fortnightly)


@pytest.mark.usefixtures("fortnightly")
def test_a_new_schedule_type_is_one_class_registered(tmp_path: Path) -> None:
    path = tmp_path / "testshire.toml"
    path.write_text(HEAD + 'schedule = { type = "fortnightly", weeks = 3 }\n', encoding="utf-8")
    pack = load_pack(str(path))
    assert pack.rules[0].schedule == Fortnightly(3)
    case = CaseFacts(
        case_id="100234",
        known_since=date(2026, 11, 2),
        status=StatusSpell("CP", date(2026, 11, 3)),
        allocations=(CaseAllocation("5521", "310", "ALLWKR", date(2026, 11, 2)),),
        closed_on=None,
        sessions=(),
    )
    (found,) = Engine(pack, WorkingCalendar()).for_case(case, {}, date(2026, 11, 10))
    assert found.due_date == date(2026, 11, 23) and found.rule_ids == ("T-CS",)
    assert found.counted_from == Basis("allocation", date(2026, 11, 2))
