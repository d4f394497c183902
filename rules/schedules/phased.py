"""`phased`: intervals that change with time since the start date (rule 9); after the last phase the rule ends."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Self

from rules.dates import add_days, add_months
from rules.schedules.base import Candidate, Clock, Schedule, new_candidate

if TYPE_CHECKING:
    from rules.pack import Rule
    from rules.pack.reader import Reader


@dataclass(frozen=True)
class Phase:
    every_days: int
    for_days: int | None = None
    until_months: int | None = None

    def ends(self, start: date) -> date:
        """The first day after the phase: "the first six weeks" are the 42 days from the start date."""
        if self.for_days is not None:
            return add_days(start, self.for_days)
        return add_months(start, self.until_months or 0)


@dataclass(frozen=True)
class Phased(Schedule):
    type: ClassVar[str] = "phased"
    times: ClassVar[frozenset[str]] = frozenset({"personal_supervision"})
    required: ClassVar[frozenset[str]] = frozenset({"phases"})
    phases: tuple[Phase, ...] = ()

    def in_force(self, start: date, day: date) -> Phase | None:
        return next((p for p in self.phases if start <= day < p.ends(start)), None)

    @classmethod
    def parse(cls, table: Mapping[str, Any], kind: str, reader: Reader) -> Self:
        raw = table["phases"]
        if not isinstance(raw, list) or not raw:
            raise reader.fail("'phases' must be a non-empty list of {every_days, for_days or until_months}")
        phases = []
        for n, item in enumerate(raw, start=1):
            phase = reader.table(item, f"phase {n}")
            reader.keys(phase, f"phase {n}", {"every_days"}, {"for_days", "until_months"})
            if ("for_days" in phase) == ("until_months" in phase):
                raise reader.fail(f"phase {n} needs exactly one of 'for_days' and 'until_months'")
            phases.append(
                Phase(
                    every_days=reader.positive(phase["every_days"], f"phases[{n}].every_days"),
                    for_days=reader.positive(phase["for_days"], f"phases[{n}].for_days")
                    if "for_days" in phase
                    else None,
                    until_months=(
                        reader.positive(phase["until_months"], f"phases[{n}].until_months")
                        if "until_months" in phase
                        else None
                    ),
                )
            )
        probe = date(2027, 1, 31)  # a phase must end after the one before it, whatever the start date
        if any(a.ends(probe) >= b.ends(probe) for a, b in itertools.pairwise(phases)):
            raise reader.fail("each phase must end after the phase before it")
        return cls(tuple(phases))

    def _phase(self, clock: Clock) -> Phase | None:
        # Rule 9: the phase in force on the day of the last session (or of the start, with none yet).
        if clock.worker is None:
            return None
        day = clock.sessions[-1].held_on if clock.sessions else clock.start.on
        return self.in_force(clock.worker.start_date, day)

    def applies(self, clock: Clock) -> bool:
        return self._phase(clock) is not None

    def due(self, rule: Rule, clock: Clock) -> Candidate | None:
        phase = self._phase(clock)
        if phase is None:
            return None
        _, basis = clock.last_or_start(rule)
        return new_candidate(rule, add_days(basis.on, phase.every_days), basis)
