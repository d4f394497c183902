"""Kept state: each subject's fold, stored with the position it was folded to, so an event costs the same
whether the subject has ten earlier events or ten thousand.

An event after the kept position is applied to the kept fold. One that belongs before it (a late delivery, a
retried failure) re-folds the subject from the last checkpoint before it, reading only the events after that
checkpoint; with no such checkpoint, from all its events. Either way the result is the fold of every event in
order, so duplicates and any delivery order converge on the same facts.

A compacted subject (a closed case past its tenant's retention, `retention.py`, or an open subject's events past
its tenant's `compact_after_days`, `compaction.py`) has no raw events before its base, the fold kept when they
were deleted: a re-fold starts from the base, and an event that belongs before it
cannot be placed, so it is refused (`EventBeforeCompaction`; the event is set aside as failed, with the reason,
for an operator to discard) rather than folded in the wrong order.

What is stored is a snapshot, not the fold re-written at every event (that grew with the history): the
position and revision move at every event, the state only at a checkpoint, and an empty state refers to the
subject's newest checkpoint. A fold read back is that snapshot plus the processed events after it (at most
`CHECKPOINT_EVERY`). In memory the kept fold is changed in place; a batch that fails drops what it changed.

Folds are stored with `pickle`: they are the connector's own values in its own database (the same trust as the
inbox's event codec), pickle handles the frozen dataclasses, dates and sets with no codec to keep in step, and
it is the fastest stdlib codec for them. `FOLD_VERSION` is bumped when a fold's shape changes; a stored fold of
another version is re-folded from the events.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable

from connector.pipeline.base_errors import BaseOfAnotherVersion, EventBeforeCompaction
from connector.pipeline.facts import in_order
from connector.pipeline.fold_cache import FoldCache
from connector.pipeline.folds import (
    CaseFold,
    Fold,
    Position,
    WorkerFold,
    new_fold,
    position,
    takes,
    types_taken,
)
from connector.pipeline.inbox import Inbox
from connector.store.database import utc_now_text
from connector.store.engines.base import Connection
from rules.events import Event

FOLD_VERSION = 2  # 2: held sessions also kept in held order and indexed for the rules
# A checkpoint every this many events of a subject, and this many kept: a late event re-folds at most this many
# events (unless it is older than the oldest checkpoint), and a subject stores a bounded number of states.
CHECKPOINT_EVERY = 200
CHECKPOINTS_KEPT = 8
# Subjects per query when reading many folds at once (well under any database's limit on parameters).
READ_MANY = 500
# A kept fold's stored state when its snapshot is its newest checkpoint.
REFER_TO_CHECKPOINT = b""


class KeptState:
    """The folds of one tenant's platform for one batch of events (or one re-evaluation slice).

    Read the kept folds, `apply` the batch's events, evaluate from `fold(...)`, then `save` in the transaction
    that applies the diff and `publish` once it committed, or `discard` if the batch failed. Nothing is written
    until `save`, and the cached folds a failed batch changed are dropped, so it leaves neither the database nor
    the cache changed.
    """

    def __init__(
        self,
        inbox: Inbox,
        tenant: str,
        platform: str,
        cache: FoldCache | None = None,
        batch: Iterable[int] = (),
    ) -> None:
        self.inbox = inbox
        self.tenant = tenant
        self.platform = platform
        self.cache = cache if cache is not None else FoldCache(0)
        self.batch = frozenset(batch)
        self._folds: dict[str, Fold] = {}
        self._revisions: dict[str, int] = {}
        self._dirty: set[str] = set()
        # Cached folds this batch changed in place.
        self._changed: set[str] = set()
        self._checkpoints: dict[str, list[tuple[Position, bytes]]] = {}
        # Subjects re-folded from a checkpoint: the stored checkpoints after it are stale.
        self._restarted: dict[str, Position | None] = {}
        self._rebuilt: set[str] = set()
        # Subjects built just now from their compaction base: where it stands.
        self._based: dict[str, Position] = {}

    # --- reading ------------------------------------------------------------------------------------------

    def fold(self, subject: str) -> Fold:
        """The subject's fold as kept (and as this batch changed it); built from the events if none is kept."""
        found = self._folds.get(subject)
        if found is not None:
            return found
        row = self.inbox.db.conn.execute(
            "SELECT revision, version FROM subject_folds WHERE tenant = ? AND platform = ? AND subject = ?",
            (self.tenant, self.platform, subject),
        ).fetchone()
        fold: Fold | None = None
        if row is not None and row["version"] == FOLD_VERSION:
            revision = int(row["revision"])
            self._revisions[subject] = revision
            fold = self.cache.get(self._key(subject), revision)
            if fold is None:
                fold = self._stored(subject)
                if fold is not None:
                    self.cache.put(self._key(subject), revision, fold)
        if fold is None:
            # Nothing kept yet (a database from before kept state, or a subject first heard of now): fold it
            # from its events, the batch's included, and keep the result.
            self._revisions.setdefault(subject, 0)
            start = self._base(subject)
            if start is not None and start.at is not None:
                self._based[subject] = start.at
            start = new_fold(subject) if start is None else start
            fold = self._fold_events(subject, start, start.at)
            self._rebuilt.add(subject)
            if fold.at is not None:
                self._dirty.add(subject)
        self._folds[subject] = fold
        return fold

    def read_many(self, subjects: Iterable[str]) -> None:
        """Read the kept folds of many subjects at once (a re-evaluation slice's): two queries per 500 subjects,
        not two per subject. `fold` then finds them; a subject with no fold kept (or one of another version) is
        left to `fold`, which builds it from its events."""
        conn = self.inbox.db.conn
        wanted = [s for s in dict.fromkeys(subjects) if s not in self._folds]
        for start in range(0, len(wanted), READ_MANY):
            chunk = wanted[start : start + READ_MANY]
            where = f"tenant = ? AND platform = ? AND subject IN ({', '.join('?' * len(chunk))})"
            unread = []
            for row in conn.execute(
                f"SELECT subject, revision, version FROM subject_folds WHERE {where}",
                (self.tenant, self.platform, *chunk),
            ):
                if row["version"] != FOLD_VERSION:
                    continue
                subject, revision = row["subject"], int(row["revision"])
                fold = self.cache.get(self._key(subject), revision)
                if fold is None:
                    unread.append(subject)
                else:
                    self._revisions[subject], self._folds[subject] = revision, fold
            if not unread:
                continue
            where = f"tenant = ? AND platform = ? AND subject IN ({', '.join('?' * len(unread))})"
            # The revision is read again beside the state, so a fold another process wrote meanwhile is kept
            # with its own revision.
            for row in conn.execute(
                f"SELECT subject, revision, version, at, event_id, state FROM subject_folds WHERE {where}",
                (self.tenant, self.platform, *unread),
            ):
                if row["version"] != FOLD_VERSION or not row["state"]:
                    continue  # its snapshot is a checkpoint: left to `fold`, which reads it and what followed
                subject, revision = row["subject"], int(row["revision"])
                fold = pickle.loads(row["state"])
                if fold.at != (row["at"], row["event_id"]):
                    continue  # events were processed after the snapshot: likewise left to `fold`
                self.cache.put(self._key(subject), revision, fold)
                self._revisions[subject], self._folds[subject] = revision, fold

    def _stored(self, subject: str) -> Fold | None:
        """The kept fold from the store: its snapshot (the row's own state, or when that is empty the newest
        checkpoint at or before the row's position), then the events processed since the snapshot."""
        conn = self.inbox.db.conn
        key = (self.tenant, self.platform, subject)
        row = conn.execute(
            "SELECT at, event_id, state FROM subject_folds WHERE tenant = ? AND platform = ? AND subject = ?",
            key,
        ).fetchone()
        kept_at = (row["at"], row["event_id"])
        state = row["state"]
        if not state:
            checkpoint = conn.execute(
                "SELECT state FROM fold_checkpoints WHERE tenant = ? AND platform = ? AND subject = ?"
                " AND version = ? AND (at < ? OR (at = ? AND event_id <= ?)) ORDER BY at DESC, event_id DESC LIMIT 1",
                (*key, FOLD_VERSION, kept_at[0], kept_at[0], kept_at[1]),
            ).fetchone()
            if checkpoint is None:
                return None  # folded again from the events
            state = checkpoint["state"]
        fold: Fold = pickle.loads(state)
        if fold.at != kept_at:
            # A snapshot older than the compaction base has lost the events after it: fold on from the base.
            base = self._base(subject)
            if base is not None and base.at is not None and (fold.at is None or fold.at < base.at):
                fold = base
            fold = self._fold_events(subject, fold, fold.at, with_batch=False)
        return fold

    # --- changing -----------------------------------------------------------------------------------------

    def apply(self, events: Iterable[Event], subjects_of: dict[str, list[str]]) -> None:
        """Apply the batch's events to every subject they name (`subjects_of`: event id -> subject keys)."""
        per_subject: dict[str, dict[str, Event]] = {}
        for event in events:
            for subject in subjects_of[event.event_id]:
                if takes(subject, event):
                    per_subject.setdefault(subject, {})[event.event_id] = event
        for subject, by_id in per_subject.items():
            fold = self.fold(subject)
            ordered = sorted(by_id.values(), key=position)
            first = position(ordered[0])
            if subject in self._rebuilt:
                base_at = self._based.get(subject)
                if base_at is not None and first <= base_at:
                    raise EventBeforeCompaction(subject, first, base_at)
                continue  # built just now from the events, the batch's among them
            if fold.at is None or first > fold.at:
                # In place: a copy would touch every session the subject ever had. Should the batch fail,
                # `discard` drops the changed folds from the cache, so they are read again from the store.
                self._changed.add(subject)
                for event in ordered:
                    self._apply_one(subject, fold, event)
            else:
                fold = self._refold_before(subject, first)
            self._folds[subject] = fold
            self._dirty.add(subject)

    def _apply_one(self, subject: str, fold: Fold, event: Event, keep_from: int = 0) -> None:
        before = fold.applied
        fold.apply(event)
        if (
            fold.applied != before
            and fold.applied % CHECKPOINT_EVERY == 0
            and fold.applied >= keep_from
            and fold.at is not None
        ):
            self._checkpoints.setdefault(subject, []).append((fold.at, pickle.dumps(fold, protocol=5)))

    def _refold_before(self, subject: str, first: Position) -> Fold:
        """Re-fold from the last checkpoint before `first` (or from the start), the batch's events included."""
        row = self.inbox.db.conn.execute(
            "SELECT at, event_id, state FROM fold_checkpoints WHERE tenant = ? AND platform = ? AND subject = ?"
            " AND version = ? AND (at < ? OR (at = ? AND event_id < ?)) ORDER BY at DESC, event_id DESC LIMIT 1",
            (self.tenant, self.platform, subject, FOLD_VERSION, first[0], first[0], first[1]),
        ).fetchone()
        base = self._base(subject)
        if base is not None and base.at is not None and first <= base.at:
            raise EventBeforeCompaction(subject, first, base.at)
        checkpoint = None if row is None else (row["at"], row["event_id"])
        start: Fold
        if base is not None and base.at is not None and (checkpoint is None or checkpoint < base.at):
            start, checkpoint = base, None
        else:
            start = new_fold(subject) if row is None else pickle.loads(row["state"])
        self._restarted[subject] = checkpoint
        self._checkpoints.pop(subject, None)
        return self._fold_events(subject, start, start.at)

    def _base(self, subject: str) -> Fold | None:
        """The subject's compaction base (a fresh copy), or None when it was never compacted."""
        row = self.inbox.db.conn.execute(
            "SELECT version, state FROM subject_bases WHERE tenant = ? AND platform = ? AND subject = ?",
            (self.tenant, self.platform, subject),
        ).fetchone()
        if row is not None and row["version"] != FOLD_VERSION:
            # Its events are gone, so folding on without it would silently lose the history it holds.
            raise BaseOfAnotherVersion(subject, int(row["version"]), FOLD_VERSION)
        return None if row is None else pickle.loads(row["state"])

    def _fold_events(self, subject: str, fold: Fold, after: Position | None, with_batch: bool = True) -> Fold:
        events = self.inbox.events_to_fold(
            self.tenant,
            self.platform,
            subject,
            None if after is None else after[0],
            self.batch if with_batch else frozenset(),
            types_taken(subject),
        )
        ordered = in_order(events)
        # Only the newest checkpoints are kept: of a long run of events, pickle only those that can be among
        # them (the events are at most this many, so none later is skipped), not one every CHECKPOINT_EVERY.
        keep_from = fold.applied + len(ordered) - CHECKPOINT_EVERY * CHECKPOINTS_KEPT
        for event in ordered:
            if after is None or position(event) > after:
                self._apply_one(subject, fold, event, keep_from)
        return fold

    # --- writing ------------------------------------------------------------------------------------------

    @property
    def unsaved(self) -> bool:
        """Whether `save` has anything to write (folds built or changed here)."""
        return bool(self._dirty or self._checkpoints or self._restarted)

    def save(self, conn: Connection) -> None:
        """Write the changed folds and their checkpoints (in the caller's transaction)."""
        now = utc_now_text()
        rows = []
        moved = []
        for subject in sorted(self._dirty):
            fold = self._folds[subject]
            if fold.at is None:
                continue
            self._revisions[subject] = self._revisions.get(subject, 0) + 1
            supervisor = fold.supervisor_id if isinstance(fold, WorkerFold) else None
            state = self._snapshot(subject, fold)
            if state is None:
                # Only the position moves: the stored snapshot and the processed events after it are the fold,
                # so an event does not re-write the subject's whole history.
                moved.append(
                    (
                        fold.at[0],
                        fold.at[1],
                        self._revisions[subject],
                        now,
                        supervisor,
                        _closed_on(fold),
                        self.tenant,
                        self.platform,
                        subject,
                    )
                )
                continue
            rows.append(
                (
                    self.tenant,
                    self.platform,
                    subject,
                    fold.at[0],
                    fold.at[1],
                    FOLD_VERSION,
                    self._revisions[subject],
                    state,
                    now,
                    supervisor,
                    _closed_on(fold),
                )
            )
        conn.executemany(
            "UPDATE subject_folds SET at = ?, event_id = ?, revision = ?, updated_at = ?, supervisor_id = ?,"
            " closed_on = ? WHERE tenant = ? AND platform = ? AND subject = ?",
            moved,
        )
        conn.executemany(
            "INSERT INTO subject_folds (tenant, platform, subject, at, event_id, version, revision, state,"
            " updated_at, supervisor_id, closed_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (tenant, platform, subject) DO UPDATE"
            " SET at = excluded.at, event_id = excluded.event_id, version = excluded.version,"
            " revision = excluded.revision, state = excluded.state, updated_at = excluded.updated_at,"
            " supervisor_id = excluded.supervisor_id, closed_on = excluded.closed_on",
            rows,
        )
        key = (self.tenant, self.platform)
        for subject, since in self._restarted.items():
            after = since or ("", "")
            conn.execute(
                "DELETE FROM fold_checkpoints WHERE tenant = ? AND platform = ? AND subject = ?"
                " AND (at > ? OR (at = ? AND event_id > ?))",
                (*key, subject, after[0], after[0], after[1]),
            )
        for subject, states in self._checkpoints.items():
            conn.executemany(
                "INSERT INTO fold_checkpoints (tenant, platform, subject, at, event_id, version,"
                " revision, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)"
                " ON CONFLICT (tenant, platform, subject, at, event_id) DO UPDATE SET version = excluded.version,"
                " revision = excluded.revision, state = excluded.state, updated_at = excluded.updated_at",
                [(*key, subject, at[0], at[1], FOLD_VERSION, blob, now) for at, blob in states],
            )
            conn.execute(
                "DELETE FROM fold_checkpoints WHERE tenant = ? AND platform = ? AND subject = ? AND at NOT IN"
                " (SELECT at FROM fold_checkpoints WHERE tenant = ? AND platform = ? AND subject = ?"
                " ORDER BY at DESC LIMIT ?)",
                (*key, subject, *key, subject, CHECKPOINTS_KEPT),
            )

    def _snapshot(self, subject: str, fold: Fold) -> bytes | None:
        """The state to store for a changed fold; None to leave the stored state and move only the position.

        Empty (`REFER_TO_CHECKPOINT`) when a checkpoint at or before the fold's position is stored: the newest
        one is the snapshot, so the row stays small (SQLite rewrites a row whole, its state included, on every
        update of its position). The whole fold when it is a closed case (retention keeps the row's state as
        the case's base once its events are deleted) or was built or re-folded just now with no checkpoint to
        refer to. Otherwise the stored snapshot stands, never more than `CHECKPOINT_EVERY` events behind, and
        a fold read back folds at most that many events onto it."""
        if _closed_on(fold) is not None:
            return pickle.dumps(fold, protocol=5)
        if self._checkpoints.get(subject) or self._restarted.get(subject) is not None:
            return REFER_TO_CHECKPOINT
        if subject in self._rebuilt or subject in self._restarted:
            return pickle.dumps(fold, protocol=5)
        return None

    def discard(self) -> None:
        """The batch failed: forget the cached folds it changed (the store still holds them as they were)."""
        for subject in self._changed:
            self.cache.drop(self._key(subject))

    def publish(self) -> None:
        """After the commit: the saved folds become what the cache holds."""
        for subject in self._dirty:
            self.cache.put(self._key(subject), self._revisions.get(subject, 0), self._folds[subject])

    def _key(self, subject: str) -> tuple[str, str, str]:
        return self.tenant, self.platform, subject


def _closed_on(fold: Fold) -> str | None:
    return fold.closed_on.isoformat() if isinstance(fold, CaseFold) and fold.closed_on is not None else None


def kept_supervisors(db_conn: Connection, tenant: str, platform: str) -> dict[str, str | None]:
    """Every kept worker's current supervisor (None: none known), in one query."""
    rows = db_conn.execute(
        "SELECT subject, supervisor_id FROM subject_folds WHERE tenant = ? AND platform = ? AND version = ?"
        " AND subject LIKE 'worker:%'",
        (tenant, platform, FOLD_VERSION),
    ).fetchall()
    return {row[0][len("worker:") :]: row[1] for row in rows}
