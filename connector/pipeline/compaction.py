"""Compaction of open subjects: an open case's, worker's or team's raw events older than its tenant's
`compact_after_days` fold into its compaction base (`subject_bases`) and are deleted, so its raw history stays
bounded however long the case is open or the worker employed.

The horizon of a subject is the start of the London day `compact_after_days` before today, brought earlier to
its earliest event still pending (or failed after its base: an operator may retry it) and to its latest event
(one is always kept, so re-evaluating "every subject an event names" still finds it). Every processed event
before the horizon is folded onto the previous base (or the newest checkpoint before the horizon, which already
holds them), in `(occurred_at, event id)` order as the kept state folds them: the result is the kept fold as it
stood at the last of them, so folding the later events onto it gives the kept fold again. No rule's look-back
limits the horizon: the base keeps every fact the rules read (statuses, allocations, every session, bookings,
leave), so deleting raw events changes no obligation. What the raw events still serve is placing a late event
among them and the readers of raw events (the session reports, the team calendar, the reconcile's provenance),
hence the window.

A new event older than its subject's base (a delivery more than the window late) cannot be placed: processing
refuses it (`EventBeforeCompaction`), it is set aside as failed with the reason, and `connector status` and the
metrics count it apart (`events_before_compaction`). A redelivery of an event whose row was deleted is no new
event: the deleted events' webhook ids stay (`compacted_webhooks`), so intake and the import take it for the
duplicate it is.
The fold is not commutative (a status spell's start depends on the status before it, allocations and transfers
apply in order, a supervisor's start is the moment it changed), so folding it onto the base would not give
what a full re-fold would have.

An event's inbox row goes only once no subject links it any more (an allocation names the case, the worker and
the team; each keeps it until its own horizon passes it); failed events are never deleted. Each slice of subjects
is folded before the write lock and written in one short transaction, which first checks that nothing it read
was processed or changed meanwhile (a subject that changed is left for the next run).
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from connector.config import Config
from connector.pipeline.base_errors import BaseOfAnotherVersion
from connector.pipeline.facts import in_order
from connector.pipeline.folds import LONDON, Fold, new_fold, position
from connector.pipeline.kept_state import FOLD_VERSION
from connector.store.database import Database, utc_now_text
from connector.store.engines.base import Connection, Row
from connector.store.event_codec import event_from_json, utc_position
from rules.events import Event

SLICE = 50  # subjects per transaction
# At most this many of one subject's events go into its base per transaction (a first compaction of a long
# history is several short transactions, not one long one).
STEP_EVENTS = 500
# What an operator sees: the reason `EventBeforeCompaction` leaves on the failed event.
BEFORE_COMPACTION = "%before its compaction point%"


@dataclass(frozen=True)
class CompactionCounts:
    subjects: int = 0  # open subjects whose base moved
    events_folded: int = 0  # their links to raw events folded into the base and dropped
    events_deleted: int = 0  # inbox rows deleted, no subject linking them any more

    def __add__(self, other: CompactionCounts) -> CompactionCounts:
        return CompactionCounts(
            self.subjects + other.subjects,
            self.events_folded + other.events_folded,
            self.events_deleted + other.events_deleted,
        )


@dataclass(frozen=True)
class _Plan:
    subject: str
    horizon: str  # links with `at` before this go
    since: str  # the previous base's `at` ("" when none): failed events up to it are refused ones, left alone
    base: Fold
    state: bytes  # the base pickled, before the write lock is taken
    seqs: list[int]  # the processed and discarded events before the horizon
    capped: bool  # more remains before the cutoff than one step folds


class _DryRun(Exception):
    """Raised inside a slice's transaction to roll a dry run back."""


def horizon_cutoff(today: date, days: int) -> str:
    """The UTC position of the start of the London day `days` before `today`: no subject's horizon is later."""
    return utc_position(datetime.combine(today - timedelta(days=days), time(), LONDON))


