"""`once_after`: once, N days after an allocation or transfer, or after a supervisory relationship begins."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

from rules.dates import add_days
from rules.schedules.base import Candidate, Clock, Schedule, new_candidate

if TYPE_CHECKING:
    from rules.pack import Rule
    from rules.pack.reader import Reader

# What each `after` counts from, and the one obligation kind it can time.
AFTER = {"allocation": "case_supervision", "supervisor": "supervision_agreement"}


@dataclass(frozen=True)
class OnceAfter(Schedule):
    type: ClassVar[str] = "once_after"
    times: ClassVar[frozenset[str]] = frozenset(AFTER.values())
    required: ClassVar[frozenset[str]] = frozenset({"after", "days"})
    allowed: ClassVar[frozenset[str]] = frozenset({"seen_within_days"})
    after: str = "allocation"
    days: int = 28
    seen_within_days: int | None = None

    @classmethod
    def parse(cls, table: Mapping[str, Any], kind: str, reader: Reader) -> Self:
        after = table["after"]
        if AFTER.get(after) != kind:
            choices = ", ".join(a for a, k in AFTER.items() if k == kind)
            raise reader.fail(f"'after' for {kind} must be {choices}, not {after!r}")
        within = table.get("seen_within_days")
        return cls(
            after=after,
            days=reader.positive(table["days"], "days"),
            seen_within_days=None if within is None else reader.positive(within, "seen_within_days"),
        )

    def due(self, rule: Rule, clock: Clock) -> Candidate | None:
        since = clock.since
        if since is None:
            return None
        # Rule 13: owed only for a start the connector saw within so many days of it happening.
        if (
            self.seen_within_days is not None
            and clock.known_since is not None
            and since < add_days(clock.known_since, -self.seen_within_days)
        ):
            return None
        # Rule 8: met by any qualifying session held on or after the start. The sessions are in held order
        # (`Clock`), so the last is the latest: it alone answers.
        sessions = clock.sessions
        if sessions and sessions[-1].held_on >= since:
            return None
        return new_candidate(rule, add_days(clock.start.on, self.days), clock.start)
