"""A ledger diff's writes, gathered as statements' parameters and made together (`LedgerWrites.write`).

The diff (ledger.py) decides; this holds what it decided. Gathered apart from the transaction, a re-evaluation's
diff is made before the write lock and the lock is held only for the statements (pipeline/prepared_diffs.py):
the payloads' JSON and the columns' texts cost more than the writes. Within a diff the statements touch distinct
rows (each reference is kept, moved, created or ended once), so their order by kind is the diff's order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connector.pipeline.outbox import OUTBOX_UPSERT, encoded
from connector.pipeline.outcomes import OUTCOME_INSERT
from connector.store.database import utc_now_text
from connector.store.engines.base import Connection

OBLIGATION_INSERT = (
    "INSERT INTO obligations (tenant, platform, reference, owner, kind, scope, holder, cycle, case_id,"
    " assignee_id, team_id, due_date, rules, counted_from_fact, counted_from_date, explanation, form,"
    " status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)"
)
OBLIGATION_MOVE = (
    "UPDATE obligations SET case_id = ?, assignee_id = ?, team_id = ?, due_date = ?, rules = ?,"
    " counted_from_fact = ?, counted_from_date = ?, explanation = ?, form = ?, overdue_since = NULL,"
    " updated_at = ? WHERE tenant = ? AND platform = ? AND reference = ?"
)
OBLIGATION_END = "UPDATE obligations SET status = ?, updated_at = ? WHERE tenant = ? AND platform = ? AND reference = ?"


@dataclass
class LedgerWrites:
    """The parameters of each statement a diff makes, by statement; `now` stamps them all."""

    now: str = field(default_factory=utc_now_text)
    inserts: list[tuple[Any, ...]] = field(default_factory=list)
    moves: list[tuple[Any, ...]] = field(default_factory=list)
    ends: list[tuple[Any, ...]] = field(default_factory=list)
    outcomes: list[tuple[Any, ...]] = field(default_factory=list)
    outbox: list[tuple[str, ...]] = field(default_factory=list)

    def queue(self, tenant: str, platform: str, reference: str, action: str, payload: dict[str, Any]) -> None:
        """An obligation's platform write, encoded now (the outbox's row, as `Outbox.put` makes it)."""
        self.outbox += encoded([(tenant, platform, reference, "obligation", action, payload)], self.now)

    def write(self, conn: Connection) -> None:
        for sql, rows in (
            (OBLIGATION_INSERT, self.inserts),
            (OBLIGATION_MOVE, self.moves),
            (OBLIGATION_END, self.ends),
            (OUTCOME_INSERT, self.outcomes),
            (OUTBOX_UPSERT, self.outbox),
        ):
            if rows:
                conn.executemany(sql, rows)
