"""A re-evaluation's diffs made before the write lock leave the ledger and the outbox exactly as diffs made in it
do, and a ledger row that changes between the two (a delivery closing a step) is diffed again in the lock."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from tests.connector.pipeline.test_reevaluation import _cp_every_three_weeks, _outcome, _service, caseload

from connector.pipeline import prepared_diffs, processor, reevaluation
from connector.pipeline.ledger import Ledger
from connector.pipeline.plans import Plan
from connector.store.engines.base import Connection
from rules.pack import PACKS_DIR


def _changed_pack(tmp_path: Path) -> Path:
    changed = tmp_path / "lincolnshire-changed.toml"
    changed.write_text(_cp_every_three_weeks((PACKS_DIR / "lincolnshire.toml").read_text(encoding="utf-8")))
    return changed


def _evaluated(target: Any, tmp_path: Path) -> None:
    service = _service(target, tmp_path, "lincolnshire")
    try:
        for event in caseload():
            assert service.inbox.accept("lincolnshire", "mosaic", event.event_id, event)
        service.processor.run_until_idle()
        service.reevaluate_if_rules_changed()  # records the fingerprint
    finally:
        service.close()


def _changed(target: Any, tmp_path: Path) -> tuple[Any, tuple[list[Any], list[Any]]]:
    service = _service(target, tmp_path, str(_changed_pack(tmp_path)))
    try:
        counts = service.reevaluate_if_rules_changed()["lincolnshire"]
        return counts, _outcome(service)
    finally:
        service.close()


@pytest.fixture
def databases(tmp_path: Path, store_engine: str, request: pytest.FixtureRequest) -> list[Any]:
    if store_engine == "postgresql":
        server = request.getfixturevalue("postgres_server")
        return [server.fresh_database(), server.fresh_database()]
    return [tmp_path / "prepared.db", tmp_path / "in-the-lock.db"]


def test_diffs_prepared_before_the_lock_write_what_diffs_in_it_write(
    tmp_path: Path, databases: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reevaluation, "WRITE_PART", 2)  # several parts in each slice
    found = []
    for target, in_the_lock in zip(databases, (False, True), strict=True):
        _evaluated(target, tmp_path)
        written: list[int] = []
        real = prepared_diffs.write_prepared

        def counted(
            *args: Any, real: Any = real, in_the_lock: bool = in_the_lock, written: list[int] = written
        ) -> Any:
            written.append(1)
            # The reference: every part diffed in the transaction, as before diffs were prepared.
            return None if in_the_lock else real(*args)

        with monkeypatch.context() as patch:
            patch.setattr(processor, "write_prepared", counted)
            found.append(_changed(target, tmp_path))
        assert len(written) > 3
    (prepared_counts, prepared), (lock_counts, in_the_lock) = found
    assert prepared_counts.moved > 0
    assert prepared_counts == lock_counts
    assert prepared == in_the_lock


def test_a_row_closed_on_the_platform_between_the_diff_and_the_lock_is_diffed_again(
    tmp_path: Path, databases: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The racing run ends as the run that saw the step closed before its re-evaluation began."""
    # The racing run: the first step a part moves is closed (a delivery's confirmation) after the part was
    # diffed, before its write.
    _evaluated(databases[0], tmp_path)
    real_prepare = processor.prepare
    closed: list[str] = []

    def prepare_then_close(ledger: Ledger, conn: Connection, plan: Plan, today: date) -> Any:
        prepared = real_prepare(ledger, conn, plan, today)
        if not closed and prepared.writes.moves:
            reference = prepared.writes.moves[0][-1]
            with ledger.db.transaction() as write:
                ledger.record_confirmation(write, "lincolnshire", "mosaic", reference, "s1", None, True)
            closed.append(reference)
        return prepared

    with monkeypatch.context() as patch:
        patch.setattr(processor, "prepare", prepare_then_close)
        racing_counts, racing = _changed(databases[0], tmp_path)
    [reference] = closed

    # The reference run: the same step closed before the pack change's re-evaluation starts.
    _evaluated(databases[1], tmp_path)
    service = _service(databases[1], tmp_path, "lincolnshire")
    with service.db.transaction() as conn:
        service.processor.ledger.record_confirmation(conn, "lincolnshire", "mosaic", reference, "s1", None, True)
    service.close()
    before_counts, before = _changed(databases[1], tmp_path)

    assert racing_counts == before_counts
    assert racing == before
    [status] = [row[-1] for row in racing[0] if row[0] == reference]
    assert status == "closed"
    # Not moved: its pending write is still the first evaluation's.
    assert [row[4] for row in racing[1] if row[0] == reference] == [1]


def test_only_a_reevaluations_plan_is_prepared(tmp_path: Path) -> None:
    service = _service(tmp_path / "one.db", tmp_path, "lincolnshire")
    try:
        evaluator = service.processor.evaluators["lincolnshire"]
        plan = Plan(evaluator, "mosaic", [], [], None, {})  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="re-evaluation"):
            prepared_diffs.prepare(service.processor.ledger, service.db.conn, plan, date(2026, 11, 22))
    finally:
        service.close()
