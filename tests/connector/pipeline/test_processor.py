"""Processing isolates failures: a poison event is set aside, left out of later folds, listed, retried or discarded;
one subject that cannot be evaluated never stops the others, the daily tick or a re-evaluation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from tests.connector.pipeline.one_case import ALLOCATED, CP_PLAN, running_with
from tests.support.fake_mosaic import FakeMosaic
from tests.support.harness import Connector, event, make_config, start_connector, write_config_file

from connector.cli import main
from rules.events import SupervisionRecorded

OTHER_CASE = event(
    "evt_b",
    "case.allocated",
    "2026-11-02T09:40:00Z",
    person_id=100999,
    worker_id=6001,
    team_id=320,
    relationship="ALLWKR",
    start_date="2026-11-02",
)
LATER_ALLOCATION = event(
    "evt_c",
    "case.allocated",
    "2026-11-05T09:30:00Z",
    person_id=100235,
    worker_id=5521,
    team_id=310,
    relationship="ALLWKR",
    start_date="2026-11-05",
)


def poison(event_id: str = "evt_poison") -> SupervisionRecorded:
    # A date at the limits of the calendar: the engine's date arithmetic overflows on it. The webhook edge will
    # refuse such dates; it is put straight into the inbox so processing is tested on its own.
    return SupervisionRecorded(
        event_id,
        datetime(2026, 11, 3, 9, 0, tzinfo=UTC),
        kind="case",
        worker_id="5521",
        supervisor_id="5500",
        team_id="310",
        case_ids_discussed=("100234",),
        held_on=date(9999, 12, 30),
        recorded_on=date(2026, 11, 3),
        significant=False,
    )


def run(args: list[str]) -> Result:
    # Quiet logs: the fake Mosaic's request log would otherwise share stderr with the command's one line.
    return CliRunner().invoke(main, ["--log-level", "ERROR", *args])


@pytest.fixture
def connector(tmp_path: Path, mosaic: FakeMosaic) -> Iterator[Connector]:
    # The child allocated with no worker.updated heard of: only its case supervision is in play.
    yield from running_with(tmp_path, mosaic.base_url, ALLOCATED)


def put_poison(connector: Connector) -> int:
    assert connector.service.inbox.accept("lincolnshire", "mosaic", "evt_poison", poison())
    return int(connector.service.db.scalar("SELECT seq FROM inbox WHERE webhook_id = 'evt_poison'"))


def state(connector: Connector, seq: int) -> str:
    return str(connector.service.db.scalar("SELECT state FROM inbox WHERE seq = ?", (seq,)))


def test_a_poison_event_is_set_aside_and_later_events_of_the_same_worker_are_processed(
    connector: Connector, mosaic: FakeMosaic
) -> None:
    seq = put_poison(connector)
    connector.service.drain()
    assert state(connector, seq) == "failed"
    assert connector.post(LATER_ALLOCATION).status_code == 202
    assert connector.post(OTHER_CASE).status_code == 202
    assert connector.post(CP_PLAN).status_code == 202  # the poisoned case itself
    connector.service.drain()
    assert connector.service.inbox.count("failed") == 1
    assert connector.service.inbox.count("pending") == 0
    refs = sorted(s["external_reference"] for s in mosaic.open_steps())
    assert "linc:case_supervision:100235:5521:1" in refs  # same worker, after the poison
    assert "linc:case_supervision:100999:6001:1" in refs  # another subject
    cp_state = connector.service.db.scalar("SELECT state FROM inbox WHERE webhook_id = 'evt_cp'")
    assert cp_state == "processed"  # a later event of the poisoned case itself


def test_a_good_event_in_the_same_batch_as_a_poison_one_is_still_processed(
    connector: Connector, mosaic: FakeMosaic
) -> None:
    # The good event comes first in the batch and folds the same worker as the still-pending poison.
    assert connector.post(LATER_ALLOCATION).status_code == 202
    seq = put_poison(connector)
    connector.service.drain()
    assert state(connector, seq) == "failed"
    good = connector.service.db.scalar("SELECT state FROM inbox WHERE webhook_id = 'evt_c'")
    assert good == "processed"
    assert "linc:case_supervision:100235:5521:1" in [s["external_reference"] for s in mosaic.open_steps()]


def test_tick_and_reevaluation_complete_despite_a_subject_that_cannot_be_evaluated(
    connector: Connector, mosaic: FakeMosaic
) -> None:
    seq = put_poison(connector)
    connector.service.drain()
    # As an event in the fold again (as if retried, its subjects' kept state rebuilt from their events), the
    # poison breaks worker 5521's subjects only.
    connector.service.db.conn.execute("UPDATE inbox SET state = 'processed' WHERE seq = ?", (seq,))
    connector.service.db.conn.execute("DELETE FROM subject_folds")
    connector.service.processor.folds.clear()
    assert connector.post(OTHER_CASE).status_code == 202
    connector.service.drain()
    connector.service.processor.reevaluate_all("lincolnshire", "mosaic")
    assert "case:100234" in connector.service.processor.failed_owners
    assert "case:100999" not in connector.service.processor.failed_owners
    assert connector.service.status()["subject_failures"] >= 1
    # The failed subject's step is not withdrawn as if nothing were owed.
    assert "linc:case_supervision:100234:5521:1" in [s["external_reference"] for s in mosaic.open_steps()]
    counts = connector.service.tick(date(2026, 11, 25))
    connector.service.drain()
    assert counts.reminders >= 2  # both cases' steps are within a week of their due dates


def test_the_cli_lists_retries_and_discards_a_failed_event(
    tmp_path: Path, connector: Connector, mosaic: FakeMosaic
) -> None:
    seq = put_poison(connector)
    connector.service.drain()
    config = str(write_config_file(tmp_path, mosaic.base_url))

    listed = run(["failed-events", "--config", config, "--json"])
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.output)
    assert row["seq"] == seq and row["webhook_id"] == "evt_poison" and row["tenant"] == "lincolnshire"
    assert row["event_type"] == "supervision.recorded" and row["occurred_at"].startswith("2026-11-03")
    assert "OverflowError" in row["reason"] and row["failed_at"]
    table = run(["failed-events", "--config", config])
    assert "evt_poison" in table.output and "OverflowError" in table.output

    retried = run(["retry-event", "--config", config, str(seq)])
    assert retried.exit_code == 2
    # The last stderr line is the one error line; the processor's own log of the failure comes before it.
    error = retried.stderr.splitlines()[-1]
    assert error.startswith(f"connector: error: event {seq} failed again: OverflowError")
    assert state(connector, seq) == "failed"

    discarded = run(["discard-event", "--config", config, str(seq)])
    assert discarded.exit_code == 0, discarded.output
    assert state(connector, seq) == "discarded"
    assert run(["failed-events", "--config", config]).output.strip() == "No failed events."
    assert connector.service.inbox.events_about("lincolnshire", "mosaic", "worker:5521") != []
    assert all(
        e.event_id != "evt_poison"
        for e in connector.service.inbox.events_about("lincolnshire", "mosaic", "worker:5521")
    )
    again = run(["discard-event", "--config", config, str(seq)])
    assert again.exit_code == 2 and "no failed event with seq" in again.output


def test_a_retried_event_that_now_succeeds_is_processed(
    tmp_path: Path, connector: Connector, mosaic: FakeMosaic
) -> None:
    # An event that failed for a reason since fixed (here: marked failed by hand) is processed on retry.
    assert connector.post(LATER_ALLOCATION).status_code == 202
    seq = int(connector.service.db.scalar("SELECT seq FROM inbox WHERE webhook_id = 'evt_c'"))
    connector.service.inbox.mark_failed(seq, "RuntimeError: cause since fixed")
    config = str(write_config_file(tmp_path, mosaic.base_url))
    result = run(["retry-event", "--config", config, str(seq)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"event {seq} processed"  # log lines, if any, go to stderr
    assert "linc:case_supervision:100235:5521:1" in [s["external_reference"] for s in mosaic.open_steps()]


def test_one_obligation_the_tick_cannot_handle_does_not_stop_the_others(
    connector: Connector, mosaic: FakeMosaic
) -> None:
    assert connector.post(OTHER_CASE).status_code == 202
    connector.service.drain()
    # A due date at the start of the calendar: its reminder date (a week before) cannot be computed.
    connector.service.db.conn.execute(
        "UPDATE obligations SET due_date = '0001-01-01' WHERE reference = 'linc:case_supervision:100234:5521:1'"
    )
    counts = connector.service.tick(date(2026, 11, 25))
    connector.service.drain()
    assert counts.reminders == 1
    [note] = mosaic.notifications.values()
    assert note["worker_id"] == 6001
    [failure] = connector.service.db.query("SELECT stage, subject, reason FROM failures")
    assert tuple(failure) == ("tick", "linc:case_supervision:100234:5521:1", failure["reason"])
    assert "OverflowError" in failure["reason"]


def test_two_threads_never_process_at_once(tmp_path: Path, mosaic: FakeMosaic) -> None:
    # Found by bench/chaos.py: at every start the daily run processes what is pending on the ticker thread
    # while the work loop does the same; both folded one case from the events each had read, and the later
    # commit kept a fold without the other's events (a session lost: a due date counted from the transfer).
    import threading

    running = start_connector(make_config(tmp_path, mosaic.base_url))
    try:
        for item in (ALLOCATED, CP_PLAN):
            assert running.post(item).status_code == 202
        processor = running.service.processor
        inside, second_done = threading.Event(), threading.Event()
        evaluate = processor._desired

        def slow_first(*args: object, **kwargs: object) -> object:
            if not inside.is_set():
                inside.set()
                second_done.wait(timeout=0.5)  # a second processor, if allowed, runs meanwhile
            return evaluate(*args, **kwargs)  # type: ignore[arg-type]

        processor._desired = slow_first  # type: ignore[method-assign]
        first = threading.Thread(target=processor.run_once)
        first.start()
        assert inside.wait(timeout=10)
        second = processor.run_once()
        second_done.set()
        first.join()

        assert second == 0  # it waited for the first, then found nothing pending
        assert running.service.status()["inbox_pending"] == 0
    finally:
        running.close()


def test_a_reevaluation_writes_its_diffs_a_part_at_a_time_and_works_out_met_checks_and_texts_before_the_lock(
    connector: Connector, mosaic: FakeMosaic, monkeypatch: pytest.MonkeyPatch
) -> None:
    from connector.pipeline import reevaluation
    from connector.pipeline.evaluator import Evaluator
    from rules.explain import PackWording

    assert connector.post(OTHER_CASE).status_code == 202
    connector.service.drain()
    before = connector.service.db.query("SELECT reference, due_date, status FROM obligations ORDER BY 1")
    db = connector.service.db
    # As a database from before the digests: every owner is diffed in full.
    with db.transaction() as conn:
        conn.execute("UPDATE reevaluate_on SET digest = NULL")
    monkeypatch.setattr(reevaluation, "WRITE_PART", 1)
    transactions: list[int] = []
    real_transaction = db.transaction

    def counting() -> object:
        transactions.append(1)
        return real_transaction()

    locked: list[bool] = []
    real_checks = Evaluator.met_checks

    def checks(self: Evaluator, facts: object, owner: str) -> object:
        locked.append(db.conn.in_transaction)
        return real_checks(self, facts, owner)  # type: ignore[arg-type]

    written: list[bool] = []
    real_explanation = PackWording.explanation

    def explanation(self: PackWording, obligation: object) -> str:
        written.append(db.conn.in_transaction)
        return real_explanation(self, obligation)  # type: ignore[arg-type]

    monkeypatch.setattr(db, "transaction", counting)
    monkeypatch.setattr(Evaluator, "met_checks", checks)
    monkeypatch.setattr(PackWording, "explanation", explanation)
    owners = len(connector.service.inbox.subjects("lincolnshire", "mosaic", "case"))
    owners += len(connector.service.inbox.subjects("lincolnshire", "mosaic", "worker"))
    owners += len(connector.service.inbox.subjects("lincolnshire", "mosaic", "team"))
    connector.service.processor.reevaluate_all("lincolnshire", "mosaic")
    assert len(transactions) == owners  # one owner's diff each (the slice holds them all)
    assert len(locked) == owners and not any(locked)
    assert written and not any(written)
    assert db.query("SELECT reference, due_date, status FROM obligations ORDER BY 1") == before
    # Now every owner's digest is stored: the same re-evaluation again has nothing to write, so it takes no lock.
    transactions.clear()
    connector.service.processor.reevaluate_all("lincolnshire", "mosaic")
    assert transactions == []


def test_the_engine_keeps_no_workers_facts_after_a_batch_or_a_reevaluation_slice(
    tmp_path: Path, mosaic: FakeMosaic, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its answers per worker serve only the facts they were asked with (one batch's, one slice's); kept, they
    # held every worker's facts, and through them every session, of 1 April's re-evaluation: over 1 GB at 500k.
    from connector.pipeline.evaluator import Evaluator

    worker = event(
        "evt_w",
        "worker.updated",
        "2026-11-01T08:00:00Z",
        worker_id=5521,
        team_id=310,
        supervisor_id=5500,
        job_role="SOCIAL_WORKER",
        case_holding=True,
        supervises_case_holders=False,
        frontline=True,
        asye=False,
        employment="permanent",
        start_date="2021-09-01",
    )
    running = start_connector(make_config(tmp_path, mosaic.base_url))
    try:
        engine = running.service.processor.evaluators["lincolnshire"].engine
        remembered: list[int] = []
        real = Evaluator.obligations

        def watching(self: Evaluator, *args: object) -> object:
            found = real(self, *args)  # type: ignore[arg-type]
            remembered.append(len(self.engine.personal))
            return found

        monkeypatch.setattr(Evaluator, "obligations", watching)
        for sent in (worker, ALLOCATED, LATER_ALLOCATION):
            assert running.post(sent).status_code == 202
        running.service.drain()
        assert max(remembered) >= 1  # the worker's answer was kept while the batch was evaluated
        assert engine.personal == {}
        before = running.service.db.query("SELECT reference, due_date FROM obligations ORDER BY 1")
        remembered.clear()
        running.service.reevaluate_everything()
        assert max(remembered) >= 1
        assert engine.personal == {}
        assert running.service.db.query("SELECT reference, due_date FROM obligations ORDER BY 1") == before
    finally:
        running.close()
