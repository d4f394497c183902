"""`assignment`: not a due date; who in the team records the obligation's session (a job role)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

from rules import codes
from rules.schedules.base import Schedule

if TYPE_CHECKING:
    from rules.pack import Rule
    from rules.pack.reader import Reader


@dataclass(frozen=True)
class Assignment(Schedule):
    type: ClassVar[str] = "assignment"
    times: ClassVar[frozenset[str]] = frozenset({"fsm_group_supervision"})
    required: ClassVar[frozenset[str]] = frozenset({"role"})
    sets_due_dates: ClassVar[bool] = False
    role: str = "ADMINISTRATOR"

    @classmethod
    def parse(cls, table: Mapping[str, Any], kind: str, reader: Reader) -> Self:
        role = table["role"]
        if role not in codes.JOB_ROLES:
            raise reader.fail(f"unknown job role {role!r} (known: {', '.join(sorted(codes.JOB_ROLES))})")
        return cls(role=role)


def roles(rules: Iterable[Rule]) -> list[tuple[Rule, str]]:
    """The job roles these rules say record the session, each with its rule, in pack order."""
    return [(r, r.schedule.role) for r in rules if isinstance(r.schedule, Assignment)]
