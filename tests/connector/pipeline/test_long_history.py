"""Kept state over long histories: snapshots and the events after them give the obligations and writes of a full
re-fold; an event between checkpoints stores no fold state; a failed batch leaves no changed fold cached."""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from tests.support.harness import make_config

from connector.pipeline import kept_state
from connector.pipeline import processor as processor_module
from connector.pipeline.folds import WorkerFold
from connector.pipeline.processor import Processor
from connector.store.database import Database
from rules.events import (
    CaseAllocated,
    CaseStatusChanged,
    Event,
    Relationship,
    SupervisionBooked,
    SupervisionRecorded,
    WorkerUpdated,
)

TODAY = date(2026, 12, 1)
START = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _worker(n: int, at: datetime) -> WorkerUpdated:
    return WorkerUpdated(
        f"w{n}", at, "5521", "310", "5500", "SOCIAL_WORKER", True, False, True, n % 2 == 0, "permanent",
        date(2025, 1, 6),
    )  # fmt: skip


def long_history(count: int) -> list[Event]:
    """A worker holding a case for most of a year: sessions of every kind the rules read, bookings, a status
    change now and then, so the ledger has cycles met, moved and withdrawn."""
    events: list[Event] = [
        _worker(0, START - timedelta(days=1)),
        CaseAllocated("a0", START, "100234", "5521", "310", Relationship.ALLOCATED_WORKER, START.date()),
    ]
    for n in range(1, count):
        at = START + timedelta(hours=30 * n)
        held = (at - timedelta(days=n % 3)).date()  # held order is not arrival order
        if n % 11 == 0:
            events.append(CaseStatusChanged(f"c{n}", at, "100234", ("CIN", "CP", "LAC")[n % 3], at.date()))
        elif n % 13 == 0:
            events.append(
                SupervisionBooked(
                    f"b{n}", at, f"bk{n % 4}", "personal", "5521", "5500", "310", (), at + timedelta(days=9),
                    60, "booked",
                )
            )  # fmt: skip
        elif n % 17 == 0:
            events.append(_worker(n, at))
        else:
            kind = ("case", "personal", "team_brief", "practice_observation")[n % 4]
            cases = ("100234",) if kind == "case" else ()
            events.append(
                SupervisionRecorded(f"s{n}", at, kind, "5521", "5500", "310", cases, held, at.date(), False)
            )
    return events


def _ledger_and_writes(db: Database) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    obligations = [
        tuple(r)
        for r in db.query(
            "SELECT reference, owner, status, due_date, assignee_id, counted_from_fact, counted_from_date,"
            " explanation, form FROM obligations ORDER BY reference"
        )
    ]
    writes = [tuple(r) for r in db.query("SELECT reference, action, payload FROM outbox ORDER BY reference")]
    return obligations, writes


def process_one_at_a_time(events: list[Event], refold: bool) -> tuple[list[tuple[object, ...]], ...]:
    """Each event its own batch, as the service does. `refold`: every fold made again from all the events
    (kept state dropped first); otherwise the kept state, its cache emptied now and then so folds are read
    back from their stored snapshot and the events after it."""
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "c.db")
        db.migrate()
        processor = Processor(db, make_config(Path(folder), "http://127.0.0.1:9/api"), lambda: TODAY)
        for n, e in enumerate(events):
            processor.inbox.accept("lincolnshire", "mosaic", e.event_id, e)
            if refold:
                db.conn.execute("DELETE FROM subject_folds")
                db.conn.execute("DELETE FROM fold_checkpoints")
                processor.folds.clear()
            elif n % 7 == 0:
                processor.folds.clear()
            processor.run_until_idle(limit=1)
        assert db.scalar("SELECT COUNT(*) FROM inbox WHERE state <> 'processed'") == 0
        found = _ledger_and_writes(db)
        db.close()
    return found