def apply_compaction(
    db: Database,
    config: Config,
    today: date,
    dry_run: bool = False,
    guard: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> CompactionCounts:
    """Fold every tenant's open subjects' events older than its `compact_after_days` into their bases.

    `guard` is held for each slice (the processor's turn), so no batch re-folds a subject while its events go."""
    total = CompactionCounts()
    for tenant in config.tenants.values():
        cutoff = horizon_cutoff(today, tenant.compact_after_days)
        for platform in tenant.platforms:
            total += _tenant_platform(db, tenant.id, platform, cutoff, dry_run, guard)
    return total


def _tenant_platform(
    db: Database,
    tenant: str,
    platform: str,
    cutoff: str,
    dry_run: bool,
    guard: Callable[[], AbstractContextManager[object]],
) -> CompactionCounts:
    total = CompactionCounts()
    after = ""  # slices walk the subjects in order, so a dry run (which changes nothing) still ends
    # A dry run folds each subject's whole window at once: nothing is written to go on from.
    step = None if dry_run else STEP_EVENTS
    while True:
        with guard():
            subjects = _due(db.conn, tenant, platform, cutoff, after)
            if not subjects:
                return total
            batch: list[_Plan] = []
            for subject in subjects:
                while (plan := _plan(db.conn, tenant, platform, subject, cutoff, step)) is not None:
                    batch.append(plan)
                    # A transaction holds about a step of events: short, so intake never waits long for it.
                    written = CompactionCounts()
                    if plan.capped or sum(len(p.seqs) for p in batch) >= STEP_EVENTS:
                        written = _write(db, tenant, platform, batch, dry_run)
                        total, batch = total + written, []
                    if not plan.capped or not written.events_folded:
                        break  # a capped subject goes on from the base just written (unless it changed meanwhile)
            total += _write(db, tenant, platform, batch, dry_run)
            after = subjects[-1]


def _due(conn: Connection, tenant: str, platform: str, cutoff: str, after: str) -> list[str]:
    """The next slice of open subjects (closed cases are retention's) with a raw event before the cutoff."""
    rows = conn.execute(
        "SELECT f.subject FROM subject_folds f WHERE f.tenant = ? AND f.platform = ? AND f.closed_on IS NULL"
        " AND f.subject > ? AND f.version = ?"
        " AND EXISTS (SELECT 1 FROM event_subjects s WHERE s.tenant = f.tenant AND s.platform = f.platform"
        "   AND s.subject = f.subject AND s.at < ?)"
        " ORDER BY f.subject LIMIT ?",
        (tenant, platform, after, FOLD_VERSION, cutoff, SLICE),
    ).fetchall()
    return [row[0] for row in rows]


def _plan(
    conn: Connection, tenant: str, platform: str, subject: str, cutoff: str, step: int | None
) -> _Plan | None:
    """The subject's new base and the events it replaces, or None when its horizon has not moved."""
    key = (tenant, platform, subject)
    base_row = conn.execute(
        "SELECT at, event_id, version, state FROM subject_bases WHERE tenant = ? AND platform = ? AND subject = ?",
        key,
    ).fetchone()
    if base_row is not None and base_row["version"] != FOLD_VERSION:
        return (
            None  # its events fail, saying why, until the base is converted (kept_state.BaseOfAnotherVersion)
        )
    base_at = "" if base_row is None else str(base_row["at"])
    horizon = _horizon(conn, key, cutoff, base_at)
    if horizon <= base_at:
        return None
    rows = conn.execute(
        "SELECT s.seq, s.at, i.state, i.event FROM event_subjects s JOIN inbox i ON i.seq = s.seq"
        " WHERE s.tenant = ? AND s.platform = ? AND s.subject = ? AND s.at < ?"
        " AND i.state IN ('processed', 'discarded') ORDER BY s.at, s.seq",
        (*key, horizon),
    ).fetchall()
    capped = False
    if step is not None and len(rows) > step and rows[step]["at"] > rows[0]["at"]:
        horizon, capped = str(rows[step]["at"]), True
        rows = [row for row in rows if row["at"] < horizon]
    if not rows:
        return None
    start = _start(conn, key, horizon, base_row)
    events = in_order(
        event_from_json(json.loads(row["event"])) for row in rows if row["state"] == "processed"
    )
    for event in events:
        if start.at is None or position(event) > start.at:
            start.apply(event)
    if start.at is None:
        return None  # none of them tells the subject anything (a case event of a team): nothing to keep
    state = pickle.dumps(start, protocol=5)
    return _Plan(subject, horizon, base_at, start, state, [int(row["seq"]) for row in rows], capped)


def _horizon(conn: Connection, key: tuple[str, str, str], cutoff: str, base_at: str) -> str:
    row = conn.execute(
        "SELECT MAX(s.at) AS latest,"
        " MIN(CASE WHEN i.state = 'pending' OR (i.state = 'failed' AND s.at > ?) THEN s.at END) AS unsettled"
        " FROM event_subjects s JOIN inbox i ON i.seq = s.seq"
        " WHERE s.tenant = ? AND s.platform = ? AND s.subject = ?",
        (base_at, *key),
    ).fetchone()
    return min(v for v in (cutoff, row["latest"] or "", row["unsettled"]) if v is not None)


def _start(conn: Connection, key: tuple[str, str, str], horizon: str, base_row: Row | None) -> Fold:
    """What the new base is folded on from: the newest of the old base and the checkpoints before the horizon
    (a checkpoint already holds every event before it)."""
    checkpoint = conn.execute(
        "SELECT at, event_id, state FROM fold_checkpoints WHERE tenant = ? AND platform = ? AND subject = ?"
        " AND version = ? AND at < ? ORDER BY at DESC, event_id DESC LIMIT 1",
        (*key, FOLD_VERSION, horizon),
    ).fetchone()
    base: Fold | None = None if base_row is None else pickle.loads(base_row["state"])
    if checkpoint is not None and (
        base is None or base.at is None or (checkpoint[0], checkpoint[1]) > base.at
    ):
        found: Fold = pickle.loads(checkpoint["state"])
        return found
    return base if base is not None else new_fold(key[2])


def _write(db: Database, tenant: str, platform: str, plans: list[_Plan], dry_run: bool) -> CompactionCounts:
    counts = CompactionCounts()
    try:
        with db.transaction() as conn:
            for plan in plans:
                if _unchanged(conn, tenant, platform, plan):
                    counts += _replace(conn, tenant, platform, plan)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return counts


def _unchanged(conn: Connection, tenant: str, platform: str, plan: _Plan) -> bool:
    """Nothing before the horizon was processed, accepted or set aside since the plan read it."""
    row = conn.execute(
        "SELECT COUNT(*) AS n, SUM(CASE WHEN i.state IN ('processed', 'discarded') THEN 1 ELSE 0 END) AS done,"
        " MAX(s.seq) AS last FROM event_subjects s JOIN inbox i ON i.seq = s.seq"
        " WHERE s.tenant = ? AND s.platform = ? AND s.subject = ? AND s.at < ?"
        " AND (i.state <> 'failed' OR s.at > ?)",
        (tenant, platform, plan.subject, plan.horizon, plan.since),
    ).fetchone()
    return int(row["n"]) == len(plan.seqs) == int(row["done"] or 0) and int(row["last"] or 0) == max(
        plan.seqs
    )


def _replace(conn: Connection, tenant: str, platform: str, plan: _Plan) -> CompactionCounts:
    key = (tenant, platform, plan.subject)
    assert plan.base.at is not None
    conn.execute(
        "INSERT INTO subject_bases (tenant, platform, subject, at, event_id, version, state, compacted_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (tenant, platform, subject) DO UPDATE SET at = excluded.at, event_id = excluded.event_id,"
        " version = excluded.version, state = excluded.state, compacted_at = excluded.compacted_at",
        (*key, *plan.base.at, FOLD_VERSION, plan.state, utc_now_text()),
    )
    # Whole statements over the step's events (integers, written in): a step is one short transaction.
    seqs = ", ".join(str(int(seq)) for seq in plan.seqs)
    conn.execute(
        f"DELETE FROM event_subjects WHERE tenant = ? AND platform = ? AND subject = ? AND seq IN ({seqs})",
        key,
    )
    deleted = forget_unlinked(conn, plan.seqs)
    # Checkpoints before the horizon are states the base supersedes (a kept fold whose snapshot was one of them
    # is read back from the base and the events after it).
    conn.execute(
        "DELETE FROM fold_checkpoints WHERE tenant = ? AND platform = ? AND subject = ? AND at < ?",
        (*key, plan.horizon),
    )
    # A subject folded in several steps is counted once, at its last.
    return CompactionCounts(0 if plan.capped else 1, len(plan.seqs), deleted)


def forget_unlinked(conn: Connection, seqs: Iterable[int]) -> int:
    """Delete the inbox rows among `seqs` that no subject links any more (a failed one stays, for an operator),
    keeping their webhook ids, so a redelivery is still a duplicate once the row is gone; how many went."""
    listed = ", ".join(str(int(seq)) for seq in seqs)  # integers, written in: one statement whatever the count
    if not listed:
        return 0
    orphans = (
        f"seq IN ({listed}) AND state <> 'failed'"
        " AND NOT EXISTS (SELECT 1 FROM event_subjects s WHERE s.seq = inbox.seq)"
    )
    conn.execute(
        "INSERT INTO compacted_webhooks (tenant, platform, webhook_id) SELECT tenant, platform, webhook_id"
        f" FROM inbox WHERE {orphans} ON CONFLICT (tenant, platform, webhook_id) DO NOTHING"
    )
    return int(conn.execute(f"DELETE FROM inbox WHERE {orphans}").rowcount)


def fold_on_base(db: Database, tenant: str, platform: str, subject: str, events: Iterable[Event]) -> Fold:
    """The subject folded from its compaction base (a fresh fold when it has none) and those of these events
    after it: the facts a full fold of its raw events would give, for a reader of raw events (the reconcile)."""
    row = db.conn.execute(
        "SELECT version, state FROM subject_bases WHERE tenant = ? AND platform = ? AND subject = ?",
        (tenant, platform, subject),
    ).fetchone()
    if row is not None and row["version"] != FOLD_VERSION:
        raise BaseOfAnotherVersion(subject, int(row["version"]), FOLD_VERSION)
    fold: Fold = new_fold(subject) if row is None else pickle.loads(row["state"])
    for event in in_order(events):
        if fold.at is None or position(event) > fold.at:
            fold.apply(event)
    return fold


def refused_count(db: Database) -> int:
    """Events set aside because they occurred before their subject's compaction base (and not yet discarded)."""
    return int(
        db.scalar("SELECT COUNT(*) FROM inbox WHERE state = 'failed' AND error LIKE ?", (BEFORE_COMPACTION,))
        or 0
    )
