"""Whether an obligation cycle that is no longer owed ended because it was met, or was simply withdrawn.

The distinction decides how its platform step ends: a met cycle's step is COMPLETED, so the platform's reports
show the supervision as done; one no longer owed (case closed, worker de-allocated or transferred away, a rule
that no longer applies) is CANCELLED.

The ledger calls a cycle met when either
- the desired set holds the same (kind, scope, holder) with a higher cycle: the engine numbers cycles by the
  sessions that ended them, so a higher cycle means a session ended this one (the ledger checks this itself); or
- the subject's recorded sessions hold one that counts for the obligation's kind, of its holder, held after the
  fact the cycle counted from (on or after it, unless that fact was itself a session, which started this cycle
  rather than meeting it). This covers obligations that end with no next cycle: an agreement made, a year's
  observations done, a booked session's record written. A booking-scoped obligation (record, agenda) is met by
  any session its holder held on or after the booked day.
This predicate answers the second question from the same events the subject's facts were folded from.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from rules.events import Event, SupervisionRecorded
from rules.explain import HELD

SESSION_FACTS = frozenset(HELD.values())
MetCheck = Callable[[sqlite3.Row], bool]


@dataclass(frozen=True)
class _Held:
    kind: str
    worker_id: str
    held_on: date


def never_met(row: sqlite3.Row) -> bool:
    return False


def met_by_sessions(events: Iterable[Event], counting_kinds: Callable[[str], frozenset[str]]) -> MetCheck:
    """A check for the ledger's rows of one subject, given every event folded about that subject."""
    held = [_Held(e.kind, e.worker_id, e.held_on) for e in events if isinstance(e, SupervisionRecorded)]
    if not held:
        return never_met

    def met(row: sqlite3.Row) -> bool:
        since = date.fromisoformat(row["counted_from_date"])
        from_session = row["counted_from_fact"] in SESSION_FACTS or row["counted_from_fact"].endswith(" held")
        any_kind = str(row["scope"]).startswith("booking-")
        kinds = counting_kinds(row["kind"])
        for session in held:
            if row["holder"] != "-" and session.worker_id != row["holder"]:
                continue
            if not any_kind and session.kind not in kinds:
                continue
            if session.held_on > since or (session.held_on == since and not from_session):
                return True
        return False

    return met
