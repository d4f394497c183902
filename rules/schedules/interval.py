"""`interval`: every N days from the last qualifying session; with none yet, N days from the start (rule 1)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Self

from rules import codes
from rules.dates import add_days
from rules.kinds import CLOCKED, LEVELS
from rules.schedules.base import Candidate, Clock, Schedule, new_candidate

if TYPE_CHECKING:
    from rules.pack import Rule
    from rules.pack.reader import Reader


@dataclass(frozen=True)
class Interval(Schedule):
    """Every N days; a case's N may depend on the worker's relationship or an agreed permanency plan."""

    type: ClassVar[str] = "interval"
    times: ClassVar[frozenset[str]] = CLOCKED
    allowed: ClassVar[frozenset[str]] = frozenset(
        {"every_days", "every_days_by_relationship", "every_days_once_permanency_agreed"}
    )
    every_days: int | None = None
    every_days_by_relationship: Mapping[str, int] = field(default_factory=dict)
    every_days_once_permanency_agreed: int | None = None

    def days_for(self, relationship: str | None, permanency_plan_agreed: bool) -> int | None:
        if permanency_plan_agreed and self.every_days_once_permanency_agreed is not None:
            return self.every_days_once_permanency_agreed
        if relationship is not None and relationship in self.every_days_by_relationship:
            return self.every_days_by_relationship[relationship]
        return self.every_days

    @classmethod
    def parse(cls, table: Mapping[str, Any], kind: str, reader: Reader) -> Self:
        by_relationship: dict[str, int] = {}
        if "every_days_by_relationship" in table:
            if LEVELS[kind] != "case":
                raise reader.fail("'every_days_by_relationship' is only for case-level obligations")
            mapping = reader.table(table["every_days_by_relationship"], "'every_days_by_relationship'")
            reader.codes(list(mapping), "every_days_by_relationship", codes.RELATIONSHIPS)
            by_relationship = {
                k: reader.positive(v, f"every_days_by_relationship.{k}") for k, v in mapping.items()
            }
        if "every_days" not in table and not by_relationship:
            raise reader.fail("an interval schedule needs 'every_days' or 'every_days_by_relationship'")
        agreed = table.get("every_days_once_permanency_agreed")
        return cls(
            every_days=reader.positive(table["every_days"], "every_days") if "every_days" in table else None,
            every_days_by_relationship=by_relationship,
            every_days_once_permanency_agreed=(
                None if agreed is None else reader.positive(agreed, "every_days_once_permanency_agreed")
            ),
        )

    def due(self, rule: Rule, clock: Clock) -> Candidate | None:
        _, basis = clock.last_or_start(rule)
        days = self.days_for(clock.relationship, clock.permanency_plan_agreed)
        return None if days is None else new_candidate(rule, add_days(basis.on, days), basis)
