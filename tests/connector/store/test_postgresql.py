"""The PostgreSQL engine: placeholders, rows, messages, and migrations applied once when instances start together."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from connector.store.database import Database, StorageError
from connector.store.engines.postgresql import PgRow, to_psycopg
from connector.store.migrations import MIGRATIONS
from connector.store.url import DatabaseUrl


@pytest.mark.parametrize(
    ("sql", "translated"),
    [
        ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = %s AND b = %s"),
        ("WHERE d BETWEEN :start AND :end", "WHERE d BETWEEN %(start)s AND %(end)s"),
        ("WHERE s LIKE '%\"reminder_on\"%' AND x = ?", "WHERE s LIKE '%%\"reminder_on\"%%' AND x = %s"),
        ("SELECT '?', ':not_a_name', x::jsonb FROM t", "SELECT '?', ':not_a_name', x::jsonb FROM t"),
        ("SELECT 100 % 7", "SELECT 100 %% 7"),
    ],
)
def test_placeholders_are_translated_and_quoted_text_is_left_alone(sql: str, translated: str) -> None:
    assert to_psycopg(sql) == translated


def test_a_row_reads_by_name_and_by_index() -> None:
    row = PgRow(("linc", 3), {"tenant": 0, "seq": 1})
    assert (row["tenant"], row[1], row.keys(), tuple(row), len(row)) == (
        "linc",
        3,
        ["tenant", "seq"],
        ("linc", 3),
        2,
    )
    tenant, seq = row
    assert (tenant, seq) == ("linc", 3)


def test_the_password_is_never_shown() -> None:
    url = DatabaseUrl("postgresql://connector@db.council:5432/connector", "s3cret")
    assert url.shown == "postgresql://connector@db.council:5432/connector"
    assert "s3cret" not in f"{url} {url!r}"


def test_a_server_that_cannot_be_reached_is_one_line_naming_it() -> None:
    with pytest.raises(StorageError) as raised:
        Database(DatabaseUrl("postgresql://connector@127.0.0.1:1/connector", "s3cret")).check()
    message = str(raised.value)
    assert message.startswith("storage.database: cannot open postgresql://connector@127.0.0.1:1/connector: ")
    assert "\n" not in message and "s3cret" not in message


def test_instances_starting_together_apply_the_migrations_once(postgres_server: Any) -> None:
    url = postgres_server.empty_database()
    databases = [Database(url) for _ in range(4)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(databases))

    def migrate(db: Database) -> None:
        start.wait()
        try:
            db.migrate()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=migrate, args=(db,)) for db in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert errors == []
        versions = [
            row[0] for row in databases[0].query("SELECT version FROM schema_migrations ORDER BY version")
        ]
        assert versions == list(range(1, len(MIGRATIONS) + 1))
        assert all(db.is_ready() for db in databases)
    finally:
        for db in databases:
            db.close()


def test_the_same_schema_on_both_engines(tmp_path: Any, postgres_server: Any) -> None:
    sqlite = Database(tmp_path / "c.db")
    sqlite.migrate()
    postgres = Database(postgres_server.fresh_database())
    try:
        on_sqlite = {
            (table, column["name"])
            for (table,) in sqlite.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            ).fetchall()
            for column in sqlite.query(f"PRAGMA table_info({table})")
        }
        on_postgres = {
            (row["table_name"], row["column_name"])
            for row in postgres.query(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
            )
        }
        assert on_postgres == on_sqlite
    finally:
        sqlite.close()
        postgres.close()


def test_text_compares_byte_by_byte_as_on_sqlite_whatever_the_databases_collation(
    postgres_server: Any,
) -> None:
    db = Database(postgres_server.fresh_database())
    try:
        collations = {
            row["collation_name"]
            for row in db.query(
                "SELECT collation_name FROM information_schema.columns"
                " WHERE table_schema = 'public' AND data_type = 'text' AND table_name <> 'schema_migrations'"
            )
        }
        assert collations == {"C"}
    finally:
        db.close()
