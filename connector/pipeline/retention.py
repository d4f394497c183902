"""Retention: a closed case's raw events are deleted once it has been closed for its tenant's `retention_days`.

The connector is not the record system (the platform keeps supervision records for years), so once a case is
closed and settled it keeps only what its figures and explanations need: its kept fold (now also its compaction
base, `subject_bases`, which a later event folds onto), its ledger rows and its `cycle_outcomes`.

An event that also names a worker or a team (an allocation, a supervision that discussed the case) is kept, and
only the case's `event_subjects` row is dropped: the worker's and team's folds are re-folded from their raw
events (a late event, a fold-version change) and the session reports read them, so deleting it would change
what a still-open subject's history says. It holds ids, dates and codes only. An event that names nothing else
(a status change, the closing) is deleted.

A case is left alone while anything about it is unsettled: an event still pending or failed (an operator decides
those first), or an obligation of the case still open. Each slice of cases is its own short transaction, so
intake never waits long; a dry run does the same work and rolls each slice back, so its counts are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from connector.config import Config
from connector.pipeline.compaction import forget_unlinked
from connector.pipeline.kept_state import FOLD_VERSION
from connector.store.database import Database, utc_now_text
from connector.store.engines.base import Connection

SLICE = 50


@dataclass(frozen=True)
class RetentionCounts:
    cases: int = 0  # closed cases whose raw events went
    events_deleted: int = 0  # inbox events deleted outright
    events_kept: int = 0  # events kept for a worker or team, with only the case's link dropped

    def __add__(self, other: RetentionCounts) -> RetentionCounts:
        return RetentionCounts(
            self.cases + other.cases,
            self.events_deleted + other.events_deleted,
            self.events_kept + other.events_kept,
        )


class _DryRun(Exception):
    """Raised inside a slice's transaction to roll a dry run back."""


def apply_retention(db: Database, config: Config, today: date, dry_run: bool = False) -> RetentionCounts:
    """Delete the raw events of every tenant's cases closed at least `retention_days` before `today`."""
    total = RetentionCounts()
    for tenant in config.tenants.values():
        cutoff = (today - timedelta(days=tenant.retention_days)).isoformat()
        for platform in tenant.platforms:
            total += _tenant_platform(db, tenant.id, platform, cutoff, dry_run)
    return total


def _tenant_platform(db: Database, tenant: str, platform: str, cutoff: str, dry_run: bool) -> RetentionCounts:
    total = RetentionCounts()
    # Slices walk the cases by closing date and id (the closing-date index finds them), so a dry run (which
    # changes nothing) still ends.
    after = ("", "")
    while True:
        # Found before the write lock, then checked again inside it: the search was the daily run's longest
        # hold on a day with nothing to compact (it walked every kept fold), and now such a day takes no lock.
        found = _due(db.conn, tenant, platform, cutoff, after)
        if not found:
            break
        after = found[-1]
        counts = RetentionCounts()
        try:
            with db.transaction() as conn:
                for _, subject in _due(conn, tenant, platform, cutoff, ("", ""), [s for _, s in found]):
                    counts += _compact(conn, tenant, platform, subject)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        total += counts
    return total


def _due(
    conn: Connection,
    tenant: str,
    platform: str,
    cutoff: str,
    after: tuple[str, str],
    among: list[str] | None = None,
) -> list[tuple[str, str]]:
    """The next slice of closed cases past retention that still have raw events and nothing unsettled, after
    `after` in (closing date, subject) order; with `among`, only those of these subjects."""
    only = "" if among is None else f" AND f.subject IN ({', '.join('?' * len(among))})"
    rows = conn.execute(
        "SELECT f.closed_on, f.subject FROM subject_folds f WHERE f.tenant = ? AND f.platform = ?"
        " AND f.closed_on <= ? AND (f.closed_on, f.subject) > (?, ?) AND f.subject LIKE 'case:%'"
        f" AND f.version = ?{only}"
        " AND EXISTS (SELECT 1 FROM event_subjects s WHERE s.tenant = f.tenant AND s.platform = f.platform"
        "   AND s.subject = f.subject)"
        " AND NOT EXISTS (SELECT 1 FROM event_subjects s JOIN inbox i ON i.seq = s.seq"
        "   WHERE s.tenant = f.tenant AND s.platform = f.platform AND s.subject = f.subject"
        "   AND i.state IN ('pending', 'failed'))"
        " AND NOT EXISTS (SELECT 1 FROM obligations o WHERE o.tenant = f.tenant AND o.platform = f.platform"
        "   AND o.owner = f.subject AND o.status = 'open')"
        " ORDER BY f.closed_on, f.subject LIMIT ?",
        (tenant, platform, cutoff, *after, FOLD_VERSION, *(among or ()), SLICE),
    ).fetchall()
    return [(row[0], row[1]) for row in rows]


def _compact(conn: Connection, tenant: str, platform: str, subject: str) -> RetentionCounts:
    key = (tenant, platform, subject)
    # The kept fold already holds every event's effect: it becomes the base later events fold onto.
    conn.execute(
        "INSERT INTO subject_bases (tenant, platform, subject, at, event_id, version, state, compacted_at)"
        " SELECT tenant, platform, subject, at, event_id, version, state, ? FROM subject_folds"
        " WHERE tenant = ? AND platform = ? AND subject = ?"
        " ON CONFLICT (tenant, platform, subject) DO UPDATE SET at = excluded.at, event_id = excluded.event_id,"
        " version = excluded.version, state = excluded.state, compacted_at = excluded.compacted_at",
        (utc_now_text(), *key),
    )
    seqs = [
        row[0]
        for row in conn.execute(
            "SELECT seq FROM event_subjects WHERE tenant = ? AND platform = ? AND subject = ?", key
        ).fetchall()
    ]
    conn.execute("DELETE FROM event_subjects WHERE tenant = ? AND platform = ? AND subject = ?", key)
    # The case was chosen with no pending or failed event, so every one it alone linked goes.
    deleted = forget_unlinked(conn, seqs)
    # Checkpoints are states before the base, with no events left to fold on from them.
    conn.execute("DELETE FROM fold_checkpoints WHERE tenant = ? AND platform = ? AND subject = ?", key)
    return RetentionCounts(1, deleted, len(seqs) - deleted)
