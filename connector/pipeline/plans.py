"""What one transaction of processing applies: per tenant and platform, the owners' desired obligations and what
the diff needs beside them (`Processor._apply`), for a batch of events and for a re-evaluation's write parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from connector.pipeline.ledger import DiffCounts
from connector.pipeline.met import Held, MetCheck, SessionFinder
from connector.pipeline.reevaluate_on import Stored
from rules.model import Obligation

if TYPE_CHECKING:  # only for the hints: the processor makes the plans
    from connector.pipeline.evaluator import Evaluator, _Facts


@dataclass(frozen=True)
class Plan:
    evaluator: Evaluator
    platform: str
    completed_steps: list[tuple[str, Held]]
    desired: list[tuple[str, list[Obligation]]]
    facts: _Facts
    changes: dict[str, date | None] = field(default_factory=dict)  # owner -> the day to re-evaluate it on
    # owner -> its met-check, worked out before the transaction (an owner missing is worked out in it).
    checks: dict[str, tuple[MetCheck, SessionFinder]] = field(default_factory=dict)
    # owner -> the digest of its desired obligations, and what `reevaluate_on` held before (both worked out in
    # the transaction when not given).
    digests: dict[str, str] | None = None
    known: dict[str, Stored] | None = None
    # The batch's sessions (event ids), whose skipped cycles are recorded: a re-evaluation brings none.
    new_sessions: frozenset[str] = frozenset()
    # owner -> the case-level rules its evaluation read (reevaluate_on.reads; None: not a case).
    reads: dict[str, str | None] = field(default_factory=dict)


def add_counts(a: DiffCounts, b: DiffCounts) -> DiffCounts:
    return DiffCounts(a.created + b.created, a.moved + b.moved, a.withdrawn + b.withdrawn, a.met + b.met)
