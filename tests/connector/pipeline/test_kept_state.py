"""Kept state: events applied to stored folds converge, in any delivery order and with duplicates, on the
obligations (and facts) of processing the same history in order; a late event re-folds from a checkpoint."""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.harness import make_config

from connector.pipeline import kept_state
from connector.pipeline.facts import fold_case, fold_team, fold_worker
from connector.pipeline.folds import CaseFold, Fold, TeamFold, WorkerFold
from connector.pipeline.inbox import Inbox
from connector.pipeline.processor import Processor
from connector.store.database import Database
from rules.events import (
    CaseAllocated,
    CaseClosed,
    CaseStatusChanged,
    CaseTransferred,
    Event,
    Relationship,
    SupervisionBooked,
    SupervisionRecorded,
    WorkerUpdated,
)

TODAY = date(2026, 12, 1)
START = datetime(2026, 9, 1, 9, tzinfo=UTC)
WORKERS = ("5521", "5522", "5523")
CASES = ("100234", "100235", "100236")


def worker(n: int, worker_id: str, team: str, day: int) -> WorkerUpdated:
    return WorkerUpdated(
        f"w{n}",
        START + timedelta(days=day, minutes=n),
        worker_id=worker_id,
        team_id=team,
        supervisor_id="5500",
        job_role="SOCIAL_WORKER",
        case_holding=True,
        supervises_case_holders=False,
        frontline=True,
        asye=n % 2 == 0,
        employment="permanent",
        start_date=date(2026, 8, 3),
    )


