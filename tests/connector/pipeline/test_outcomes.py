"""A cycle's outcome is written when the ledger closes it, with the session that met it, and kept as it was."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from tests.connector.pipeline.test_ledger import OBLIGATION, TODAY

from connector.pipeline.ledger import Ledger
from connector.pipeline.met import Held
from connector.pipeline.outbox import Outbox
from connector.store.database import Database


def close_with(db: Database, session: Held | None, desired: list[object], today: date = TODAY) -> None:
    ledger = Ledger(db, Outbox(db))
    with db.transaction() as conn:
        ledger.apply(conn, "linc", "mosaic", "linc", "case:100234", [OBLIGATION], TODAY)
    with db.transaction() as conn:
        ledger.apply(
            conn,
            "linc",
            "mosaic",
            "linc",
            "case:100234",
            desired,
            today,
            held_by=lambda row: session,  # type: ignore[arg-type]
        )


def outcome(db: Database) -> dict[str, object]:
    [row] = db.query("SELECT * FROM cycle_outcomes")
    return dict(row)


def test_a_cycle_met_late_keeps_when_it_was_held_and_recorded_and_its_days_late(db: Database) -> None:
    session = Held("case", "5521", date(2026, 12, 4), date(2026, 12, 9), "5500")
    close_with(db, session, [], today=date(2026, 12, 10))
    row = outcome(db)
    assert row["outcome"] == "met"
    assert (row["due_date"], row["held_on"], row["recorded_on"]) == ("2026-11-30", "2026-12-04", "2026-12-09")
    assert row["days_late"] == 4 and row["supervisor_id"] == "5500" and row["worker_id"] == "5521"
    assert row["closed_on"] == "2026-12-10" and row["team_id"] == "310"


def test_a_cycle_met_on_time_is_zero_days_late(db: Database) -> None:
    close_with(db, Held("case", "5521", date(2026, 11, 25), date(2026, 11, 26)), [])
    assert outcome(db)["days_late"] == 0


def test_a_cycle_that_ends_because_the_next_one_opened_is_met_by_the_session_found(db: Database) -> None:
    session = Held("case", "5521", date(2026, 11, 28), date(2026, 11, 30))
    close_with(db, session, [replace(OBLIGATION, cycle=2, due_date=date(2026, 12, 26))])
    row = outcome(db)
    assert row["outcome"] == "met" and row["held_on"] == "2026-11-28"


def test_a_withdrawn_cycle_past_its_due_date_is_late_by_the_day_it_was_withdrawn(db: Database) -> None:
    close_with(db, None, [], today=date(2026, 12, 3))
    row = outcome(db)
    assert row["outcome"] == "withdrawn" and row["held_on"] is None and row["days_late"] == 3


def test_the_outcome_survives_a_later_re_evaluation(db: Database) -> None:
    close_with(db, Held("case", "5521", date(2026, 11, 25), date(2026, 11, 26)), [])
    ledger = Ledger(db, Outbox(db))
    # The same cycle desired again (a late event changed the case) and closed again: the first outcome stays.
    for desired in ([OBLIGATION], []):
        with db.transaction() as conn:
            ledger.apply(conn, "linc", "mosaic", "linc", "case:100234", desired, date(2027, 1, 5))
    rows = db.query("SELECT reference, outcome, held_on FROM cycle_outcomes ORDER BY reference")
    assert [tuple(r) for r in rows] == [("linc:case_supervision:100234:5521:1", "met", "2026-11-25")]


def test_a_step_completed_on_the_platform_keeps_the_session_that_completed_it(db: Database) -> None:
    ledger = Ledger(db, Outbox(db))
    with db.transaction() as conn:
        ledger.apply(conn, "linc", "mosaic", "linc", "case:100234", [OBLIGATION], TODAY)
        conn.execute("UPDATE obligations SET platform_id = '777'")
        ledger.mark_closed_by_step(
            conn, "linc", "mosaic", "777", Held("case", "5521", date(2026, 12, 1), date(2026, 12, 2)), TODAY
        )
    row = outcome(db)
    assert row["outcome"] == "met" and row["held_on"] == "2026-12-01" and row["days_late"] == 1


def test_the_migration_keeps_cycles_closed_before_it(tmp_path: object) -> None:
    from pathlib import Path

    from connector.store.migrations import MIGRATIONS

    db = Database(Path(str(tmp_path)) / "old.db")
    with db.transaction() as conn:
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
        for version, migration in enumerate(MIGRATIONS[:7], start=1):
            migration(db.utils)
            conn.execute("INSERT INTO schema_migrations VALUES (?, 'x')", (version,))
    ledger = Ledger(db, Outbox(db))
    with db.transaction() as conn:
        ledger.apply(conn, "linc", "mosaic", "linc", "case:100234", [OBLIGATION], TODAY)
        conn.execute(
            "UPDATE obligations SET status = 'withdrawn', updated_at = '2026-12-02T10:00:00.000+00:00'"
        )
    db.migrate()
    row = outcome(db)
    assert (row["outcome"], row["closed_on"], row["days_late"]) == ("withdrawn", "2026-12-02", 2)
    db.close()
