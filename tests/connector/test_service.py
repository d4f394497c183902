"""The running connector's shared state: the last tick is in the database, so every process sees it."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from tests.support.fake_mosaic import FakeMosaic
from tests.support.harness import make_config, write_config_file

from connector.cli import main
from connector.pipeline.scheduler import TickCounts
from connector.service import LONDON, Service, next_daily_run
from connector.web.intake import IntakeMeter


def test_the_last_tick_is_seen_by_another_service_and_by_connector_status(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    mosaic = FakeMosaic(httpserver).install()
    config = make_config(tmp_path, mosaic.base_url)
    first = Service(config, today=lambda: date(2026, 12, 1))
    first.tick(date(2026, 12, 1))
    assert first.status()["last_tick"] == "2026-12-01"
    first.close()

    other = Service(config, today=lambda: date(2026, 12, 1))
    assert other.status()["last_tick"] == "2026-12-01"
    other.close()
    result = CliRunner().invoke(
        main,
        ["--log-level", "ERROR", "status", "--config", str(write_config_file(tmp_path, mosaic.base_url))],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["last_tick"] == "2026-12-01"


def test_a_restart_on_the_same_day_does_not_redo_the_days_reevaluation(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    mosaic = FakeMosaic(httpserver).install()
    config = make_config(tmp_path, mosaic.base_url)
    first = Service(config, today=lambda: date(2026, 12, 1))
    assert first.daily(date(2026, 12, 1))[0] is True
    first.close()
    restarted = Service(config, today=lambda: date(2026, 12, 1))
    assert restarted.daily(date(2026, 12, 1))[0] is False
    assert restarted.daily(date(2026, 12, 2))[0] is True  # a new day re-evaluates again
    restarted.close()


def test_the_daily_run_checkpoints_outside_the_write_lock_and_then_leaves_it_to_sqlite_again(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite checkpoints inside COMMIT, inside the write lock: at 50k cases a slice's checkpoint kept a webhook
    # waiting 300 ms. During the day's re-evaluation, tick and retention this connection's commits must not.
    from connector.pipeline import retention, scheduler
    from connector.pipeline.processor import Processor

    mosaic = FakeMosaic(httpserver).install()
    service = Service(make_config(tmp_path, mosaic.base_url), today=lambda: date(2026, 12, 1))
    seen: dict[str, int] = {}

    def watching(name: str, real: object) -> object:
        def call(*args: object, **kwargs: object) -> object:
            seen[name] = service.db.scalar("PRAGMA wal_autocheckpoint")
            return real(*args, **kwargs)  # type: ignore[operator]

        return call

    monkeypatch.setattr(Processor, "reevaluate_all", watching("reevaluate", Processor.reevaluate_all))
    monkeypatch.setattr(scheduler.Scheduler, "tick", watching("tick", scheduler.Scheduler.tick))
    monkeypatch.setattr("connector.service.apply_retention", watching("retention", retention.apply_retention))
    service.daily(date(2026, 12, 1))
    assert seen == {"reevaluate": 0, "tick": 0, "retention": 0}
    assert service.db.scalar("PRAGMA wal_autocheckpoint") == 1000
    service.close()


def test_the_days_reevaluation_takes_only_the_subjects_due_and_a_rule_change_takes_all(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from connector.pipeline import processor
    from rules.events import CaseAllocated, Relationship

    mosaic = FakeMosaic(httpserver).install()
    config = make_config(tmp_path, mosaic.base_url)
    day = [date(2026, 12, 1)]
    service = Service(config, today=lambda: day[0])
    at = datetime(2026, 11, 30, 9, tzinfo=UTC)
    service.inbox.accept(
        "lincolnshire",
        "mosaic",
        "a1",
        CaseAllocated("a1", at, "100234", "5521", "310", Relationship.ALLOCATED_WORKER, at.date()),
    )
    service.drain()  # the case is evaluated as its event arrives: nothing the day alone can change
    # The first daily run evaluates the subjects never evaluated yet (the team the allocation names).
    assert service.daily(day[0])[0] is True
    day[0] = date(2026, 12, 2)
    evaluated: list[str] = []
    real = processor.Evaluator.obligations

    def counted(self: processor.Evaluator, facts: object, owner: str, today: date) -> object:
        evaluated.append(owner)
        return real(self, facts, owner, today)  # type: ignore[arg-type]

    monkeypatch.setattr(processor.Evaluator, "obligations", counted)
    assert service.daily(day[0])[0] is True
    assert evaluated == []
    service.reevaluate_everything()  # as a rule or config change does
    assert "case:100234" in evaluated
    service.close()


def test_the_daily_run_is_at_tick_at_london_time_whatever_the_season() -> None:
    six = time(6, 0)
    # Winter: London is UTC.
    assert next_daily_run(datetime(2026, 11, 30, 10, 0, tzinfo=UTC), six) == datetime(
        2026, 12, 1, 6, 0, tzinfo=UTC
    )
    assert next_daily_run(datetime(2026, 11, 30, 5, 59, tzinfo=UTC), six) == datetime(
        2026, 11, 30, 6, 0, tzinfo=UTC
    )
    # Summer: 06:00 BST is 05:00 UTC; and across the clocks going back on 25 Oct 2026.
    assert next_daily_run(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), six) == datetime(
        2026, 7, 2, 5, 0, tzinfo=UTC
    )
    assert next_daily_run(datetime(2026, 10, 24, 12, 0, tzinfo=UTC), six) == datetime(
        2026, 10, 25, 6, 0, tzinfo=UTC
    )
    # 01:30 does not exist on 28 Mar 2027 (clocks go 01:00 -> 02:00): it runs at 02:30 BST, 01:30 UTC.
    assert next_daily_run(datetime(2027, 3, 27, 12, 0, tzinfo=UTC), time(1, 30)) == datetime(
        2027, 3, 28, 1, 30, tzinfo=UTC
    )


class _Stopper:
    """Stands in for the service's stop event: waiting moves the fake clock on instead of sleeping."""

    def __init__(self, now: list[datetime], runs: list[tuple[datetime, date]], stop_after: int) -> None:
        self.now, self.runs, self.stop_after = now, runs, stop_after
        self.waits: list[float] = []

    def is_set(self) -> bool:
        return len(self.runs) >= self.stop_after

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now[0] += timedelta(seconds=seconds)
        return False

    def set(self) -> None:
        pass