def history_event(n: int, choice: int, day: int) -> Event:
    """The n-th event of a history: one of the kinds that change cases, workers and teams."""
    at = START + timedelta(days=day, minutes=n)
    held = (at - timedelta(days=1)).date()
    w, c = WORKERS[choice % 3], CASES[(choice // 3) % 3]
    kind = choice % 7
    if kind == 0:
        return CaseAllocated(f"e{n}", at, c, w, "310", Relationship.ALLOCATED_WORKER, at.date())
    if kind == 1:
        return CaseStatusChanged(f"e{n}", at, c, ("CIN", "CP", "LAC")[choice % 3], at.date())
    if kind == 2:
        return SupervisionRecorded(
            f"e{n}", at, ("case", "personal")[choice % 2], w, "5500", "310", (c,), held, at.date(), False
        )
    if kind == 3:
        return CaseTransferred(
            f"e{n}", at, c, w, WORKERS[(choice + 1) % 3], "310", Relationship.ALLOCATED_WORKER, at.date()
        )
    if kind == 4:
        return worker(n, w, ("310", "320")[choice % 2], day)
    if kind == 5:
        return SupervisionBooked(
            f"e{n}",
            at,
            f"b{choice % 4}",
            "personal",
            w,
            "5500",
            "310",
            (),
            at + timedelta(days=20),
            60,
            ("booked", "cancelled")[choice % 2],
        )
    return CaseClosed(f"e{n}", at, c, at.date()) if choice % 5 == 0 else worker(n, w, "310", day)


def _history(steps: list[tuple[int, int]]) -> list[Event]:
    events: list[Event] = [worker(100 + i, w, "310", 0) for i, w in enumerate(WORKERS)]
    allocated: set[tuple[str, str]] = set()
    for n, (choice, day) in enumerate(steps):
        e = history_event(n, choice, day)
        # Each worker is allocated a case once: the ledger keeps a cycle met by a session even if a second
        # allocation of the same worker later restarts the count, which depends on processing order (a
        # ledger matter, with or without kept state; see the report), so it is left out of this property.
        if isinstance(e, CaseAllocated | CaseTransferred):
            pair = (e.case_id, e.worker_id if isinstance(e, CaseAllocated) else e.to_worker_id)
            if pair in allocated:
                continue
            allocated.add(pair)
        events.append(e)
    return events


histories = st.lists(st.tuples(st.integers(0, 62), st.integers(0, 80)), min_size=1, max_size=30).map(_history)


@pytest.fixture
def small_checkpoints(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Checkpoints every few events, so generated histories cross several and late events re-fold from them.
    monkeypatch.setattr(kept_state, "CHECKPOINT_EVERY", 3)
    monkeypatch.setattr(kept_state, "CHECKPOINTS_KEPT", 2)
    yield


def run(
    deliveries: list[Event], batches: list[int], outcomes: list[tuple[str, ...]] | None = None
) -> tuple[list[tuple[str, ...]], dict[str, object]]:
    """Deliver the events in this order and these batch sizes; the open obligations and every kept fold's facts
    (and, into `outcomes`, the met cycles of the compliance history)."""
    with tempfile.TemporaryDirectory() as folder:
        config = make_config(Path(folder), "http://127.0.0.1:9/api")
        db = Database(Path(folder) / "c.db")
        db.migrate()
        processor = Processor(db, config, lambda: TODAY)
        sizes = iter(batches)
        for n, e in enumerate(deliveries):
            processor.inbox.accept("lincolnshire", "mosaic", f"{e.event_id}-{n}", e)
            if n % (next(sizes, 1) or 1) == 0:
                processor.run_until_idle(limit=next(sizes, 5) or 1)
        processor.run_until_idle()
        processor.reevaluate_all("lincolnshire", "mosaic")
        open_rows = [
            tuple(str(v) for v in row)
            for row in db.query(
                "SELECT reference, due_date, assignee_id, counted_from_fact, counted_from_date FROM obligations"
                " WHERE status = 'open' ORDER BY reference"
            )
        ]
        kept = _kept_facts(db)
        if outcomes is not None:
            outcomes += [
                tuple(str(v) for v in row)
                for row in db.query(
                    "SELECT reference, held_on, due_date, closed_on, days_late FROM cycle_outcomes"
                    " WHERE outcome = 'met' ORDER BY reference"
                )
            ]
        db.close()
    return open_rows, kept


def _kept_facts(db: Database) -> dict[str, object]:
    """Each kept subject's facts as the store gives them back (its snapshot and the events after it)."""
    found: dict[str, object] = {}
    for row in db.query("SELECT subject FROM subject_folds ORDER BY subject"):
        fold = _stored_fold(db, row["subject"])
        found[row["subject"]] = fold.facts([], frozenset()) if isinstance(fold, TeamFold) else fold.facts()
    return found


def _stored_fold(db: Database, subject: str) -> Fold:
    return kept_state.KeptState(Inbox(db), "lincolnshire", "mosaic").fold(subject)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    history=histories,
    seed=st.integers(0, 2**16),
    batches=st.lists(st.integers(0, 6), max_size=20),
)
def test_any_order_with_duplicates_gives_the_obligations_of_the_in_order_run(
    small_checkpoints: None, history: list[Event], seed: int, batches: list[int]
) -> None:
    expected = run(sorted(history, key=lambda e: e.occurred_at), [1])
    deliveries = history + random.Random(seed).sample(history, k=len(history) // 2)
    random.Random(seed + 1).shuffle(deliveries)
    assert run(deliveries, batches) == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories, batches=st.lists(st.integers(0, 6), max_size=20))
def test_in_order_any_batching_gives_the_obligations_and_met_cycles_of_one_at_a_time(
    small_checkpoints: None, history: list[Event], batches: list[int]
) -> None:
    # Which cycles were met, by which session, due when: the same however the events were batched (a batch
    # with two sessions of one series records the cycle it went past, pipeline/skipped.py). A cycle a batch
    # opens and withdraws at once (allocated and transferred away) was never owed and has no outcome. Out of
    # order, a late session renumbers cycles after those recorded, which keep what they were (see the README).
    in_order = sorted(history, key=lambda e: e.occurred_at)
    expected: list[tuple[str, ...]] = []
    found: list[tuple[str, ...]] = []
    assert run(in_order, batches, found) == run(in_order, [1], expected)
    assert found == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories, seed=st.integers(0, 2**16))
def test_kept_folds_are_the_full_fold_of_their_events(
    small_checkpoints: None, history: list[Event], seed: int
) -> None:
    deliveries = list(history)
    random.Random(seed).shuffle(deliveries)
    _, kept = run(deliveries, [1])
    for subject, facts in kept.items():
        kind, sid = subject.split(":", 1)
        if kind == "case":
            assert facts == fold_case(sid, history)
        elif kind == "worker":
            assert facts == fold_worker(sid, history)
        else:
            assert facts == fold_team(sid, [], history, frozenset())


def spy_on_events_to_fold(
    monkeypatch: pytest.MonkeyPatch, note: Callable[[str, str | None, list[Event]], None]
) -> None:
    """Every read of a subject's events to fold is told to `note` (subject, since, the events found)."""
    real = kept_state.Inbox.events_to_fold

    def spy(
        self: kept_state.Inbox,
        tenant: str,
        platform: str,
        subject: str,
        since: str | None,
        batch: frozenset[int],
        types: frozenset[str] | None = None,
    ) -> list[Event]:
        found = real(self, tenant, platform, subject, since, batch, types)
        note(subject, since, found)
        return found

    monkeypatch.setattr(kept_state.Inbox, "events_to_fold", spy)

def test_a_late_event_refolds_from_the_checkpoint_before_it(
    small_checkpoints: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = [worker(1, "5521", "310", 0)] + [
        history_event(n, 9, n) for n in range(2, 12)
    ]  # the worker's sessions, a day apart
    late = history_event(99, 9, 8)  # a session between those of days 8 and 9
    read_since: list[str | None] = []

    def note(subject: str, since: str | None, found: list[Event]) -> None:
        if subject == "worker:5521":
            read_since.append(since)

    with tempfile.TemporaryDirectory() as folder:
        config = make_config(Path(folder), "http://127.0.0.1:9/api")
        db = Database(Path(folder) / "c.db")
        db.migrate()
        processor = Processor(db, config, lambda: TODAY)
        for e in history:
            processor.inbox.accept("lincolnshire", "mosaic", e.event_id, e)
            processor.run_until_idle()
        spy_on_events_to_fold(monkeypatch, note)
        processor.inbox.accept("lincolnshire", "mosaic", late.event_id, late)
        processor.run_until_idle()
        monkeypatch.undo()
        fold = _stored_fold(db, "worker:5521")
        db.close()
    assert isinstance(fold, WorkerFold)
    assert fold.facts() == fold_worker("5521", [*history, late])
    # Re-folded from the checkpoint at the worker's sixth event (day 6; the late one is of day 8), so
    # only the events from there on were read, not the whole history.
    [since] = read_since
    assert since is not None and since >= history[5].occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H")


def test_a_new_event_does_not_read_the_subjects_history(monkeypatch: pytest.MonkeyPatch) -> None:
    history = [worker(1, "5521", "310", 0)] + [history_event(n, 9, n) for n in range(2, 40)]
    with tempfile.TemporaryDirectory() as folder:
        config = make_config(Path(folder), "http://127.0.0.1:9/api")
        db = Database(Path(folder) / "c.db")
        db.migrate()
        processor = Processor(db, config, lambda: TODAY)
        for e in history:
            processor.inbox.accept("lincolnshire", "mosaic", e.event_id, e)
        processor.run_until_idle()
        reads: list[str] = []
        monkeypatch.setattr(
            kept_state.Inbox,
            "events_to_fold",
            lambda self, tenant, platform, subject, since, batch, types=None: reads.append(subject) or [],
        )
        processor.folds.clear()  # from the stored folds, not the process's cache
        later = history_event(50, 9, 45)
        processor.inbox.accept("lincolnshire", "mosaic", later.event_id, later)
        processor.run_until_idle()
        db.close()
    assert reads == []


def test_case_fold_copy_leaves_the_kept_one_alone() -> None:
    kept = CaseFold(case_id="100234")
    kept.apply(history_event(0, 0, 0))
    changed = kept.copy()
    changed.apply(history_event(1, 1, 1))
    assert kept.status is None and changed.status is not None and kept.applied == 1


@pytest.mark.parametrize("caseload", [5, 60])
def test_a_case_event_reads_none_of_its_teams_case_events(
    monkeypatch: pytest.MonkeyPatch, caseload: int
) -> None:
    # A team's fold takes no case event, yet every case event names its team. Team 330 is named only by case
    # events (its cases' worker is in team 310), so its fold never took an event, was never kept, and was
    # folded again at every event from every case event that ever named it: an allocation cost more the larger
    # the team's caseload.
    history: list[Event] = [worker(1, "5521", "310", 0)] + [
        CaseAllocated(f"a{n}", START + timedelta(days=1, minutes=n), f"2000{n:03}", "5521", "330",
                      Relationship.ALLOCATED_WORKER, START.date())
        for n in range(caseload)
    ]  # fmt: skip
    read: dict[str, int] = {}

    def note(subject: str, since: str | None, found: list[Event]) -> None:
        read[subject] = read.get(subject, 0) + len(found)

    with tempfile.TemporaryDirectory() as folder:
        config = make_config(Path(folder), "http://127.0.0.1:9/api")
        db = Database(Path(folder) / "c.db")
        db.migrate()
        processor = Processor(db, config, lambda: TODAY)
        for e in history:
            processor.inbox.accept("lincolnshire", "mosaic", e.event_id, e)
        processor.run_until_idle()
        spy_on_events_to_fold(monkeypatch, note)
        later = CaseAllocated(
            "later",
            START + timedelta(days=2),
            "3000001",
            "5521",
            "330",
            Relationship.ALLOCATED_WORKER,
            START.date(),
        )
        processor.inbox.accept("lincolnshire", "mosaic", later.event_id, later)
        processor.run_until_idle()
        applied = dict(read)
        # Folded for its own sake (as a team owner is), the team reads only the events it takes.
        team = kept_state.KeptState(processor.inbox, "lincolnshire", "mosaic", processor.folds).fold(
            "team:330"
        )
        steps = db.scalar("SELECT COUNT(*) FROM obligations WHERE status = 'open' AND case_id = '3000001'")
        db.close()
    assert applied == {"case:3000001": 1}
    assert read.get("team:330") == 0
    assert isinstance(team, TeamFold) and team.at is None and team.named == set()
    assert steps == 1
