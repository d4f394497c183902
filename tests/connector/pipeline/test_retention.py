"""Retention: a closed case past its tenant's retention loses its raw events and keeps its fold, ledger rows and
outcomes; a case within retention keeps everything; a late event after compaction is refused or folded onto
the base; a dry run deletes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from tests.connector.pipeline.one_case import ALLOCATED, CP_PLAN
from tests.support.fake_mosaic import FakeMosaic
from tests.support.harness import Connector, event, make_config, start_connector, write_config_file

from connector.cli import main
from connector.pipeline.folds import CaseFold
from connector.pipeline.kept_state import KeptState
from rules.events import CaseAllocated, CaseStatusChanged, Relationship

CLOSED = event("evt_close", "case.closed", "2026-11-10T09:00:00Z", person_id=100234, end_date="2026-11-10")
OPEN_CASE = event(
    "evt_open",
    "case.allocated",
    "2026-11-05T09:30:00Z",
    person_id=100235,
    worker_id=5521,
    team_id=310,
    relationship="ALLWKR",
    start_date="2026-11-05",
)
# Closed on 2026-11-10 with the default 400 days: retention ends on this day.
PAST = date(2027, 12, 15)
WITHIN = date(2027, 12, 14)


@pytest.fixture
def mosaic(httpserver: HTTPServer) -> FakeMosaic:
    return FakeMosaic(httpserver).install()


@pytest.fixture
def connector(tmp_path: Path, mosaic: FakeMosaic) -> Iterator[Connector]:
    running = start_connector(make_config(tmp_path, mosaic.base_url))
    for sent in (ALLOCATED, CP_PLAN, OPEN_CASE):
        assert running.post(sent).status_code == 202
    running.service.drain()
    assert running.post(CLOSED).status_code == 202
    running.service.drain()
    yield running
    running.close()


def webhook_ids(connector: Connector) -> set[str]:
    return {row[0] for row in connector.service.db.query("SELECT webhook_id FROM inbox")}


def case_rows(connector: Connector, case: str = "case:100234") -> int:
    return int(connector.service.db.scalar("SELECT COUNT(*) FROM event_subjects WHERE subject = ?", (case,)))


def history(connector: Connector) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """The case's ledger rows and the compliance history: what retention must keep."""
    db = connector.service.db
    ledger = [
        tuple(r)
        for r in db.query("SELECT reference, status, due_date FROM obligations WHERE owner = 'case:100234'")
    ]
    outcomes = [
        tuple(r) for r in db.query("SELECT * FROM cycle_outcomes WHERE case_id = '100234' ORDER BY 1")
    ]
    return ledger, outcomes


def case_fold(connector: Connector) -> CaseFold:
    fold = KeptState(connector.service.inbox, "lincolnshire", "mosaic").fold("case:100234")
    assert isinstance(fold, CaseFold)
    return fold


def test_a_closed_case_past_retention_loses_its_raw_events_and_keeps_its_history(
    connector: Connector, mosaic: FakeMosaic
) -> None:
    ledger, outcomes = history(connector)
    assert ledger and all(status == "withdrawn" for _, status, _ in ledger)
    assert outcomes  # the withdrawn cycle is in the compliance history
    before = case_fold(connector).facts()

    counts = connector.service.compact(PAST)

    assert (counts.cases, counts.events_deleted, counts.events_kept) == (1, 2, 1)
    # The status change and the closing named only the case: gone. The allocation names the worker too: kept
    # for the worker's fold, with only the case's link dropped.
    assert webhook_ids(connector) == {"evt_a", "evt_open"}
    assert case_rows(connector) == 0
    assert case_rows(connector, "case:100235") == 1  # the open case is untouched
    assert history(connector) == (ledger, outcomes)
    assert case_fold(connector).facts() == before
    # The day's re-evaluation neither revives the case's obligations nor finds anything to change.
    connector.service.reevaluate_everything()
    connector.service.drain()
    assert history(connector) == (ledger, outcomes)
    assert "linc:case_supervision:100235:5521:1" in {s["external_reference"] for s in mosaic.open_steps()}
    # Compacting again finds nothing more to do.
    assert connector.service.compact(PAST).cases == 0


def test_a_closed_case_within_retention_keeps_its_raw_events(connector: Connector) -> None:
    assert connector.service.compact(WITHIN).cases == 0
    assert webhook_ids(connector) == {"evt_a", "evt_cp", "evt_close", "evt_open"}
    assert case_rows(connector) == 3


