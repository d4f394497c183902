"""`with_personal_supervision`: a child's case supervision due when the worker's personal supervision is due."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

from rules.explain import held
from rules.model import Basis
from rules.schedules.base import Candidate, Clock, Schedule

if TYPE_CHECKING:
    from rules.pack import Rule
    from rules.pack.reader import Reader


@dataclass(frozen=True)
class WithPersonalSupervision(Schedule):
    type: ClassVar[str] = "with_personal_supervision"
    times: ClassVar[frozenset[str]] = frozenset({"case_supervision"})

    @classmethod
    def parse(cls, table: Mapping[str, Any], kind: str, reader: Reader) -> Self:
        return cls()

    def due(self, rule: Rule, clock: Clock) -> Candidate | None:
        """Each child is recorded at every personal supervision: due when the worker's personal supervision is
        due, or at once from a personal supervision held since the allocation that recorded nothing for it."""
        if clock.worker is None or clock.since is None:
            return None
        personal = clock.personal_due()
        if personal is None:
            return None
        last_record = clock.own[-1].held_on if clock.own else None
        since = clock.since
        missed = [
            s
            for s in clock.personal_sessions()
            if s.held_on > since and (last_record is None or s.held_on > last_record)
        ]
        if missed:
            return Candidate(rule, missed[0].held_on, Basis(held(missed[0].kind), missed[0].held_on))
        return Candidate(rule, personal, Basis("worker's personal supervision due", personal))
