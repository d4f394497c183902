import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any
from unittest.mock import patch

from tests.support.harness import NOW, event, make_config, signed

from connector.service import Service
from connector.web.app import create_app
from connector.web.intake import IntakeMeter


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_rate_covers_about_the_last_second() -> None:
    clock = Clock(10.2)
    meter = IntakeMeter(clock)
    for _ in range(3):
        meter.record()
    clock.now = 10.5
    assert meter.rate() == 3
    clock.now = 11.5  # half of the previous second still falls inside the window
    assert meter.rate() == 1.5
    meter.record()
    assert meter.rate() == 2.5
    clock.now = 13.0  # a whole second with nothing: nothing is left
    assert meter.rate() == 0


def _allocation(n: int) -> dict[str, Any]:
    return event(
        f"evt_{n}",
        "case.allocated",
        "2026-11-02T09:30:00Z",
        person_id=200_000 + n,
        worker_id=5521,
        team_id=310,
        relationship="ALLWKR",
        start_date="2026-11-02",
    )


def _post_together(service: Service, events: list[dict[str, Any]]) -> tuple[dict[str, int], int]:
    """Posts every event at once, each from its own thread, through the WSGI app, while the write lock is held
    until all but the first are queued behind the first one's commit: (status by webhook id, transactions)."""
    app = create_app(service, clock=lambda: NOW)
    inbox = service.inbox
    statuses: dict[str, int] = {}
    transactions = 0
    begin = service.db.transaction

    @contextmanager
    def counted() -> Iterator[sqlite3.Connection]:
        nonlocal transactions
        transactions += 1
        with begin() as conn:
            yield conn

    def send(document: dict[str, Any]) -> None:
        body, headers = signed(document)
        answer = app.test_client().post("/webhooks/lincolnshire/mosaic", data=body, headers=headers)
        statuses[document["id"]] = answer.status_code

    with patch.object(service.db, "transaction", counted):
        threads = [threading.Thread(target=send, args=(document,)) for document in events]
        with service.db._write_lock:
            for thread in threads:
                thread.start()
            # The first request leads and waits for the lock; every other one queues for the next commit.
            deadline = time.monotonic() + 10
            while len(inbox._queue) < len(events) - 1 and time.monotonic() < deadline:
                time.sleep(0.001)
        for thread in threads:
            thread.join()
    return statuses, transactions


def test_concurrent_webhooks_share_a_commit_and_every_202_is_in_the_inbox(tmp_path: Path) -> None:
    service = Service(make_config(tmp_path, "http://127.0.0.1:9/api"), today=lambda: date(2026, 12, 1))
    events = [_allocation(n) for n in range(16)]
    statuses, transactions = _post_together(service, events)
    assert statuses == {document["id"]: 202 for document in events}
    # The leader's own commit, then the fifteen that queued behind it in one transaction: two fsyncs, not 16.
    assert transactions == 2
    stored = {row["webhook_id"] for row in service.db.query("SELECT webhook_id FROM inbox")}
    assert stored == {document["id"] for document in events}
    service.close()


def test_an_event_the_store_refuses_does_not_fail_the_others_committed_with_it(tmp_path: Path) -> None:
    service = Service(make_config(tmp_path, "http://127.0.0.1:9/api"), today=lambda: date(2026, 12, 1))
    # A refusal by the database itself (as a full disk or a constraint would be), for one webhook only.
    if service.db.dialect == "sqlite":
        service.db.conn.execute(
            "CREATE TRIGGER refuse_one BEFORE INSERT ON inbox WHEN NEW.webhook_id = 'evt_7'"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    else:
        service.db.conn.execute(
            "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN IF NEW.webhook_id = 'evt_7' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$"
        )
        service.db.conn.execute(
            "CREATE TRIGGER refuse_one BEFORE INSERT ON inbox FOR EACH ROW EXECUTE FUNCTION refuse_one()"
        )
    events = [_allocation(n) for n in range(16)]
    statuses, _ = _post_together(service, events)
    assert statuses.pop("evt_7") == 500  # not accepted: its sender tries again later
    assert set(statuses.values()) == {202}
    stored = {row["webhook_id"] for row in service.db.query("SELECT webhook_id FROM inbox")}
    assert stored == set(statuses)
    assert service.db.scalar("SELECT COUNT(*) FROM event_subjects") == 15 * 3
    service.close()


def test_the_meter_counts_the_webhooks_waiting_for_their_commit(tmp_path: Path) -> None:
    service = Service(make_config(tmp_path, "http://127.0.0.1:9/api"), today=lambda: date(2026, 12, 1))
    events = [_allocation(n) for n in range(4)]
    seen: list[int] = []
    begin = service.db.transaction

    @contextmanager
    def looking() -> Iterator[sqlite3.Connection]:
        seen.append(service.meter.waiting())
        with begin() as conn:
            yield conn

    with patch.object(service.db, "transaction", looking):
        statuses, _ = _post_together(service, events)
    assert set(statuses.values()) == {202}
    # The group queued behind the leader's commit: its three senders were all still waiting when it began.
    assert len(seen) == 2 and seen[1] == 3
    assert service.meter.waiting() == 0
    service.close()
