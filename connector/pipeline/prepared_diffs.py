"""A re-evaluation's diffs made before the write lock, and written in it only if the ledger is still as read.

A write part of a rule-pack change moves a hundred obligations; inside the lock, the diff's columns, payloads and
JSON took about half the time the lock was held, and with a re-evaluation split across processes
(reevaluation_processes.py) each process waited that long for the other's write turn. So the part's ledger rows are
read and its diffs made outside any transaction (`prepare`); in the transaction the owners' open rows are read
again, and the prepared statements are made only when they are exactly the open rows read (`write_prepared`).
Otherwise (a delivery closed a step meanwhile, a tick marked one overdue, another process diffed the owner), the
part's diffs are made again in the transaction, from what is there. Either way the ledger ends as a diff made in
the lock would leave it: a diff is a function of the rows it reads, the desired obligations and the facts; the
facts cannot change meanwhile (a slice holds the processor, or the gate each batch takes, for its whole time);
and every write that can change a diff's rows creates an open row or changes one (a row is inserted open, only
an open row is moved, ended or closed, and no row is deleted), while an ended row changes only in the platform
ids its confirmation brings, which no diff reads. Only the open rows are read again: the rows of the desired
cycles beside them, found by one condition a cycle, made that check cost as much as the writes at 500,000 cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from connector.pipeline.ledger import DiffCounts, Ledger
from connector.pipeline.ledger_writes import LedgerWrites
from connector.pipeline.plans import Plan, add_counts
from connector.pipeline.reevaluate_on import digest_unchanged, save_reevaluate_on
from connector.store.engines.base import Connection, Row
from rules.model import Obligation

OWNERS_A_QUERY = 500  # parameters under every SQLite build's limit (999 before 3.32)


@dataclass(frozen=True)
class Prepared:
    """A plan's diffs: the owners diffed, their open ledger rows as read, the writes and what they count."""

    to_diff: list[tuple[str, list[Obligation]]]
    open_rows: dict[str, list[tuple[Any, ...]]]
    writes: LedgerWrites
    counts: DiffCounts


def prepare(ledger: Ledger, conn: Connection, plan: Plan, today: date) -> Prepared:
    """The diffs of a re-evaluation's plan (its digests and stored days given, no steps or sessions of a batch),
    from the ledger as it is now; `conn` outside a transaction."""
    if plan.known is None or plan.digests is None or plan.completed_steps or plan.new_sessions:
        raise ValueError("only a re-evaluation's plan, with its digests and stored days, is prepared")
    tenant = plan.evaluator.tenant
    known, digests = plan.known, plan.digests
    to_diff = [(owner, d) for owner, d in plan.desired if not digest_unchanged(known, owner, digests[owner])]
    rows = ledger.rows_of(conn, tenant.id, plan.platform, to_diff)
    writes = LedgerWrites()
    counts = DiffCounts()
    for owner, desired in to_diff:
        found = plan.checks.get(owner)
        met_by, held_by = found if found else plan.evaluator.met_checks(plan.facts, owner)
        diffed = ledger.diff(
            conn, writes, tenant.id, plan.platform, tenant.reference_prefix, owner, desired, today,
            met_by, held_by, rows.get(owner, []),
        )  # fmt: skip
        counts = add_counts(counts, diffed)
    return Prepared(to_diff, _open(rows), writes, counts)


def write_prepared(ledger: Ledger, conn: Connection, plan: Plan, prepared: Prepared) -> DiffCounts | None:
    """In the plan's transaction: its prepared writes and stored days, when the ledger rows the diffs read are
    unchanged; None (nothing written) when one is not, for the caller to diff in the transaction instead."""
    tenant = plan.evaluator.tenant.id
    owners = [owner for owner, _ in prepared.to_diff]
    if _open_rows(conn, tenant, plan.platform, owners) != prepared.open_rows:
        return None
    prepared.writes.write(conn)
    save_reevaluate_on(conn, tenant, plan.platform, plan.changes, plan.digests, plan.known, plan.reads)
    return prepared.counts


def _open(rows: dict[str, list[Row]]) -> dict[str, list[tuple[Any, ...]]]:
    found = {owner: [tuple(row) for row in read if row["status"] == "open"] for owner, read in rows.items()}
    return {owner: read for owner, read in found.items() if read}


def _open_rows(
    conn: Connection, tenant: str, platform: str, owners: list[str]
) -> dict[str, list[tuple[Any, ...]]]:
    """The owners' open ledger rows, whole, in `rows_of`'s order (by its owner-and-status index)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for start in range(0, len(owners), OWNERS_A_QUERY):
        chunk = owners[start : start + OWNERS_A_QUERY]
        rows = conn.execute(
            "SELECT * FROM obligations WHERE tenant = ? AND platform = ? AND status = 'open'"
            f" AND owner IN ({', '.join('?' * len(chunk))}) ORDER BY created_at, reference",
            (tenant, platform, *chunk),
        ).fetchall()
        for row in rows:
            found.setdefault(row["owner"], []).append(tuple(row))
    return found
