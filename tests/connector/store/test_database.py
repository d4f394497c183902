import os
from pathlib import Path

import pytest

from connector.store.database import Database, StorageError
from connector.store.migrations import MIGRATIONS


def test_migrations_create_every_table_and_are_idempotent(tmp_path: Path) -> None:
    db = Database(tmp_path / "sub" / "c.db")
    assert not db.is_ready()
    assert db.migrate() == len(MIGRATIONS)
    assert db.migrate() == len(MIGRATIONS)
    tables = {r["name"] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {
        "inbox",
        "event_subjects",
        "obligations",
        "outbox",
        "reminders",
        "audit",
        "tenant_state",
    } <= tables
    assert db.is_ready()
    assert db.scalar("SELECT COUNT(*) FROM schema_migrations") == len(MIGRATIONS)


def test_a_failed_transaction_leaves_nothing(db: Database) -> None:
    try:
        with db.transaction() as conn:
            conn.execute(
                "INSERT INTO tenant_state (tenant, fingerprint, evaluated_at) VALUES ('t', 'f', 'now')"
            )
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert db.scalar("SELECT COUNT(*) FROM tenant_state") == 0


def test_the_database_and_its_wal_files_are_private_to_their_owner(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        db = Database(tmp_path / "c.db")
        db.migrate()
        files = sorted(p.name for p in tmp_path.iterdir())
        modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
        db.close()
    finally:
        os.umask(old)
    assert files == ["c.db", "c.db-shm", "c.db-wal"]
    assert set(modes.values()) == {0o600}


def test_check_says_why_a_database_cannot_be_opened(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(StorageError, match=r"^storage\.database: cannot open .*/d: it is a directory$"):
        Database(tmp_path / "d").check()
    (tmp_path / "f").write_text("x")
    with pytest.raises(StorageError, match=r"^storage\.database: cannot open .*/f/c\.db: "):
        Database(tmp_path / "f" / "c.db").check()


def test_the_retention_migration_gives_kept_closed_cases_their_closing_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pickle
    from datetime import date

    from connector.pipeline.folds import CaseFold
    from connector.store import database, migrations

    before = migrations.MIGRATIONS[: migrations.MIGRATIONS.index(migrations._012_retention)]
    monkeypatch.setattr(database, "MIGRATIONS", before)
    db = Database(tmp_path / "c.db")
    db.migrate()
    closed, still_open = CaseFold(case_id="100234", closed_on=date(2026, 11, 10)), CaseFold(case_id="100235")
    for subject, fold in (("case:100234", closed), ("case:100235", still_open)):
        db.conn.execute(
            "INSERT INTO subject_folds (tenant, platform, subject, at, event_id, version, revision, state)"
            " VALUES ('t', 'mosaic', ?, '2026-11-10T09:00:00.000000', 'e', 1, 1, ?)",
            (subject, pickle.dumps(fold)),
        )
    db.conn.commit()
    monkeypatch.setattr(database, "MIGRATIONS", migrations.MIGRATIONS)
    db.migrate()
    rows = dict(db.conn.execute("SELECT subject, closed_on FROM subject_folds").fetchall())
    assert rows == {"case:100234": "2026-11-10", "case:100235": None}


def _statements(db: Database) -> list[tuple[str, bool]]:
    """Every statement this thread's connection runs, with whether the write lock was held at the time."""
    seen: list[tuple[str, bool]] = []
    db.conn.set_trace_callback(lambda sql: seen.append((sql, db._write_lock.locked())))
    return seen


def _write_pages(db: Database, rows: int) -> None:
    with db.transaction() as conn:
        conn.executemany(
            "INSERT INTO service_state (key, value, updated_at) VALUES (?, ?, 'x')",
            [(f"k{n}-{os.urandom(4).hex()}", "v" * 2000) for n in range(rows)],
        )


def test_long_work_checkpoints_the_wal_after_each_commit_outside_the_write_lock(tmp_path: Path) -> None:
    db = Database(tmp_path / "c.db")
    db.migrate()
    seen = _statements(db)
    with db.checkpoints_outside_the_lock():
        assert db.scalar("PRAGMA wal_autocheckpoint") == 0  # never inside COMMIT, so never inside the lock
        _write_pages(db, 3000)  # about 1,500 pages: SQLite would have checkpointed inside this commit
        # One checkpoint, just after the commit, with the lock released.
        assert [locked for sql, locked in seen if sql.startswith("PRAGMA wal_checkpoint")] == [False]
        busy, logged, copied = db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert (busy, copied) == (0, logged)  # it copied every page
    # Afterwards this connection checkpoints as SQLite does by itself again.
    assert db.scalar("PRAGMA wal_autocheckpoint") == 1000
    seen.clear()
    _write_pages(db, 10)
    assert not [sql for sql, _ in seen if sql.startswith("PRAGMA wal_checkpoint")]


def test_a_writer_waiting_for_another_processs_write_lock_tries_again_every_millisecond(
    tmp_path: Path,
) -> None:
    # SQLite's own busy handler sleeps in growing steps up to 100 ms: a webhook in `serve` waited 400 ms and
    # more for the lock while cron's daily run (another process) committed 10 to 50 ms transactions back to back.
    import threading

    from connector.store.engines.sqlite import BUSY_POLL_SECONDS, SqliteEngine

    other = Database(tmp_path / "c.db")  # another process's connection
    other.migrate()
    other.conn.execute("BEGIN IMMEDIATE")
    tries: list[float] = []

    def sleep(seconds: float) -> None:
        tries.append(seconds)
        if len(tries) == 3:
            other.conn.execute("COMMIT")  # the other process commits while this one waits

    # Were SQLite's handler waiting instead, the other process lets go after two seconds, with no try of ours.
    fallback = threading.Timer(2.0, lambda: other.conn.execute("COMMIT"))
    fallback.start()
    engine = SqliteEngine(tmp_path / "c.db", sleep=sleep)
    conn = engine.connect()
    try:
        engine.begin(conn)
    finally:
        fallback.cancel()
    assert tries == [BUSY_POLL_SECONDS] * 3
    assert conn.in_transaction
    conn.execute("ROLLBACK")
    assert (
        conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
    )  # SQLite's own waiting, back for the rest


def test_a_writer_gives_up_on_another_processs_write_lock_after_the_busy_timeout(tmp_path: Path) -> None:
    import sqlite3

    from connector.store.engines.sqlite import SqliteEngine

    other = Database(tmp_path / "c.db")
    other.migrate()
    other.conn.execute("BEGIN IMMEDIATE")
    now = [100.0]

    def sleep(seconds: float) -> None:
        now[0] += 10  # time passed in, never slept for

    engine = SqliteEngine(tmp_path / "c.db", sleep=sleep, clock=lambda: now[0])
    conn = engine.connect()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        engine.begin(conn)
    assert now[0] == 130.0 and not conn.in_transaction
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
    other.conn.execute("ROLLBACK")