def test_a_day_with_nothing_to_compact_takes_no_write_transaction(
    connector: Connector, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = connector.service.db
    real = db.transaction
    opened: list[int] = []

    def counted() -> Any:
        opened.append(1)
        return real()

    monkeypatch.setattr(db, "transaction", counted)
    assert connector.service.compact(WITHIN).cases == 0
    # The search for cases past retention walked the kept folds inside the write lock: intake waited for it.
    assert opened == []
    assert connector.service.compact(PAST).cases == 1
    assert opened == [1]


def test_a_case_found_past_retention_that_an_event_reopens_before_the_write_lock_is_left_alone(
    connector: Connector, monkeypatch: pytest.MonkeyPatch
) -> None:
    from connector.pipeline import retention

    real = retention._due
    reopened = CaseAllocated(
        "evt_re",
        datetime(2027, 12, 14, 9, tzinfo=UTC),
        "100234",
        "5522",
        "310",
        Relationship.ALLOCATED_WORKER,
        date(2027, 12, 14),
    )

    def then_an_event_arrives(*args: Any) -> list[tuple[str, str]]:
        found = real(*args)
        if found and len(args) == 5:  # the search before the lock
            assert connector.service.inbox.accept("lincolnshire", "mosaic", "evt_re", reopened)
        return found

    monkeypatch.setattr(retention, "_due", then_an_event_arrives)
    assert connector.service.compact(PAST).cases == 0
    assert webhook_ids(connector) == {"evt_a", "evt_cp", "evt_close", "evt_open", "evt_re"}
    assert case_rows(connector) == 4


def test_the_daily_run_applies_retention(connector: Connector) -> None:
    reevaluated, _ = connector.service.daily(PAST)
    assert reevaluated
    assert webhook_ids(connector) == {"evt_a", "evt_open"}


def test_a_late_event_before_the_compaction_point_is_refused_and_changes_nothing(
    connector: Connector,
) -> None:
    connector.service.compact(PAST)
    ledger, outcomes = history(connector)
    late = CaseStatusChanged(
        "evt_late", datetime(2026, 11, 6, 9, tzinfo=UTC), "100234", "LAC", date(2026, 11, 6)
    )
    assert connector.service.inbox.accept("lincolnshire", "mosaic", "evt_late", late)
    connector.service.drain()
    [failed] = connector.service.inbox.failed()
    assert failed.webhook_id == "evt_late"
    assert "before its compaction point" in failed.reason
    assert history(connector) == (ledger, outcomes)
    assert case_fold(connector).status is not None
    assert case_fold(connector).status.status == "CP"  # type: ignore[union-attr]


def test_later_events_fold_onto_the_compaction_base_in_any_order(connector: Connector) -> None:
    connector.service.compact(PAST)
    inbox = connector.service.inbox
    reopened = CaseAllocated(
        "evt_re",
        datetime(2027, 12, 20, 9, tzinfo=UTC),
        "100234",
        "5522",
        "310",
        Relationship.ALLOCATED_WORKER,
        date(2027, 12, 20),
    )
    assert inbox.accept("lincolnshire", "mosaic", "evt_re", reopened)
    connector.service.drain()
    # After the base but before the reopening: the case re-folds from the base, not from nothing.
    between = CaseStatusChanged(
        "evt_lac", datetime(2027, 12, 18, 9, tzinfo=UTC), "100234", "LAC", date(2027, 12, 18)
    )
    assert inbox.accept("lincolnshire", "mosaic", "evt_lac", between)
    connector.service.drain()
    assert inbox.failed() == []
    facts = case_fold(connector).facts()
    assert facts is not None
    assert facts.known_since == date(2026, 11, 2)  # from the base: the raw events of then are gone
    assert facts.status is not None and facts.status.status == "LAC"
    assert [a.worker_id for a in facts.allocations] == ["5522"]
    assert facts.closed_on is None


def test_compact_dry_run_deletes_nothing_and_the_command_then_deletes(
    tmp_path: Path, mosaic: FakeMosaic, connector: Connector
) -> None:
    path = write_config_file(tmp_path, mosaic.base_url)
    args = ["--log-level", "ERROR", "compact", "--config", str(path), "--now", PAST.isoformat()]
    dry = CliRunner().invoke(main, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output == (
        "dry run compact 2027-12-15: 1 closed case(s) past retention; would delete 2 event(s),"
        " 1 kept for a worker or team; nothing was written\n"
        # The worker's allocation of the closed case is older than compact_after_days (400): it folds into the
        # worker's base, and stays for the team, which still links it.
        "dry run compact 2027-12-15: 1 open subject(s) with events older than compact_after_days; 1 event(s)"
        " folded into their bases, would delete 0 that no other subject still needs; nothing was written\n"
    )
    assert webhook_ids(connector) == {"evt_a", "evt_cp", "evt_close", "evt_open"}
    assert connector.service.db.scalar("SELECT COUNT(*) FROM subject_bases") == 0
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    assert "deleted 2 event(s)" in done.output
    assert webhook_ids(connector) == {"evt_a", "evt_open"}


def test_compact_refuses_a_bad_date(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["compact", "--config", str(tmp_path / "c.toml"), "--now", "next week"])
    assert result.exit_code == 2
    assert result.output == "connector: error: --now: 'next week' is not a date in the form YYYY-MM-DD\n"
