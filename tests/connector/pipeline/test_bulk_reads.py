"""A whole re-evaluation reads kept folds and ledger rows in bulk, per slice, not per subject, and changes
nothing by it: the same ledger as before. An owner whose obligations are those its last diff stored the digest
of reads no ledger rows at all."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer
from tests.support.fake_mosaic import FakeMosaic
from tests.support.harness import event, make_config, start_connector

CASES = 30


@contextmanager
def _traced(conn: Any, statements: list[str]) -> Iterator[None]:
    """Every statement the connection runs: SQLite's trace callback, or on PostgreSQL the engine's own execute."""
    if hasattr(conn, "set_trace_callback"):
        conn.set_trace_callback(statements.append)
        try:
            yield
        finally:
            conn.set_trace_callback(None)
        return
    execute = conn.execute

    def traced(sql: str, *args: Any) -> Any:
        statements.append(sql)
        return execute(sql, *args)

    conn.execute = traced
    try:
        yield
    finally:
        del conn.execute


def allocation(n: int) -> dict[str, object]:
    return event(
        f"evt_a{n}",
        "case.allocated",
        "2026-11-02T09:30:00Z",
        person_id=100_000 + n,
        worker_id=5500 + n % 4,
        team_id=310,
        relationship="ALLWKR",
        start_date="2026-11-02",
    )


def test_a_re_evaluation_reads_folds_and_ledger_rows_per_slice_not_per_subject(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    mosaic = FakeMosaic(httpserver).install()
    running = start_connector(make_config(tmp_path, mosaic.base_url))
    try:
        for n in range(CASES):
            assert running.post(allocation(n)).status_code == 202
        running.service.drain()
        db = running.service.db
        before = db.query(
            "SELECT reference, status, due_date, explanation FROM obligations ORDER BY reference"
        )
        assert len(before) >= CASES
        with db.transaction() as conn:  # as a database from before the digests: every owner is diffed
            conn.execute("UPDATE reevaluate_on SET digest = NULL")
        statements: list[str] = []
        running.service.processor.folds.clear()  # as after a restart: every fold is read from the store
        with _traced(db.conn, statements):
            running.service.processor.reevaluate_all("lincolnshire", "mosaic")
        fold_reads = [s for s in statements if "FROM subject_folds" in s and s.lstrip().startswith("SELECT")]
        # Beside them, one query for the whole run puts each worker's cases together (reevaluation.by_holder).
        order = [s for s in statements if "MIN(holder)" in s]
        ledger_reads = [s for s in _ledger_reads(statements) if s not in order]
        # 30 cases and 4 workers in one slice: two queries for the cases' folds, two for their workers'; the
        # ledger rows once to diff before the write lock, and their open rows once in it to check them.
        assert len(fold_reads) <= 4, fold_reads
        assert len(ledger_reads) == 2, ledger_reads
        assert "UNION" in ledger_reads[0] and "UNION" not in ledger_reads[1], ledger_reads
        assert len(order) == 1, order
        after = db.query(
            "SELECT reference, status, due_date, explanation FROM obligations ORDER BY reference"
        )
        assert [tuple(r) for r in after] == [tuple(r) for r in before]
        statements.clear()
        with _traced(db.conn, statements):
            running.service.processor.reevaluate_all("lincolnshire", "mosaic")
        assert [s for s in statements if "FROM obligations" in s and "MIN(holder)" not in s] == [], statements
        assert not [s for s in statements if s.lstrip().startswith(("INSERT", "UPDATE", "DELETE"))], statements
    finally:
        running.close()


def _ledger_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if "FROM obligations" in s and s.lstrip().startswith("SELECT")]
