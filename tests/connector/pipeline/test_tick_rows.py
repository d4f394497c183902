"""What the tick reads: open obligations a slice at a time in due-date order, and the reminders sent for them."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

from connector.pipeline.reminder_texts import Said
from connector.pipeline.tick_rows import (
    already_sent,
    open_due_by,
    open_with_dated_reminders,
    said_for,
)
from connector.store.database import Database
from connector.store.engines.base import Connection


def _ledger(tmp_path: Path) -> Database:
    db = Database(tmp_path / "ticks.db")
    db.migrate()
    rows = []
    for n in range(30):
        due = date(2026, 11, 1) + timedelta(days=n // 4)  # four a day, so slices cut across days
        status = "closed" if n == 5 else "open"
        platform_id = None if n == 6 else str(9000 + n)
        form = '[["reminder_on", "2026-09-30"]]' if n in (2, 17) else "[]"
        rows.append((f"ref-{n:02d}", due.isoformat(), status, platform_id, form))
    with db.transaction() as conn:
        conn.executemany(
            "INSERT INTO obligations (tenant, platform, reference, owner, kind, scope, holder, cycle,"
            " assignee_id, due_date, status, platform_id, form) VALUES"
            " ('t', 'mosaic', ?, 'case:1', 'case_supervision', '1', '7', 1, '7', ?, ?, ?, ?)",
            rows,
        )
        conn.execute(
            "INSERT INTO reminders (tenant, platform, reference, obligation_reference, worker_id, show_on,"
            " escalation, created_at) VALUES ('t', 'mosaic', 'rem-a', 'ref-03', '7', '2026-11-01', 0, 'x')"
        )
    return db


def test_open_rows_come_in_slices_of_at_most_the_size_each_once_in_due_date_order(tmp_path: Path) -> None:
    db = _ledger(tmp_path)
    slices = list(open_due_by(db.conn, date(2026, 11, 5), 3))
    assert all(len(s) <= 3 for s in slices)
    assert all(len(s) == 3 for s in slices[:-1])  # a slice ends on a day's boundary only when full
    references = [row["reference"] for s in slices for row in s]
    # Due by 5 November (the first 20), leaving out the closed one and the one not yet on the platform.
    assert references == [f"ref-{n:02d}" for n in range(20) if n not in (5, 6)]
    assert [row["due_date"] for s in slices for row in s] == sorted(
        row["due_date"] for s in slices for row in s
    )
    # Only what deciding reads: never the explanation.
    assert "explanation" not in set(slices[0][0].keys())  # a Row's `in` looks at its values


def test_dated_reminders_and_reminders_sent_are_read_for_the_slice_alone(tmp_path: Path) -> None:
    db = _ledger(tmp_path)
    dated = [row["reference"] for s in open_with_dated_reminders(db.conn, 1) for row in s]
    assert dated == ["ref-02", "ref-17"]
    rows = next(open_due_by(db.conn, date(2026, 11, 5), 4))
    assert said_for(db.conn, rows)[0] == {("t", "mosaic", "rem-a")}
    assert said_for(db.conn, rows[:3])[0] == set()
    assert already_sent(db.conn, [("t", "mosaic", "rem-a"), ("t", "mosaic", "rem-b")]) == {
        ("t", "mosaic", "rem-a")
    }


def test_the_reminders_that_kept_what_they_said_are_read_with_those_sent(tmp_path: Path) -> None:
    db = _ledger(tmp_path)
    with db.transaction() as conn:
        conn.executemany(
            "INSERT INTO reminders (tenant, platform, reference, obligation_reference, worker_id, show_on,"
            " escalation, created_at, due_date, said, rung, withdrawn_at) VALUES"
            " ('t', 'mosaic', ?, 'ref-03', '7', '2026-11-01', 0, 'x', '2026-11-04', ?, 'due-7', ?)",
            [("rem-b", "d1", None), ("rem-c", "d2", "2026-11-02"), ("rem-d", None, None)],
        )
    rows = next(open_due_by(db.conn, date(2026, 11, 5), 4))
    sent, live = said_for(db.conn, rows)
    assert sent == {("t", "mosaic", r) for r in ("rem-a", "rem-b", "rem-c", "rem-d")}
    # Not the withdrawn one, nor those written before digests were kept (taken as matching).
    assert live == {("t", "mosaic", "ref-03"): [Said("rem-b", "due-7", "d1", "7", "2026-11-04")]}


def test_dated_reminders_are_found_in_an_index_of_them_alone_not_by_reading_every_open_row(
    tmp_path: Path,
) -> None:
    db = _ledger(tmp_path)
    plans: list[str] = []
    real = db.conn.execute

    class Explaining:
        """The connection, saying how SQLite means to run each statement before running it."""

        @staticmethod
        def execute(sql: str, *params: Any) -> Any:
            plans.extend(str(step[3]) for step in real(f"EXPLAIN QUERY PLAN {sql}", *params))
            return real(sql, *params)

    conn = cast(Connection, Explaining())
    assert [row["reference"] for s in open_with_dated_reminders(conn, 5) for row in s] == ["ref-02", "ref-17"]
    assert plans == ["SEARCH obligations USING INDEX idx_obligations_dated_reminders (status=?)"]
