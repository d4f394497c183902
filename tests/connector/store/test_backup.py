import sqlite3
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.support.config_file import write_config

from connector.cli import main
from connector.store.backup import BackupError, backup_database
from connector.store.database import Database


def _rows(path: Path) -> set[int]:
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT n FROM t")}
    finally:
        conn.close()


def test_a_backup_taken_while_another_thread_writes_is_whole_and_holds_every_committed_row(
    tmp_path: Path,
) -> None:
    live = Database(tmp_path / "live.db")
    with live.transaction() as conn:
        conn.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, pad TEXT)")
        conn.executemany("INSERT INTO t (n, pad) VALUES (?, ?)", [(n, "x" * 200) for n in range(5000)])
    committed_before = _rows(tmp_path / "live.db")
    stop = threading.Event()
    busy = threading.Event()
    written = 0

    def keep_writing() -> None:
        nonlocal written
        n = 100_000
        while not stop.is_set():
            with live.transaction() as conn:
                conn.executemany(
                    "INSERT INTO t (n, pad) VALUES (?, ?)", [(n + i, "y" * 200) for i in range(50)]
                )
            n += 50
            written += 50
            if written >= 500:
                busy.set()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        assert busy.wait(10)
        backup_database(tmp_path / "live.db", tmp_path / "copy.db")
    finally:
        stop.set()
        writer.join()
        live.close()

    copy = sqlite3.connect(tmp_path / "copy.db")
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        copy.close()
    in_copy = _rows(tmp_path / "copy.db")
    assert committed_before <= in_copy
    # Whole transactions only: the writer commits 50 rows at a time.
    assert len(in_copy - committed_before) % 50 == 0
    assert not (tmp_path / "copy.db.partial").exists()


def test_an_existing_file_is_not_replaced_unless_forced(tmp_path: Path) -> None:
    db = Database(tmp_path / "connector.db")  # a SQLite file: the online backup is SQLite's
    db.migrate()
    db.close()
    target = tmp_path / "copy.db"
    target.write_text("keep me")
    with pytest.raises(BackupError, match="already exists"):
        backup_database(db.path, target)
    assert target.read_text() == "keep me"
    backup_database(db.path, target, force=True)
    conn = sqlite3.connect(target)
    try:
        assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] > 0
    finally:
        conn.close()


def test_a_missing_database_is_named(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no database there"):
        backup_database(tmp_path / "nope.db", tmp_path / "copy.db")
    assert not (tmp_path / "nope.db").exists()


def test_the_backup_command_copies_and_refuses_to_overwrite(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    live = Database(tmp_path / "connector.db")
    live.migrate()
    live.close()
    target = tmp_path / "backup.db"
    result = CliRunner().invoke(main, ["backup", "--config", str(config), "--to", str(target)])
    assert result.exit_code == 0, result.output
    assert target.is_file()
    again = CliRunner().invoke(main, ["backup", "--config", str(config), "--to", str(target)])
    assert again.exit_code == 2
    assert again.output.strip() == f"connector: error: {target}: already exists (give --force to replace it)"
    forced = CliRunner().invoke(main, ["backup", "--config", str(config), "--to", str(target), "--force"])
    assert forced.exit_code == 0, forced.output


def test_the_backup_command_never_creates_the_database_it_was_to_copy(tmp_path: Path) -> None:
    # Other commands open and migrate the database first; a backup of a wrong path must not make an empty one.
    config = write_config(tmp_path)
    result = CliRunner().invoke(main, ["backup", "--config", str(config), "--to", str(tmp_path / "copy.db")])
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == f"connector: error: {tmp_path / 'connector.db'}: no database there to back up"
    )
    assert not (tmp_path / "connector.db").exists() and not (tmp_path / "copy.db").exists()


def test_the_backup_command_sends_a_postgresql_database_to_pg_dump(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    text = config.read_text(encoding="utf-8").replace(
        'database = "connector.db"', 'database = "postgresql://connector@127.0.0.1:1/connector"'
    )
    config.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["backup", "--config", str(config), "--to", str(tmp_path / "b.db")])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "connector: error: storage.database: postgresql://connector@127.0.0.1:1/connector is a PostgreSQL"
        " database; back it up with pg_dump"
    )
