from pathlib import Path

from connector.db import Database
from connector.migrations import MIGRATIONS


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
