import json
from datetime import UTC, date, datetime

from connector.pipeline.inbox import Inbox
from connector.store.database import Database
from connector.store.event_codec import event_from_json, event_to_json
from rules.events import Action, CaseAllocated, Relationship, SupervisionRecorded

AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def allocated(event_id: str = "evt_1") -> CaseAllocated:
    return CaseAllocated(
        event_id, AT, "100234", "5521", "310", Relationship.ALLOCATED_WORKER, date(2026, 11, 2)
    )


def test_an_event_is_stored_once_per_webhook_id(db: Database) -> None:
    inbox = Inbox(db)
    assert inbox.accept("linc", "mosaic", "evt_1", allocated()) is True
    assert inbox.accept("linc", "mosaic", "evt_1", allocated()) is False
    assert db.scalar("SELECT COUNT(*) FROM inbox") == 1
    assert inbox.count("pending") == 1


def test_the_same_webhook_id_for_another_tenant_is_another_event(db: Database) -> None:
    inbox = Inbox(db)
    assert inbox.accept("linc", "mosaic", "evt_1", allocated())
    assert inbox.accept("bfc", "mosaic", "evt_1", allocated())


def test_events_are_found_by_every_subject_they_mention(db: Database) -> None:
    inbox = Inbox(db)
    inbox.accept("linc", "mosaic", "evt_1", allocated())
    assert inbox.events_about("linc", "mosaic", "case:100234") == [allocated()]
    assert inbox.events_about("linc", "mosaic", "worker:5521") == [allocated()]
    assert inbox.events_about("linc", "mosaic", "team:310") == [allocated()]
    assert inbox.events_about("other", "mosaic", "case:100234") == []
    assert inbox.subjects("linc", "mosaic", "case") == ["100234"]


def test_pending_then_processed(db: Database) -> None:
    inbox = Inbox(db)
    inbox.accept("linc", "mosaic", "evt_1", allocated())
    [item] = inbox.pending()
    assert item.event == allocated()
    with db.transaction() as conn:
        inbox.mark_processed(conn, [item.seq])
    assert inbox.pending() == []
    assert inbox.count("processed") == 1


def test_round_trip_keeps_every_field_and_no_free_text(db: Database) -> None:
    event = SupervisionRecorded(
        "evt_9",
        AT,
        kind="case",
        worker_id="5521",
        supervisor_id=None,
        team_id="310",
        case_ids_discussed=("100234", "100235"),
        held_on=date(2026, 11, 10),
        recorded_on=date(2026, 11, 11),
        significant=True,
        step_ref="880012",
        actions=(Action("5521", date(2026, 11, 20)), Action(None, None)),
    )
    assert event_from_json(json.loads(json.dumps(event_to_json(event)))) == event
    Inbox(db).accept("linc", "mosaic", "evt_9", event)
    stored = db.scalar("SELECT event FROM inbox")
    assert "text" not in json.loads(stored)["actions"][0]


def test_concurrent_accepts_are_committed_together_and_each_answered_rightly(db: Database) -> None:
    import threading

    inbox = Inbox(db)
    results: dict[tuple[int, int], bool] = {}
    lock = threading.Lock()

    def sender(n: int) -> None:
        for i in range(40):
            stored = inbox.accept("linc", "mosaic", f"evt_{i}", allocated(f"evt_{i}"))
            with lock:
                results[(n, i)] = stored

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Every id is stored exactly once, whichever sender got there first; the others were told "duplicate".
    assert db.scalar("SELECT COUNT(*) FROM inbox") == 40
    for i in range(40):
        assert sum(results[(n, i)] for n in range(8)) == 1
    assert db.scalar("SELECT COUNT(*) FROM event_subjects") == 40 * 3


def test_subjects_lists_each_subject_of_a_type_once_and_only_those_a_folded_event_names(db: Database) -> None:
    inbox = Inbox(db)
    inbox.accept("linc", "mosaic", "evt_1", allocated())
    inbox.accept("linc", "mosaic", "evt_2", allocated("evt_2"))
    other = CaseAllocated(
        "evt_3", AT, "100999", "5521", "310", Relationship.ALLOCATED_WORKER, date(2026, 11, 2)
    )
    inbox.accept("linc", "mosaic", "evt_3", other)
    [seq] = [i.seq for i in inbox.pending() if i.webhook_id == "evt_3"]
    assert sorted(inbox.subjects("linc", "mosaic", "case")) == ["100234", "100999"]
    assert inbox.subjects("linc", "mosaic", "worker") == ["5521"]
    assert inbox.subjects("linc", "mosaic", "team") == ["310"]
    inbox.mark_failed(seq, "ValueError: bad")  # a case named only by a failed event is not folded
    assert inbox.subjects("linc", "mosaic", "case") == ["100234"]
    assert inbox.subjects("linc", "mosaic", "cas") == []  # a type is a whole prefix, not the start of one
    assert inbox.subjects("other", "mosaic", "case") == []


def test_the_background_work_is_told_once_per_commit_that_stored_anything(db: Database) -> None:
    import threading
    import time

    inbox = Inbox(db)
    told: list[int] = []
    inbox.on_stored = lambda: told.append(db.scalar("SELECT COUNT(*) FROM inbox"))
    first_commit = threading.Event()
    real_write = inbox._write

    def write(batch: list[object]) -> None:
        if not first_commit.is_set():
            first_commit.wait(10)
        real_write(batch)  # type: ignore[arg-type]

    inbox._write = write  # type: ignore[method-assign]
    threads = [
        threading.Thread(target=inbox.accept, args=("linc", "mosaic", f"evt_{n}", allocated(f"evt_{n}")))
        for n in range(5)
    ]
    threads[0].start()
    deadline = time.monotonic() + 10
    while not inbox._committing and time.monotonic() < deadline:
        time.sleep(0.001)
    for t in threads[1:]:
        t.start()
    # The other four queue behind the first commit, and share the next one.
    while len(inbox._queue) < 4 and time.monotonic() < deadline:
        time.sleep(0.001)
    first_commit.set()
    for t in threads:
        t.join()
    assert told == [1, 5]
    # A commit of duplicates only stores nothing: nothing to wake for.
    assert inbox.accept("linc", "mosaic", "evt_0", allocated("evt_0")) is False
    assert told == [1, 5]
