"""`with_personal_supervision`: a child's case supervision due when the worker's personal supervision is due."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

from rules.schedules.base import Candidate, Clock, Schedule, basis_of, new_candidate

if TYPE_CHECKING:
    from rules.pack import Rule
    from rules.pack.reader import Reader


@dataclass(frozen=True)
class WithPersonalSupervision(Schedule):
    type: ClassVar[str] = "with_personal_supervision"
    times: ClassVar[frozenset[str]] = frozenset({"case_supervision"})
    reads_personal: ClassVar[bool] = True

    @classmethod
    def parse(cls, table: Mapping[str, Any], kind: str, reader: Reader) -> Self:
        return cls()

    def due(self, rule: Rule, clock: Clock) -> Candidate | None:
        """Each child is recorded at every personal supervision: due when the worker's personal supervision is
        due, or at once from a personal supervision held since the allocation that recorded nothing for it."""
        personal = clock.personal
        if clock.worker is None or clock.since is None or personal is None:
            return None
        due = personal.due_date()
        if due is None:
            return None
        after = max(clock.since, clock.own[-1].held_on) if clock.own else clock.since
        missed = personal.held_after(after)
        if missed is not None:
            return new_candidate(rule, missed.on, missed)
        return new_candidate(rule, due, basis_of("worker's personal supervision due", due))
