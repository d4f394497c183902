"""Several instances on one PostgreSQL database: the same outcome as one, nothing processed or written twice."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pytest_httpserver import HTTPServer
from tests.support import harness
from tests.support.fake_mosaic import FakeMosaic
from tests.support.harness import Connector, event, make_config, start_connector

from connector.store.leases import LEASE_SECONDS, turn
from connector.store.url import DatabaseUrl


@pytest.fixture
def pg_url(postgres_server: Any) -> Iterator[DatabaseUrl]:
    url = postgres_server.fresh_database()
    harness.use_database(url)
    try:
        yield url
    finally:
        harness.use_database(None)


def workload() -> list[dict[str, Any]]:
    """Twelve children across four workers, each allocated then on a child protection plan."""
    events = []
    for n in range(12):
        person, worker = 100300 + n, 5600 + n % 4
        events.append(
            event(
                f"evt_alloc_{n}",
                "case.allocated",
                "2026-11-02T09:30:00Z",
                person_id=person,
                worker_id=worker,
                team_id=310,
                relationship="ALLWKR",
                start_date="2026-11-02",
            )
        )
        events.append(
            event(
                f"evt_cp_{n}",
                "case.status_changed",
                f"2026-11-03T10:{n:02d}:00Z",
                person_id=person,
                status="CP",
                start_date="2026-11-03",
            )
        )
    return events


def platform_state(mosaic: FakeMosaic) -> list[str]:
    """What the platform holds, without the ids it gave (those depend on the order writes arrived in)."""
    drop = {"workflow_step_id", "form_id", "notification_id"}
    return sorted(
        json.dumps({k: v for k, v in record.items() if k not in drop}, sort_keys=True)
        for table in (mosaic.steps, mosaic.forms, mosaic.notifications)
        for record in table.values()
    )


def settled(*connectors: Connector) -> bool:
    service = connectors[0].service
    return service.inbox.count("pending") == 0 and service.outbox.count("pending") == 0


def run_together(connectors: list[Connector]) -> None:
    """Each instance works in its own thread, as two processes would, until nothing is left for either."""
    errors: list[BaseException] = []

    def work(connector: Connector) -> None:
        try:
            for _ in range(500):
                connector.service.work_once()
                if settled(connector):
                    return
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in connectors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert settled(*connectors)


def test_two_instances_on_one_database_end_as_one_instance_on_sqlite(
    tmp_path: Path, httpserver: HTTPServer, pg_url: DatabaseUrl
) -> None:
    events = workload()
    # The reference: one instance on SQLite, each event delivered once, in order.
    harness.use_database(None)
    alone_mosaic = FakeMosaic(httpserver).install()
    alone = start_connector(make_config(tmp_path / "alone", alone_mosaic.base_url))
    for item in events:
        assert alone.post(item).status_code == 202
    alone.service.drain()
    alone.close()
    expected = platform_state(alone_mosaic)
    assert len(alone_mosaic.steps) >= 12

    # Two instances on one PostgreSQL database, each taking webhooks, with every event delivered twice
    # (once to each), working the same inbox and outbox at the same time.
    httpserver.clear()
    harness.use_database(pg_url)
    mosaic = FakeMosaic(httpserver).install()
    one = start_connector(make_config(tmp_path / "one", mosaic.base_url))
    two = start_connector(make_config(tmp_path / "two", mosaic.base_url))
    try:
        for item in events:
            assert one.post(item).status_code == 202
        for item in reversed(events):
            assert two.post(item).status_code == 200  # a duplicate: answered, stored once
        assert one.service.inbox.count("pending") == len(events)
        run_together([one, two])
    finally:
        one.close()
        two.close()
    assert platform_state(mosaic) == expected
    # Nothing written twice: every create reached the platform once (a second would have met a 409).
    assert mosaic.calls["POST /workflow-steps"] == alone_mosaic.calls["POST /workflow-steps"]
    assert mosaic.calls["POST /forms"] == alone_mosaic.calls["POST /forms"]


def test_a_row_one_instance_is_sending_is_not_given_to_another_until_its_lease_runs_out(
    tmp_path: Path, httpserver: HTTPServer, pg_url: DatabaseUrl
) -> None:
    mosaic = FakeMosaic(httpserver).install()
    one = start_connector(make_config(tmp_path / "one", mosaic.base_url))
    two = start_connector(make_config(tmp_path / "two", mosaic.base_url))
    try:
        for item in workload()[:2]:
            assert one.post(item).status_code == 202
        one.service.processor.run_until_idle()
        now = datetime.now(UTC) + timedelta(seconds=1)  # the rows are due from when they were queued
        claimed = one.service.outbox.due(now, limit=100)
        assert claimed
        # The first instance dies holding them (its connection goes; its lease stays in the row).
        one.service.db.close()
        assert two.service.outbox.due(now + timedelta(seconds=LEASE_SECONDS - 1), limit=100) == []
        later = two.service.outbox.due(now + timedelta(seconds=LEASE_SECONDS + 1), limit=100)
        assert sorted(r.id for r in later) == sorted(r.id for r in claimed)
    finally:
        one.close()
        two.close()


def test_events_are_processed_by_one_instance_at_a_time(
    tmp_path: Path, httpserver: HTTPServer, pg_url: DatabaseUrl
) -> None:
    mosaic = FakeMosaic(httpserver).install()
    one = start_connector(make_config(tmp_path / "one", mosaic.base_url))
    two = start_connector(make_config(tmp_path / "two", mosaic.base_url))
    try:
        assert one.post(workload()[0]).status_code == 202
        with turn(one.service.db, "processing") as mine:
            assert mine
            assert two.service.processor.run_once() == 0  # the other instance's turn: nothing taken
        assert two.service.processor.run_once() == 1
    finally:
        one.close()
        two.close()


def test_the_days_re_evaluation_runs_in_one_instance_only(
    tmp_path: Path, httpserver: HTTPServer, pg_url: DatabaseUrl
) -> None:
    mosaic = FakeMosaic(httpserver).install()
    one = start_connector(make_config(tmp_path / "one", mosaic.base_url))
    two = start_connector(make_config(tmp_path / "two", mosaic.base_url))
    today = datetime(2026, 12, 1).date()
    try:
        with turn(one.service.db, "daily") as mine:
            assert mine
            assert two.service.daily(today)[0] is False  # the other has the day's turn: this round is skipped
        assert one.service.daily(today)[0] is True
        assert two.service.daily(today)[0] is False  # done for the day, by whichever instance
    finally:
        one.close()
        two.close()


def test_a_process_that_dies_holding_a_turn_leaves_it_free(
    tmp_path: Path, httpserver: HTTPServer, pg_url: DatabaseUrl
) -> None:
    mosaic = FakeMosaic(httpserver).install()
    one = start_connector(make_config(tmp_path / "one", mosaic.base_url))
    two = start_connector(make_config(tmp_path / "two", mosaic.base_url))
    try:
        assert one.post(workload()[0]).status_code == 202
        held = turn(one.service.db, "processing")
        assert held.__enter__()
        # Its session ends, as a SIGKILLed process's does: the server ends it and says when it has gone.
        pid = one.service.db.scalar("SELECT pg_backend_pid()")
        assert two.service.db.scalar("SELECT pg_terminate_backend(?, 10000)", (pid,)) is True
        assert two.service.processor.run_once() == 1
        with suppress(psycopg.OperationalError):  # the dead session cannot say it lets go; nor need it
            held.__exit__(None, None, None)
    finally:
        one.close()
        two.close()
