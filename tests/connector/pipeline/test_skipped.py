"""A diff that counts two sessions of one series at once goes past a cycle the ledger never held: its outcome is
recorded from the fold all the same, so the compliance history is the same however the events were batched; a
late session before those already counted keeps the outcomes recorded."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tests.connector.pipeline.test_compaction import config_for, history, today_after
from tests.connector.pipeline.test_ledger import OBLIGATION, TODAY

from connector.pipeline.ledger import Ledger
from connector.pipeline.met import Columns, Held
from connector.pipeline.outbox import Outbox
from connector.pipeline.processor import Processor
from connector.pipeline.skipped import Series, none_skipped, skipped_cycles
from connector.store.database import Database
from rules.events import Event, SupervisionRecorded, WorkerUpdated
from rules.model import Obligation

OUTCOME_COLUMNS = (
    "reference, kind, case_id, worker_id, supervisor_id, team_id, due_date, rules, counted_from_fact,"
    " counted_from_date, outcome, held_on, recorded_on, closed_on, days_late"
)
# What the final state alone decides of a cycle: which cycle, how it ended, by which session.
SESSION_COLUMNS = (
    "reference, kind, case_id, worker_id, supervisor_id, outcome, held_on, recorded_on, closed_on"
)


def outcomes_of(db: Database, columns: str = OUTCOME_COLUMNS) -> list[tuple[object, ...]]:
    return [tuple(r) for r in db.query(f"SELECT {columns} FROM cycle_outcomes ORDER BY reference")]


def run(
    folder: Path, events: list[Event], size: int, columns: str = OUTCOME_COLUMNS
) -> list[tuple[object, ...]]:
    """Every event delivered in order, `size` of them to a batch; the compliance history it leaves."""
    folder.mkdir()
    db = Database(folder / "c.db")
    db.migrate()
    processor = Processor(db, config_for(folder), lambda: today_after(events))
    for start in range(0, len(events), size):
        for e in events[start : start + size]:
            processor.inbox.accept("lincolnshire", "mosaic", e.event_id, e)
        processor.run_until_idle(limit=size)
    found = outcomes_of(db, columns)
    db.close()
    return found


def test_two_sessions_in_one_batch_give_the_outcomes_of_one_at_a_time(tmp_path: Path) -> None:
    events = history(40, every_days=7)
    one_at_a_time = run(tmp_path / "one", events, 1)
    assert len(one_at_a_time) > 15
    for size in (2, 3, 5):
        assert run(tmp_path / f"by{size}", events, size) == one_at_a_time, size


def test_a_first_evaluation_of_a_whole_history_records_each_cycle_its_sessions_met(tmp_path: Path) -> None:
    events = history(40, every_days=7)
    # In one batch the status and supervisor each cycle was timed under are the final ones (skipped.py): the
    # cycles, how each ended and the session that met it are the same.
    one_at_a_time = run(tmp_path / "one", events, 1, SESSION_COLUMNS)
    assert run(tmp_path / "all", events, len(events), SESSION_COLUMNS) == one_at_a_time


START = datetime(2026, 1, 5, 9, tzinfo=UTC)


def personal(n: int, held: date) -> SupervisionRecorded:
    at = datetime.combine(held, START.timetz()) + timedelta(days=1)
    return SupervisionRecorded(f"s{n}", at, "personal", "5521", "5500", "310", (), held, at.date(), False)


def test_a_late_session_before_those_counted_keeps_the_outcomes_recorded(tmp_path: Path) -> None:
    worker = WorkerUpdated(
        "w", START, "5521", "310", "5500", "SOCIAL_WORKER", True, False, True, False, "permanent", date(2023, 6, 5)
    )  # fmt: skip
    first, late, third = (personal(n, date(2026, 1, 5) + timedelta(weeks=3 * n)) for n in (1, 2, 3))
    today = date(2026, 4, 1)
    db = Database(tmp_path / "c.db")
    db.migrate()
    processor = Processor(db, config_for(tmp_path), lambda: today)
    for e in (worker, first, third, late):
        processor.inbox.accept("lincolnshire", "mosaic", e.event_id, e)
        processor.run_until_idle()
    found = {r[0].rsplit(":", 1)[1]: r[1:] for r in outcomes_of(db, "reference, outcome, held_on")}
    # Cycle 2 stays met by the session known when it closed; the late one renumbers only the open cycle, which
    # ends met with no session of its own to show (the figures count it by the day it closed).
    assert found == {
        "1": ("met", first.held_on.isoformat()),
        "2": ("met", third.held_on.isoformat()),
        "3": ("met", None),
    }
    [(cycle,)] = db.query(
        "SELECT cycle FROM obligations WHERE kind = 'personal_supervision' AND status = 'open'"
    )
    assert cycle == 4
    db.close()


def test_cycles_the_rules_number_otherwise_or_two_sessions_of_one_day_are_not_made_up() -> None:
    series: Series = ("case_supervision", "100234", "5521")
    held = [Held("case", "5521", date(2026, 11, d), session_id=f"s{d}") for d in (2, 9)]
    found = iter(held)

    def before(day: date) -> list[Obligation]:
        return [replace(OBLIGATION, cycle=7)]  # a year's count, not sessions

    fill = skipped_cycles(before, lambda row: next(found, None), frozenset({"s2", "s9"}))
    assert fill(series, 2, held[0], 4) == []


def test_a_series_the_ledger_held_before_is_not_filled_in_again(db: Database) -> None:
    ledger = Ledger(db, Outbox(db))
    asked: list[tuple[Series, int]] = []

    def skipped(
        series: Series, start: int, met_before: Held | None, upto: int
    ) -> list[tuple[Obligation, Held | None]]:
        asked.append((series, start))
        return []

    with db.transaction() as conn:
        ledger.apply(conn, "linc", "mosaic", "linc", "case:100234", [OBLIGATION], TODAY, skipped=skipped)
        # The worker is taken off the case, then given it back after two sessions held on it meanwhile.
        ledger.apply(conn, "linc", "mosaic", "linc", "case:100234", [], TODAY, skipped=skipped)
        again = [replace(OBLIGATION, cycle=3)]
        ledger.apply(conn, "linc", "mosaic", "linc", "case:100234", again, TODAY, skipped=skipped)
        # A series first seen above cycle 1 is filled in from cycle 1.
        other = [replace(OBLIGATION, scope="100235", case_id="100235", cycle=3)]
        ledger.apply(conn, "linc", "mosaic", "linc", "case:100235", other, TODAY, skipped=skipped)
    assert asked == [(("case_supervision", "100235", "5521"), 1)]


def test_a_jump_past_a_cycle_records_it_met_by_its_session_with_its_own_due_date(db: Database) -> None:
    ledger = Ledger(db, Outbox(db))
    second = replace(OBLIGATION, cycle=2, due_date=date(2026, 12, 21))
    met_first, met_second = Held("case", "5521", date(2026, 11, 23)), Held("case", "5521", date(2026, 12, 22))
    with db.transaction() as conn:
        ledger.apply(conn, "linc", "mosaic", "linc", "case:100234", [OBLIGATION], TODAY)
        ledger.apply(
            conn, "linc", "mosaic", "linc", "case:100234", [replace(OBLIGATION, cycle=3)], TODAY,
            held_by=lambda row: met_first,
            skipped=lambda series, start, met_before, upto: [(second, met_second)] if met_before else [],
        )  # fmt: skip
    found = outcomes_of(db, "reference, outcome, due_date, held_on, days_late")
    assert found == [
        ("linc:case_supervision:100234:5521:1", "met", "2026-11-30", "2026-11-23", 0),
        ("linc:case_supervision:100234:5521:2", "met", "2026-12-21", "2026-12-22", 1),
    ]
    # No step is written for a cycle the platform never had.
    assert db.scalar("SELECT COUNT(*) FROM outbox WHERE reference LIKE '%:2'") == 0


def test_only_cycles_the_batchs_own_sessions_ended_are_recorded() -> None:
    series: Series = ("case_supervision", "100234", "5521")
    sessions = {"0001-01-01": Held("case", "5521", date(2026, 11, 2), date(2026, 11, 2), session_id="s2")}

    def before(day: date) -> list[Obligation]:
        return [replace(OBLIGATION, cycle=1)]

    def finder(row: Columns) -> Held | None:
        return sessions.get(row["counted_from_date"][:10])

    # A re-evaluation (a rule pack that numbers the series anew) brings no session: nothing is asked.
    assert skipped_cycles(before, finder, frozenset()) is none_skipped
    # The session that ended cycle 1 came in an earlier batch, before the series had a row: it was never owed.
    assert skipped_cycles(before, finder, frozenset({"s9"}))(series, 1, None, 2) == []
    assert skipped_cycles(before, finder, frozenset({"s2"}))(series, 1, None, 2) == [
        (
            replace(OBLIGATION, cycle=1),
            None,
        )  # held before the allocation it counted from, as the ledger keeps it
    ]