@pytest.fixture
def checkpoints_every_20(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A long history crosses many checkpoints, and the snapshot a fold is read back from is one of them.
    monkeypatch.setattr(kept_state, "CHECKPOINT_EVERY", 20)
    yield


def test_a_long_history_kept_gives_the_obligations_and_writes_of_a_full_refold(
    checkpoints_every_20: None,
) -> None:
    events = long_history(160)
    kept = process_one_at_a_time(events, refold=False)
    assert kept == process_one_at_a_time(events, refold=True)
    obligations, writes = kept
    assert len(obligations) > 50 and {row[2] for row in obligations} >= {"open", "met"}
    assert len(writes) == len(obligations)


def test_an_event_between_checkpoints_stores_no_fold_state(monkeypatch: pytest.MonkeyPatch) -> None:
    events = long_history(120)
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "c.db")
        db.migrate()
        processor = Processor(db, make_config(Path(folder), "http://127.0.0.1:9/api"), lambda: TODAY)
        for e in events[:-1]:
            processor.inbox.accept("lincolnshire", "mosaic", e.event_id, e)
        processor.run_until_idle()
        states = dict(db.conn.execute("SELECT subject, state FROM subject_folds").fetchall())
        pickled: list[object] = []
        real = pickle.dumps
        monkeypatch.setattr(
            kept_state.pickle, "dumps", lambda obj, **kw: pickled.append(obj) or real(obj, **kw)
        )
        last = events[-1]
        processor.inbox.accept("lincolnshire", "mosaic", last.event_id, last)
        processor.run_until_idle()
        monkeypatch.undo()
        after = dict(db.conn.execute("SELECT subject, state FROM subject_folds").fetchall())
        positions = {
            r["subject"]: r["event_id"] for r in db.query("SELECT subject, event_id FROM subject_folds")
        }
        db.close()
    # The fold moved to the new event without its history being pickled or written again.
    assert pickled == []
    assert after == states
    assert positions["worker:5521"] == last.event_id


def test_a_failed_batch_leaves_no_changed_fold_in_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    events = long_history(40)
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "c.db")
        db.migrate()
        processor = Processor(db, make_config(Path(folder), "http://127.0.0.1:9/api"), lambda: TODAY)
        for e in events[:-1]:
            processor.inbox.accept("lincolnshire", "mosaic", e.event_id, e)
        processor.run_until_idle()
        key = ("lincolnshire", "mosaic", "worker:5521")
        revision = int(db.scalar("SELECT revision FROM subject_folds WHERE subject = 'worker:5521'"))
        kept = processor.folds.get(key, revision)
        assert isinstance(kept, WorkerFold)
        applied = kept.applied

        def fail(*args: object) -> None:
            raise RuntimeError("the rules failed")

        monkeypatch.setattr(processor_module.Evaluator, "evaluate", fail)
        last = events[-1]
        processor.inbox.accept("lincolnshire", "mosaic", last.event_id, last)
        processor.run_once()
        # Set aside as failed; the fold it was applied to in place is no longer what the cache offers.
        failed = processor.inbox.state_of(len(events))
        assert failed is not None and failed[0] == "failed"
        cached = processor.folds.get(key, revision)
        assert cached is None or cached.applied == applied
        monkeypatch.undo()
        processor.retry_event(len(events))
        state = processor.inbox.state_of(len(events))
        fold = kept_state.KeptState(processor.inbox, "lincolnshire", "mosaic", processor.folds).fold(
            "worker:5521"
        )
        db.close()
    assert state is not None and state[0] == "processed"
    assert isinstance(fold, WorkerFold) and fold.applied == applied + 1


def test_a_refold_of_a_long_history_pickles_only_the_checkpoints_it_keeps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kept_state, "CHECKPOINT_EVERY", 10)
    monkeypatch.setattr(kept_state, "CHECKPOINTS_KEPT", 2)
    events = long_history(200)
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "c.db")
        db.migrate()
        processor = Processor(db, make_config(Path(folder), "http://127.0.0.1:9/api"), lambda: TODAY)
        for e in events:
            processor.inbox.accept("lincolnshire", "mosaic", e.event_id, e)
        pickled: list[object] = []
        real = pickle.dumps
        monkeypatch.setattr(
            kept_state.pickle, "dumps", lambda obj, **kw: pickled.append(obj) or real(obj, **kw)
        )
        processor.run_until_idle(limit=1000)  # one batch: every subject folded from all its events
        checkpoints = db.query("SELECT subject, COUNT(*) AS n FROM fold_checkpoints GROUP BY subject")
        db.close()
    worker_checkpoints = [c for c in pickled if isinstance(c, WorkerFold) and c.worker_id == "5521"]
    # The worker's 200 events would make 20 checkpoints; the two newest are kept, so only they are pickled.
    assert {r["subject"]: r["n"] for r in checkpoints}["worker:5521"] == 2
    assert len(worker_checkpoints) == 2
