"""Compaction of open subjects: a long history's raw events are bounded after it; obligations and writes are those
of the same deliveries without it, in any order and with duplicates, late events after it included; an event
older than a base is refused, counted and kept, never dropped; a snapshot older than the base reads back from
the base; short transactions; a dry run changes nothing."""

from __future__ import annotations

import pickle
import random
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from tests.support import harness
from tests.support.fake_mosaic import FakeMosaic
from tests.support.harness import config_document, start_connector

from connector.config import Config, parse_config
from connector.importing.store import Prepared, store_events
from connector.pipeline import compaction, kept_state
from connector.pipeline import processor as processor_module
from connector.pipeline.base_errors import BaseOfAnotherVersion
from connector.pipeline.compaction import apply_compaction, horizon_cutoff
from connector.pipeline.facts import fold_case, fold_worker
from connector.pipeline.folds import CaseFold, WorkerFold, position
from connector.pipeline.inbox import Inbox
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

START = datetime(2024, 1, 8, 9, tzinfo=UTC)
WINDOW = 90  # compact_after_days in these tests


def _worker(n: int, at: datetime) -> WorkerUpdated:
    # The supervisor changes now and then: the worker's supervisor counts from the change (not commutative).
    return WorkerUpdated(
        f"w{n}", at, "5521", "310", ("5500", "5501")[(n // 7) % 2], "SOCIAL_WORKER", True, False, True, False,
        "permanent", date(2023, 6, 5),
    )  # fmt: skip


def history(count: int, every_days: int = 9) -> list[Event]:
    """A worker holding two cases for years: case and personal supervisions, team briefs, bookings, status
    changes and supervisor changes, an event every `every_days` days."""
    events: list[Event] = [
        _worker(0, START - timedelta(days=1)),
        CaseAllocated("a0", START, "100234", "5521", "310", Relationship.ALLOCATED_WORKER, START.date()),
    ]
    for n in range(1, count):
        at = START + timedelta(days=every_days * n, minutes=n)
        held = (at - timedelta(days=n % 3)).date()
        if n == 5:
            events.append(
                CaseAllocated("a1", at, "100235", "5521", "310", Relationship.ALLOCATED_WORKER, at.date())
            )
        elif n % 11 == 0:
            case = ("100234", "100235")[n % 2]
            events.append(CaseStatusChanged(f"c{n}", at, case, ("CIN", "CP", "LAC")[n % 3], at.date()))
        elif n % 13 == 0:
            events.append(
                SupervisionBooked(
                    f"b{n}", at, f"bk{n % 3}", "personal", "5521", "5500", "310", (), at + timedelta(days=12),
                    60, ("booked", "cancelled")[n % 2],
                )
            )  # fmt: skip
        elif n % 7 == 0:
            events.append(_worker(n, at))
        else:
            kind = ("case", "personal", "team_brief")[n % 3]
            cases = (("100234", "100235")[n % 2],) if kind == "case" else ()
            events.append(
                SupervisionRecorded(f"s{n}", at, kind, "5521", "5500", "310", cases, held, at.date(), False)
            )
    return events


def today_after(events: list[Event]) -> date:
    return max(e.occurred_at for e in events).date() + timedelta(days=3)


def config_for(folder: Path, window: int = WINDOW) -> Config:
    document = config_document(folder, "http://127.0.0.1:9/api")
    document["tenants"][0]["compact_after_days"] = window
    return parse_config(document, base_dir=folder, environ={})


def ledger_and_writes(db: Database) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    obligations = [
        tuple(r)
        for r in db.query(
            "SELECT reference, owner, status, due_date, assignee_id, counted_from_fact, counted_from_date,"
            " explanation, form FROM obligations ORDER BY reference"
        )
    ]
    writes = [tuple(r) for r in db.query("SELECT reference, action, payload FROM outbox ORDER BY id")]
    return obligations, writes


def outcomes_of(db: Database) -> list[tuple[object, ...]]:
    """The compliance history, all but when each row was written."""
    return [
        tuple(r)
        for r in db.query(
            "SELECT reference, outcome, due_date, rules, counted_from_fact, counted_from_date, held_on,"
            " recorded_on, supervisor_id, closed_on, days_late FROM cycle_outcomes ORDER BY reference"
        )
    ]


def links(db: Database, subject: str) -> int:
    return int(db.scalar("SELECT COUNT(*) FROM event_subjects WHERE subject = ?", (subject,)) or 0)


def worker_facts(db: Database) -> object:
    fold = kept_state.KeptState(Inbox(db), "lincolnshire", "mosaic").fold("worker:5521")
    assert isinstance(fold, WorkerFold)
    return fold.facts()


def deliver(processor: Processor, events: list[Event], batches: list[int] | None = None) -> None:
    sizes = iter(batches or [])
    for n, e in enumerate(events):
        processor.inbox.accept("lincolnshire", "mosaic", e.event_id, e)
        if n % (next(sizes, 1) or 1) == 0:
            processor.run_until_idle(limit=next(sizes, 5) or 1)
    processor.run_until_idle()


@pytest.fixture
def small_checkpoints(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Checkpoints every few events, so a base is found beside checkpoints and late events re-fold from either.
    monkeypatch.setattr(kept_state, "CHECKPOINT_EVERY", 4)
    monkeypatch.setattr(kept_state, "CHECKPOINTS_KEPT", 3)
    yield


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(harness.database_for(tmp_path))
    database.migrate()
    yield database
    database.close()


def test_an_open_subjects_raw_events_are_bounded_after_compaction(tmp_path: Path, db: Database) -> None:
    events = history(160)  # four years
    today = today_after(events)
    config = config_for(tmp_path)
    processor = Processor(db, config, lambda: today)
    deliver(processor, events)
    before = ledger_and_writes(db)[0]
    theirs = [e for e in events if "5521" in e.worker_ids()]
    assert links(db, "worker:5521") == len(theirs)

    counts = apply_compaction(db, config, today)

    cutoff = horizon_cutoff(today, WINDOW)
    recent = [e for e in events if position(e)[0] >= cutoff]
    assert counts.subjects >= 4  # the worker, their supervisor, the team and both cases
    # Only the window's events are left, for the worker and in the inbox: about 90 days of them, not four years.
    assert links(db, "worker:5521") == len([e for e in theirs if e in recent]) < len(theirs) / 10
    assert int(db.scalar("SELECT COUNT(*) FROM inbox") or 0) <= len(recent) + 2
    assert db.scalar("SELECT COUNT(*) FROM fold_checkpoints WHERE at < ?", (cutoff,)) == 0
    # Nothing the rules said changed, and the day's re-evaluation from the bases agrees.
    assert ledger_and_writes(db)[0] == before
    processor.folds.clear()
    processor.reevaluate_all("lincolnshire", "mosaic")
    assert ledger_and_writes(db)[0] == before
    assert worker_facts(db) == fold_worker("5521", events)
    assert apply_compaction(db, config, today).subjects == 0  # nothing more to do today


def test_the_daily_run_compacts_open_subjects(tmp_path: Path, httpserver: HTTPServer) -> None:
    events = history(60)
    today = today_after(events)
    mosaic = FakeMosaic(httpserver).install()
    document = config_document(tmp_path, mosaic.base_url)
    document["tenants"][0]["compact_after_days"] = WINDOW
    connector = start_connector(parse_config(document, base_dir=tmp_path, environ={}), today=today)
    try:
        for e in events:
            connector.service.inbox.accept("lincolnshire", "mosaic", e.event_id, e)
        connector.service.processor.run_until_idle()
        theirs = links(connector.service.db, "worker:5521")
        connector.service.daily(today)
        assert 0 < links(connector.service.db, "worker:5521") < theirs / 3
    finally:
        connector.close()


def _run(
    folder: Path,
    first: list[Event],
    then: list[Event],
    batches: list[int],
    late_batches: list[int],
    compact: bool,
) -> tuple[
    tuple[list[tuple[object, ...]], list[tuple[object, ...]]], list[tuple[object, ...]], list[tuple[str, str]]
]:
    """Deliver `first`, compact (or not), deliver `then`; the ledger and writes, the cycle outcomes, and the
    events set aside."""
    today = today_after(first + then)
    config = config_for(folder)
    db = Database(folder / "c.db")
    db.migrate()
    processor = Processor(db, config, lambda: today)
    deliver(processor, first, batches)
    if compact:
        apply_compaction(db, config, today)
    processor.folds.clear()  # read back from the store: snapshots, checkpoints and bases
    deliver(processor, then, late_batches)
    processor.reevaluate_all("lincolnshire", "mosaic")
    if compact:
        apply_compaction(db, config, today)
        processor.folds.clear()
        processor.reevaluate_all("lincolnshire", "mosaic")
    found = ledger_and_writes(db)
    history_kept = outcomes_of(db)
    failed = [(f.webhook_id, f.reason) for f in processor.inbox.failed()]
    db.close()
    return found, history_kept, failed


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    count=st.integers(30, 55),
    seed=st.integers(0, 2**16),
    early_share=st.floats(0.0, 1.0),
    batches=st.lists(st.integers(0, 6), max_size=12),
    late_batches=st.lists(st.integers(0, 6), max_size=12),
)
def test_compaction_changes_no_obligation_write_or_outcome_in_any_order_with_duplicates_and_late_events(
    small_checkpoints: None,
    count: int,
    seed: int,
    early_share: float,
    batches: list[int],
    late_batches: list[int],
) -> None:
    events = history(count, every_days=7)
    today = today_after(events)
    cutoff = horizon_cutoff(today, WINDOW)
    rng = random.Random(seed)
    old = [e for e in events if position(e)[0] < cutoff]
    recent = [e for e in events if position(e)[0] >= cutoff]
    # Before compaction: every old event and some recent ones, in any order, some twice.
    now = rng.sample(recent, k=int(len(recent) * early_share))
    first = old + now + rng.sample(old + now, k=len(old) // 3)
    rng.shuffle(first)
    # After it: the rest of the window, late and in any order (within the late-arrival window), and duplicates
    # of anything, compacted events included.
    redelivered = rng.sample(events, k=len(events) // 3)
    then = [e for e in recent if e not in now] + redelivered
    rng.shuffle(then)
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        expected, outcomes, none_failed = _run(Path(a), first, then, batches, late_batches, compact=False)
        found, kept, refused = _run(Path(b), first, then, batches, late_batches, compact=True)
    assert found == expected
    assert kept == outcomes
    # A redelivery of an event folded into a base and deleted is a duplicate still, not an event to refuse.
    assert none_failed == refused == []


def test_a_late_event_before_the_base_is_refused_counted_and_kept(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    events = history(60)
    today = today_after(events)
    mosaic = FakeMosaic(httpserver).install()
    document = config_document(tmp_path, mosaic.base_url)
    document["tenants"][0]["compact_after_days"] = WINDOW
    connector = start_connector(parse_config(document, base_dir=tmp_path, environ={}), today=today)
    service = connector.service
    try:
        for e in events:
            service.inbox.accept("lincolnshire", "mosaic", e.event_id, e)
        service.processor.run_until_idle()
        service.compact_open(today)
        before = ledger_and_writes(service.db)
        assert service.status()["events_before_compaction"] == 0
        late = CaseStatusChanged(
            "late1", START + timedelta(days=30), "100234", "LAC", (START + timedelta(30)).date()
        )
        assert service.inbox.accept("lincolnshire", "mosaic", "late1", late)
        service.processor.run_until_idle()
        [failed] = service.inbox.failed()
        assert failed.webhook_id == "late1" and "before its compaction point" in failed.reason
        assert service.status()["events_before_compaction"] == 1
        assert "connector_events_before_compaction 1.0" in service.metrics.exposition().decode()
        assert ledger_and_writes(service.db) == before  # nothing about the subjects changed
        # Kept, not dropped: the next compaction leaves it, and the operator discards it.
        service.compact_open(today + timedelta(days=1))
        assert service.inbox.state_of(failed.seq) == ("failed", failed.reason)
        assert service.inbox.discard(failed.seq)
        assert service.status()["events_before_compaction"] == 0
    finally:
        connector.close()


def test_a_redelivered_or_reimported_event_whose_row_was_compacted_is_a_duplicate(
    db: Database, tmp_path: Path
) -> None:
    events = history(60)
    today = today_after(events)
    config = config_for(tmp_path)
    processor = Processor(db, config, lambda: today)
    deliver(processor, events)
    assert apply_compaction(db, config, today).events_deleted > 0
    gone = next(
        e for e in events if db.scalar("SELECT seq FROM inbox WHERE webhook_id = ?", (e.event_id,)) is None
    )
    rows = int(db.scalar("SELECT COUNT(*) FROM inbox") or 0)
    assert not processor.inbox.accept(
        "lincolnshire", "mosaic", gone.event_id, gone
    )  # answered as a duplicate
    with db.transaction() as conn:
        assert (
            store_events(db, conn, "lincolnshire", "mosaic", "import", [Prepared.of(gone.event_id, gone)])
            == 0
        )
    assert int(db.scalar("SELECT COUNT(*) FROM inbox") or 0) == rows
    processor.run_until_idle()
    assert processor.inbox.failed() == []


def test_a_late_event_after_the_base_is_placed_exactly(db: Database, tmp_path: Path) -> None:
    events = history(60)
    today = today_after(events)
    config = config_for(tmp_path)
    cutoff = horizon_cutoff(today, WINDOW)
    late = next(e for e in events[::-1] if position(e)[0] >= cutoff and isinstance(e, WorkerUpdated))
    processor = Processor(db, config, lambda: today)
    deliver(processor, [e for e in events if e is not late])
    apply_compaction(db, config, today)
    processor.folds.clear()
    deliver(processor, [late])
    assert processor.inbox.failed() == []
    assert worker_facts(db) == fold_worker("5521", events)


def test_a_snapshot_older_than_the_base_reads_back_from_the_base(db: Database, tmp_path: Path) -> None:
    # One event at a time, with no checkpoint reached: the case's stored state is its fold as first built,
    # and only its position moved since. Compaction deletes the events after that snapshot.
    events = history(60)
    today = today_after(events)
    config = config_for(tmp_path)
    processor = Processor(db, config, lambda: today)
    for e in events:
        processor.inbox.accept("lincolnshire", "mosaic", e.event_id, e)
        processor.run_until_idle()
    state = db.scalar("SELECT state FROM subject_folds WHERE subject = 'case:100235'")
    assert isinstance(state, bytes) and pickle.loads(state).applied == 1  # as first heard of
    apply_compaction(db, config, today)
    fold = kept_state.KeptState(Inbox(db), "lincolnshire", "mosaic").fold("case:100235")
    assert isinstance(fold, CaseFold) and fold.facts() == fold_case("100235", events)


def test_compaction_stops_at_an_event_still_failed_and_its_retry_is_placed(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = history(60)
    today = today_after(events)
    config = config_for(tmp_path)
    processor = Processor(db, config, lambda: today)
    stuck = events[20]
    deliver(processor, [e for e in events if e is not stuck])
    # An old event that failed when it came (the rules could not evaluate it then): an operator may retry it.
    monkeypatch.setattr(processor_module.Evaluator, "evaluate", _fail)
    deliver(processor, [stuck])
    monkeypatch.undo()
    [failed] = processor.inbox.failed()
    apply_compaction(db, config, today)
    # Nothing from the failed event on went, and its retry is placed among them.
    later = [e for e in events if position(e) > position(stuck) and "5521" in e.worker_ids()]
    assert links(db, "worker:5521") == len(later) + 1
    assert processor.retry_event(failed.seq) == ("processed", None)
    assert worker_facts(db) == fold_worker("5521", events)


def _fail(*args: object) -> None:
    raise RuntimeError("the rules failed")


def test_a_long_first_compaction_is_several_short_transactions(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compaction, "STEP_EVENTS", 10)
    events = history(80)
    today = today_after(events)
    config = config_for(tmp_path)
    processor = Processor(db, config, lambda: today)
    deliver(processor, events)
    before = ledger_and_writes(db)
    sizes: list[int] = []
    real = compaction._write

    def counted(
        db_: Database, tenant: str, platform: str, plans: list[compaction._Plan], dry: bool
    ) -> compaction.CompactionCounts:
        sizes.append(sum(len(p.seqs) for p in plans))
        return real(db_, tenant, platform, plans, dry)

    monkeypatch.setattr(compaction, "_write", counted)
    apply_compaction(db, config, today)
    assert len([s for s in sizes if s]) > 6 and max(sizes) < 2 * 10 + 1
    processor.folds.clear()
    processor.reevaluate_all("lincolnshire", "mosaic")
    assert ledger_and_writes(db) == before
    assert worker_facts(db) == fold_worker("5521", events)


def test_a_dry_run_counts_what_compaction_does_and_changes_nothing(db: Database, tmp_path: Path) -> None:
    events = history(60)
    today = today_after(events)
    config = config_for(tmp_path)
    deliver(Processor(db, config, lambda: today), events)
    rows = int(db.scalar("SELECT COUNT(*) FROM event_subjects") or 0)
    dry = apply_compaction(db, config, today, dry_run=True)
    assert int(db.scalar("SELECT COUNT(*) FROM event_subjects") or 0) == rows
    assert db.scalar("SELECT COUNT(*) FROM subject_bases") == 0
    assert dry == apply_compaction(db, config, today) and dry.events_deleted > 0


def test_a_base_of_another_fold_version_is_refused_not_folded_past(db: Database, tmp_path: Path) -> None:
    events = history(60)
    today = today_after(events)
    config = config_for(tmp_path)
    deliver(Processor(db, config, lambda: today), events)
    apply_compaction(db, config, today)
    db.conn.execute("UPDATE subject_bases SET version = 1 WHERE subject = 'worker:5521'")
    db.conn.execute("UPDATE subject_folds SET version = 1 WHERE subject = 'worker:5521'")
    with pytest.raises(BaseOfAnotherVersion, match="fold version 1"):
        kept_state.KeptState(Inbox(db), "lincolnshire", "mosaic").fold("worker:5521")
    # Nor does compaction move it on.
    apply_compaction(db, config, today + timedelta(days=30))
    assert db.scalar("SELECT version FROM subject_bases WHERE subject = 'worker:5521'") == 1


def test_a_subject_processed_while_its_step_was_folded_is_left_for_the_next_run(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = history(60)
    today = today_after(events)
    config = config_for(tmp_path)
    processor = Processor(db, config, lambda: today)
    deliver(processor, events)
    late = SupervisionRecorded(
        "late-s", START + timedelta(days=100), "personal", "5521", "5500", "310", (), date(2024, 4, 16),
        date(2024, 4, 17), False,
    )  # fmt: skip
    real = compaction._plan

    def meanwhile(*args: object) -> compaction._Plan | None:
        plan = real(*args)  # type: ignore[arg-type]
        if (
            plan is not None
            and plan.subject == "worker:5521"
            and processor.inbox.count("processed") == len(events)
        ):
            deliver(processor, [late])  # another process's batch, between the fold and the write
        return plan

    monkeypatch.setattr(compaction, "_plan", meanwhile)
    apply_compaction(db, config, today)
    assert db.scalar("SELECT COUNT(*) FROM subject_bases WHERE subject = 'worker:5521'") == 0
    monkeypatch.undo()
    apply_compaction(db, config, today)
    assert db.scalar("SELECT COUNT(*) FROM subject_bases WHERE subject = 'worker:5521'") == 1
    processor.folds.clear()
    assert worker_facts(db) == fold_worker("5521", [*events, late])
