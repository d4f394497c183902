"""A batch is cut before an event that changes the standing facts of an owner the part affected already, so a
cycle one batch opens and withdraws is recorded as one event at a time records it; sessions and events about
other subjects stay in one part."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from tests.connector.pipeline.test_kept_state import START, TODAY, worker
from tests.support.harness import make_config

from connector.pipeline.batch_parts import batch_parts
from connector.pipeline.inbox import InboxItem
from connector.pipeline.processor import Processor, _Facts, owners_affected
from connector.store.database import Database
from rules.events import (
    CaseAllocated,
    CaseClosed,
    Event,
    Relationship,
    SupervisionRecorded,
)

AT = START + timedelta(days=2)


def allocated(n: int, case_id: str, worker_id: str = "5521") -> CaseAllocated:
    return CaseAllocated(
        f"a{n}",
        AT + timedelta(minutes=n),
        case_id,
        worker_id,
        "310",
        Relationship.ALLOCATED_WORKER,
        AT.date(),
    )


def closed(case_id: str, days: int) -> CaseClosed:
    return CaseClosed(f"c{case_id}", AT + timedelta(days=days), case_id, (AT + timedelta(days=days)).date())


def session(n: int, held: date) -> SupervisionRecorded:
    at = START + timedelta(days=(held - START.date()).days + 1, minutes=n)
    return SupervisionRecorded(
        f"s{n}", at, "case", "5521", "5500", "310", ("100234",), held, at.date(), False
    )


def history(tmp_path: Path, batches: list[list[Event]]) -> list[tuple[object, ...]]:
    """The compliance history after the batches, each processed as one `run_once`."""
    db = Database(tmp_path / "c.db")
    db.migrate()
    processor = Processor(db, make_config(tmp_path, "http://127.0.0.1:9/api"), lambda: TODAY)
    for batch in [[worker(1, "5521", "310", 0)], *batches]:
        for e in batch:
            processor.inbox.accept("lincolnshire", "mosaic", e.event_id, e)
        assert processor.run_once(limit=len(batch)) == len(batch)
    found = [
        tuple(r)
        for r in db.query(
            "SELECT reference, outcome, due_date, held_on, closed_on, days_late FROM cycle_outcomes ORDER BY reference"
        )
    ]
    db.close()
    return found


def test_a_case_allocated_and_closed_in_one_batch_is_recorded_as_one_event_at_a_time(tmp_path: Path) -> None:
    events: list[Event] = [allocated(1, "100234"), closed("100234", 40)]
    one_at_a_time = history(tmp_path / "one", [[e] for e in events])
    # Closed after its first case supervision fell due: missed, late by the day it was withdrawn.
    assert one_at_a_time == [
        ("linc:case_supervision:100234:5521:1", "withdrawn", "2026-10-01", None, "2026-12-01", 61)
    ]
    assert history(tmp_path / "batch", [events]) == one_at_a_time


def test_a_cycle_met_then_its_next_withdrawn_in_one_batch_are_both_recorded(tmp_path: Path) -> None:
    events: list[Event] = [allocated(1, "100234"), session(2, date(2026, 9, 11)), closed("100234", 40)]
    one_at_a_time = history(tmp_path / "one", [[e] for e in events])
    assert [(r[0][-1], r[1]) for r in one_at_a_time] == [("1", "met"), ("2", "withdrawn")]
    assert history(tmp_path / "batch", [events]) == one_at_a_time


def items_of(events: list[Event]) -> list[InboxItem]:
    return [InboxItem(n, "lincolnshire", "mosaic", e.event_id, e) for n, e in enumerate(events)]


def parts(tmp_path: Path, events: list[Event]) -> list[list[str]]:
    db = Database(tmp_path / "c.db")
    db.migrate()
    processor = Processor(db, make_config(tmp_path, "http://127.0.0.1:9/api"), lambda: TODAY)
    found = batch_parts(
        items_of(events), processor.inbox, processor.folds, lambda k, e: owners_affected(_Facts(k), e)
    )
    db.close()
    return [[item.event.event_id for item in part] for part in found]


def test_sessions_and_other_subjects_stay_in_one_part_and_a_change_after_them_is_cut(tmp_path: Path) -> None:
    sessions = [session(n, date(2026, 9, 10) + timedelta(days=n)) for n in range(2, 6)]
    events: list[Event] = [
        allocated(1, "100234"),
        *sessions,
        allocated(7, "100235", "5522"),
        closed("100234", 40),
    ]
    assert parts(tmp_path, events) == [["a1", "s2", "s3", "s4", "s5", "a7"], ["c100234"]]