def test_serve_runs_the_days_work_at_start_then_daily_at_tick_at(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    mosaic = FakeMosaic(httpserver).install()
    config = make_config(tmp_path, mosaic.base_url)
    config = replace(config, service=replace(config.service, tick_at=time(6, 30), tick_interval_seconds=3600))
    now = [datetime(2026, 11, 30, 14, 0, tzinfo=UTC)]
    runs: list[tuple[datetime, date]] = []
    service = Service(config, today=lambda: now[0].astimezone(LONDON).date(), clock=lambda: now[0])
    stopper = _Stopper(now, runs, stop_after=3)
    monkeypatch.setattr(service, "stopping", stopper)
    monkeypatch.setattr(service, "daily", lambda today: runs.append((now[0], today)) or (True, TickCounts()))
    try:
        service._tick_loop()
    finally:
        service.close()
    assert runs == [
        (datetime(2026, 11, 30, 14, 0, tzinfo=UTC), date(2026, 11, 30)),  # at start
        (datetime(2026, 12, 1, 6, 30, tzinfo=UTC), date(2026, 12, 1)),
        (datetime(2026, 12, 2, 6, 30, tzinfo=UTC), date(2026, 12, 2)),
    ]
    assert max(stopper.waits) <= 3600  # woken within the interval, so a jumped clock is noticed


def test_tick_twice_for_one_day_from_the_command_line_writes_nothing_new(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    mosaic = FakeMosaic(httpserver).install()
    config_path = str(write_config_file(tmp_path, mosaic.base_url))
    service = Service(make_config(tmp_path, mosaic.base_url))
    service.close()
    args = ["--log-level", "ERROR", "tick", "--config", config_path, "--now", "2026-11-30"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    calls = sum(mosaic.calls.values())
    second = CliRunner().invoke(main, args)
    assert second.exit_code == 0, second.output
    assert second.output.startswith("tick 2026-11-30: 0 reminder(s), 0 newly overdue, 0 escalation(s)")
    assert sum(mosaic.calls.values()) == calls


def _accept_allocations(service: Service, count: int) -> None:
    from rules.events import CaseAllocated, Relationship

    for n in range(count):
        service.inbox.accept(
            "lincolnshire",
            "mosaic",
            f"evt_{n}",
            CaseAllocated(
                f"evt_{n}",
                datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
                str(300_000 + n),
                str(5521 + n % 7),
                "310",
                Relationship.ALLOCATED_WORKER,
                date(2026, 11, 2),
            ),
        )


def test_a_backlog_is_processed_in_batches_of_batch_size_and_in_small_steps_during_a_burst(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path, "http://127.0.0.1:9/api")
    config = replace(config, service=replace(config.service, batch_size=60, burst_rate=50))
    service = Service(config, today=lambda: date(2026, 12, 1))
    now = [100.5]
    service.meter = IntakeMeter(lambda: now[0])
    _accept_allocations(service, 100)
    for _ in range(100):
        service.meter.record()
    # 100 accepted within the last second: a burst, so one step takes a small bite.
    assert service.in_burst()
    assert service.process_step() == 25
    now[0] = 200.0  # the burst is over
    assert service.process_step() == 60
    assert service.process_step() == 15
    assert service.inbox.count("pending") == 0
    assert service.outbox.count("pending") == 100
    assert service.deliver_step() == 60  # one round: its confirmations in one commit (no platform here)
    service.close()


def test_senders_kept_waiting_for_their_commit_make_a_burst_whatever_the_rate(tmp_path: Path) -> None:
    service = Service(make_config(tmp_path, "http://127.0.0.1:9/api"), today=lambda: date(2026, 12, 1))
    now = [0.0]
    service.meter = IntakeMeter(lambda: now[0])
    assert not service.in_burst()
    for _ in range(8):
        service.meter.begin_wait()
    now[0] = 0.02
    assert not service.in_burst()  # a moment's crowd behind one slow fsync is ordinary traffic
    now[0] = 1.0
    assert service.in_burst()  # eight kept waiting for a second: senders are queuing
    for _ in range(8):
        service.meter.end_wait()
    now[0] = 2.0
    assert not service.in_burst()
    service.close()


def test_a_worker_process_sees_a_burst_of_webhooks_another_process_accepts(tmp_path: Path) -> None:
    config = make_config(tmp_path, "http://127.0.0.1:9/api")
    config = replace(config, service=replace(config.service, burst_rate=20))
    serving = Service(config, today=lambda: date(2026, 12, 1))
    working = Service(config, today=lambda: date(2026, 12, 1))  # as `connector work`: answers no webhook
    now = [10.0]
    working.arrivals.clock = lambda: now[0]
    assert not working.in_burst()
    _accept_allocations(serving, 10)
    now[0] = 10.4
    assert working.in_burst()  # 25 a second
    now[0] = 12.0
    working.in_burst()
    now[0] = 12.5
    assert not working.in_burst()  # the burst is over
    serving.close()
    working.close()
