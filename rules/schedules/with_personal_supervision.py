"""`with_personal_supervision`: a child's case supervision due when the worker's personal supervision is due."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING, Any, ClassVar, Self

from rules.schedules.base import Candidate, Clock, Schedule, basis_of, held_basis

if TYPE_CHECKING:
    from rules.pack import Rule
    from rules.pack.reader import Reader

_held_on = attrgetter("held_on")


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
        if clock.worker is None or clock.since is None:
            return None
        personal = clock.personal_due()
        if personal is None:
            return None
        after = max(clock.since, clock.own[-1].held_on) if clock.own else clock.since
        # The worker's sessions are in held order, and every child they hold asks: find the first missed one
        # by halving, not by a pass over the worker's whole history.
        sessions = clock.personal_sessions()
        at = bisect_right(sessions, after, key=_held_on)
        if at < len(sessions):
            missed = sessions[at]
            return Candidate(rule, missed.held_on, held_basis(missed.kind, missed.held_on))
        return Candidate(rule, personal, basis_of("worker's personal supervision due", personal))
