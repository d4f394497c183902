from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import cast

from connector.pipeline.ledger import Ledger
from connector.pipeline.outbox import Outbox
from connector.store.database import Database
from rules.model import Basis, Obligation, Reason, Written

TODAY = date(2026, 11, 22)
OBLIGATION = Obligation(
    kind="case_supervision",
    scope="100234",
    holder="5521",
    cycle=1,
    assignee_id="5521",
    case_id="100234",
    team_id="310",
    due_date=date(2026, 11, 30),
    reasons=(Reason("LINC-CS-ALLOC", "5.1.1", "discuss within four weeks of allocation"),),
    counted_from=Basis("allocation", date(2026, 11, 2)),
    wording=Written(
        "Case supervision for person 100234 is due by 30 Nov 2026.", (("due_date", "2026-11-30"),)
    ),
)


def apply(db: Database, desired: list[Obligation], owner: str = "case:100234") -> tuple[int, int, int]:
    ledger = Ledger(db, Outbox(db))
    with db.transaction() as conn:
        counts = ledger.apply(conn, "linc", "mosaic", "linc", owner, desired, TODAY)
    return counts.created, counts.moved, counts.withdrawn


def outbox_rows(db: Database) -> list[dict[str, object]]:
    return [dict(r) for r in db.query("SELECT reference, action, payload, version FROM outbox ORDER BY id")]


def test_a_new_obligation_is_created_with_its_deterministic_reference(db: Database) -> None:
    assert apply(db, [OBLIGATION]) == (1, 0, 0)
    [row] = outbox_rows(db)
    assert row["reference"] == "linc:case_supervision:100234:5521:1"
    assert row["action"] == "create"
    payload = json.loads(str(row["payload"]))
    assert payload["due_date"] == "2026-11-30" and payload["open"] is True
    assert payload["notes"] == OBLIGATION.explanation


def test_the_same_desired_state_again_writes_nothing(db: Database) -> None:
    apply(db, [OBLIGATION])
    assert apply(db, [OBLIGATION]) == (0, 0, 0)
    assert len(outbox_rows(db)) == 1
    assert outbox_rows(db)[0]["version"] == 1


def test_a_changed_due_date_moves_the_same_reference_and_coalesces_the_pending_write(db: Database) -> None:
    apply(db, [OBLIGATION])
    assert apply(db, [replace(OBLIGATION, due_date=date(2026, 12, 1))]) == (0, 1, 0)
    [row] = outbox_rows(db)
    # Not yet confirmed: still a create, now carrying the new date.
    assert row["action"] == "create" and row["version"] == 2
    assert json.loads(str(row["payload"]))["due_date"] == "2026-12-01"


def test_an_obligation_no_longer_desired_is_withdrawn(db: Database) -> None:
    apply(db, [OBLIGATION])
    assert apply(db, []) == (0, 0, 1)
    [row] = outbox_rows(db)
    assert row["action"] == "withdraw"
    assert json.loads(str(row["payload"]))["open"] is False
    assert db.scalar("SELECT status FROM obligations") == "withdrawn"


def test_a_new_cycle_is_a_new_reference_and_the_old_one_is_met_not_withdrawn(db: Database) -> None:
    apply(db, [OBLIGATION])
    assert apply(db, [replace(OBLIGATION, cycle=2, due_date=date(2026, 12, 18))]) == (1, 0, 0)
    refs = {r["reference"]: r["action"] for r in outbox_rows(db)}
    assert refs == {
        "linc:case_supervision:100234:5521:1": "complete",
        "linc:case_supervision:100234:5521:2": "create",
    }
    payload = json.loads(str(outbox_rows(db)[0]["payload"]))
    assert payload["open"] is False and payload["met"] is True
    statuses = dict(db.query("SELECT reference, status FROM obligations"))
    assert statuses["linc:case_supervision:100234:5521:1"] == "met"


def test_a_cycle_a_session_met_with_no_next_cycle_is_met(db: Database) -> None:
    ledger = Ledger(db, Outbox(db))
    with db.transaction() as conn:
        ledger.apply(conn, "linc", "mosaic", "linc", "case:100234", [OBLIGATION], TODAY)
        counts = ledger.apply(conn, "linc", "mosaic", "linc", "case:100234", [], TODAY, lambda row: True)
    assert (counts.met, counts.withdrawn) == (1, 0)
    assert outbox_rows(db)[0]["action"] == "complete"


def test_a_withdrawn_cycle_wanted_again_gets_a_fresh_reference(db: Database) -> None:
    apply(db, [OBLIGATION])
    apply(db, [])
    assert apply(db, [OBLIGATION]) == (1, 0, 0)
    open_refs = [r["reference"] for r in db.query("SELECT reference FROM obligations WHERE status = 'open'")]
    assert open_refs == ["linc:case_supervision:100234:5521:1.r2"]


def test_a_cycle_closed_on_the_platform_is_left_alone(db: Database) -> None:
    apply(db, [OBLIGATION])
    ledger = Ledger(db, Outbox(db))
    with db.transaction() as conn:
        ledger.record_confirmation(
            conn, "linc", "mosaic", "linc:case_supervision:100234:5521:1", "880012", None, False
        )
        ledger.mark_closed_by_step(conn, "linc", "mosaic", "880012")
        conn.execute("DELETE FROM outbox")
    assert apply(db, [replace(OBLIGATION, due_date=date(2026, 12, 5))]) == (0, 0, 0)
    assert apply(db, []) == (0, 0, 0)
    assert outbox_rows(db) == []


def test_owners_only_see_their_own_rows(db: Database) -> None:
    apply(db, [OBLIGATION], owner="case:100234")
    assert apply(db, [], owner="worker:5521") == (0, 0, 0)


class _CountingConnection:
    """A connection that counts the obligation rows the ledger reads."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.rows_read = 0

    def execute(self, sql: str, params: Sequence[object] = ()) -> _CountingCursor:
        return _CountingCursor(self, self.conn.execute(sql, params), "FROM obligations" in sql)

    def __getattr__(self, name: str) -> object:
        return getattr(self.conn, name)


class _CountingCursor:
    def __init__(self, owner: _CountingConnection, cursor: sqlite3.Cursor, counts: bool) -> None:
        self.owner, self.cursor, self.counts = owner, cursor, counts

    def fetchall(self) -> list[sqlite3.Row]:
        rows = self.cursor.fetchall()
        self.owner.rows_read += len(rows) if self.counts else 0
        return rows

    def __getattr__(self, name: str) -> object:
        return getattr(self.cursor, name)


def test_the_diff_reads_the_open_rows_and_the_desired_cycles_not_every_ended_cycle(db: Database) -> None:
    # A hundred cycles, each met by the next: the owner's history of ended rows grows with every session.
    for cycle in range(1, 101):
        apply(db, [replace(OBLIGATION, cycle=cycle)])
    ledger = Ledger(db, Outbox(db))
    with db.transaction() as conn:
        counting = _CountingConnection(conn)
        counts = ledger.apply(
            cast(sqlite3.Connection, counting),
            "linc",
            "mosaic",
            "linc",
            "case:100234",
            [replace(OBLIGATION, cycle=101)],
            TODAY,
        )
    assert (counts.created, counts.met) == (1, 1)
    # The one open row (cycle 100, which the new cycle ends); cycle 101 has no rows yet.
    assert counting.rows_read == 1
    statuses = [r["status"] for r in db.query("SELECT status FROM obligations ORDER BY cycle")]
    assert statuses == ["met"] * 100 + ["open"]
