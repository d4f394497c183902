from datetime import UTC, datetime, timedelta

from connector.pipeline.outbox import Outbox
from connector.store.database import Database


def later(seconds: float) -> datetime:
    # Rows are queued at the wall-clock time; the outbox is then asked about moments after that, as values.
    return datetime.now(UTC) + timedelta(seconds=seconds)


def put(
    db: Database, reference: str = "ref-1", action: str = "create", payload: dict[str, object] | None = None
) -> None:
    with db.transaction() as conn:
        Outbox(db).put(conn, "linc", "mosaic", reference, "obligation", action, payload or {"a": 1})


def test_confirm_removes_only_the_version_that_was_sent(db: Database) -> None:
    outbox = Outbox(db)
    put(db)
    [row] = outbox.due(later(1))
    put(db, payload={"a": 2})  # a newer desired state arrives while the first is in flight
    with db.transaction() as conn:
        assert outbox.confirm(conn, row) is False
    [again] = outbox.due(later(1))
    assert again.payload == {"a": 2} and again.version == 2
    with db.transaction() as conn:
        assert outbox.confirm(conn, again) is True
    assert outbox.count("pending") == 0


def test_retry_later_waits_and_park_makes_a_dead_letter_that_can_be_retried(db: Database) -> None:
    outbox = Outbox(db)
    put(db)
    [row] = outbox.due(later(1))
    outbox.retry_later(row, "503 from Mosaic", 60, datetime.now(UTC))
    assert outbox.due(later(59)) == []
    [row] = outbox.due(later(61))
    assert row.attempts == 1 and row.last_error == "503 from Mosaic"
    outbox.park(row, "400 from Mosaic: assignee_id unknown")
    assert outbox.due(later(86400)) == []
    [dead] = outbox.dead_letters()
    assert dead.last_error == "400 from Mosaic: assignee_id unknown"
    assert outbox.retry(dead.id) is True
    assert outbox.retry(dead.id) is False
    assert outbox.count("dead") == 0 and outbox.count("pending") == 1


def test_a_new_desired_state_revives_a_dead_letter(db: Database) -> None:
    outbox = Outbox(db)
    put(db)
    [row] = outbox.due(later(1))
    outbox.park(row, "fatal")
    put(db, action="move", payload={"a": 3})
    [row] = outbox.due(later(1))
    assert row.state == "pending" and row.attempts == 0 and row.payload == {"a": 3}


def test_the_first_body_a_create_sent_outlives_newer_states_until_it_is_confirmed(db: Database) -> None:
    outbox = Outbox(db)
    put(db)
    [row] = outbox.due(later(1))
    outbox.note_first_sent(row)  # then the process dies with the create in flight
    put(db, payload={"a": 2})
    [again] = outbox.due(later(1))
    outbox.note_first_sent(again)  # only the first is kept
    put(db, payload={"a": 3})
    [latest] = outbox.due(later(1))
    assert (latest.payload, latest.first_sent, latest.attempts) == ({"a": 3}, {"a": 1}, 0)
    with db.transaction() as conn:
        assert outbox.confirm(conn, latest) is True
    put(db, payload={"a": 4})
    [fresh] = outbox.due(later(1))
    assert fresh.first_sent is None


def test_only_a_write_nothing_can_have_sent_is_dropped(db: Database) -> None:
    # Found by bench/chaos.py with two instances on PostgreSQL: a reminder another instance had claimed (and
    # sent, before it was killed) was dropped as never sent when its step ended, and stayed in a tray for good.
    outbox = Outbox(db)
    for reference in ("never-tried", "tried", "claimed"):
        put(db, reference)
    with db.transaction() as conn:
        conn.execute("UPDATE outbox SET attempts = 1 WHERE reference = 'tried'")
        conn.execute("UPDATE outbox SET lease_until = '2026-12-01T10:01:00.000' WHERE reference = 'claimed'")
        dropped = [
            r for r in ("never-tried", "tried", "claimed") if outbox.drop_unsent(conn, "linc", "mosaic", r)
        ]
    assert dropped == ["never-tried"]
    assert sorted(r["reference"] for r in db.query("SELECT reference FROM outbox")) == ["claimed", "tried"]


def test_a_write_in_flight_in_one_process_is_neither_given_to_another_nor_dropped_as_unsent(
    db: Database,
) -> None:
    # On SQLite too: delivery runs in a process of its own (service.delivery_process) beside the processing one,
    # which drops a reminder's write "nothing can have sent" when its step ends. One being sent is not that.
    delivering, processing = Outbox(db), Outbox(db)
    put(db, "sending")
    [row] = delivering.due(later(1))
    assert processing.due(later(1)) == []
    with db.transaction() as conn:
        assert processing.drop_unsent(conn, "linc", "mosaic", "sending") is False
    with db.transaction() as conn:
        assert delivering.confirm(conn, row) is True
    assert delivering.count("pending") == 0
