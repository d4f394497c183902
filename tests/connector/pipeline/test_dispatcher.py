"""Delivery decisions: confirm, retry later with backoff (Retry-After honoured), park fatal and exhausted writes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from tests.support.harness import make_config

from adapters.base import (
    FatalError,
    ObligationWrite,
    PlatformError,
    ReminderWrite,
    RetryableError,
    WriteResult,
)
from connector.config import Config, DeliveryConfig
from connector.pipeline.dispatcher import Dispatcher
from connector.pipeline.ledger import Ledger
from connector.pipeline.outbox import Outbox
from rules.model import Basis, Obligation, Reason, Written

OBLIGATION = Obligation(
    kind="case_supervision",
    scope="100234",
    holder="5521",
    cycle=1,
    assignee_id="5521",
    case_id="100234",
    team_id="310",
    due_date=date(2026, 11, 30),
    reasons=(Reason("LINC-CS-ALLOC", "5.1.1", "discuss within four weeks"),),
    counted_from=Basis("allocation", date(2026, 11, 2)),
    wording=Written("Case supervision for person 100234 is due by 30 Nov 2026."),
)


@dataclass
class ScriptedWriter:
    """Answers each call with the next scripted outcome and records what it was asked."""

    outcomes: list[WriteResult | PlatformError]
    calls: list[ObligationWrite] = field(default_factory=list)

    def sync_obligation(self, write: ObligationWrite) -> WriteResult:
        self.calls.append(write)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, PlatformError):
            raise outcome
        return outcome

    def send_reminder(self, write: ReminderWrite) -> str:
        raise AssertionError("not used here")


@dataclass
class Clock:
    # Rows are queued at the wall-clock time; the dispatcher's own clock is a value these tests move.
    now: datetime = field(default_factory=lambda: datetime.now(UTC) + timedelta(minutes=1))

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def config(tmp_path: Path) -> Config:
    base = make_config(tmp_path, "http://127.0.0.1:9/api")
    return Config(
        database=base.database,
        tenants=base.tenants,
        delivery=DeliveryConfig(max_attempts=3, backoff_seconds=10, backoff_max_seconds=15),
    )


@pytest.fixture
def dispatcher(config: Config) -> Iterator[tuple[Dispatcher, Clock]]:
    from connector.store.database import Database

    db = Database(config.database)
    db.migrate()
    clock = Clock()
    with db.transaction() as conn:
        Ledger(db, Outbox(db)).apply(
            conn, "lincolnshire", "mosaic", "linc", "case:100234", [OBLIGATION], date(2026, 11, 2)
        )
    yield Dispatcher(db, config, clock=clock), clock
    db.close()


def use(dispatcher: Dispatcher, writer: ScriptedWriter) -> None:
    dispatcher._writers[("lincolnshire", "mosaic")] = writer


def test_a_confirmed_write_records_the_platform_ids_and_leaves_the_outbox(
    dispatcher: tuple[Dispatcher, Clock],
) -> None:
    d, _ = dispatcher
    writer = ScriptedWriter([WriteResult("880012", "770001")])
    use(d, writer)
    assert d.run_once() == 1
    assert writer.calls[0].reference == "linc:case_supervision:100234:5521:1"
    assert writer.calls[0].platform_id is None
    assert d.outbox.count("pending") == 0
    assert d.ledger.platform_ids("lincolnshire", "mosaic", writer.calls[0].reference) == ("880012", "770001")


def test_retryable_errors_wait_with_backoff_then_become_a_dead_letter(
    dispatcher: tuple[Dispatcher, Clock],
) -> None:
    d, clock = dispatcher
    writer = ScriptedWriter([RetryableError("503 from Mosaic", 503)] * 3)
    use(d, writer)
    assert d.run_once() == 1
    assert d.run_once() == 0  # waiting 10 s
    clock.now += timedelta(seconds=10)
    assert d.run_once() == 1
    clock.now += timedelta(seconds=10)
    assert d.run_once() == 0  # second wait is 20 s, capped at 15
    clock.now += timedelta(seconds=5)
    assert d.run_once() == 1
    assert len(writer.calls) == 3
    [dead] = d.outbox.dead_letters()
    assert "gave up after 3 attempts" in str(dead.last_error) and "503" in str(dead.last_error)


def test_retry_after_longer_than_the_backoff_is_honoured(dispatcher: tuple[Dispatcher, Clock]) -> None:
    d, clock = dispatcher
    writer = ScriptedWriter([RetryableError("429 from Mosaic", 429, retry_after=120), WriteResult("880012")])
    use(d, writer)
    d.run_once()
    clock.now += timedelta(seconds=119)
    assert d.run_once() == 0
    clock.now += timedelta(seconds=1)
    assert d.run_once() == 1
    assert d.outbox.count("pending") == 0


def test_a_fatal_error_is_parked_at_once_and_can_be_retried(dispatcher: tuple[Dispatcher, Clock]) -> None:
    d, _clock = dispatcher
    writer = ScriptedWriter(
        [FatalError("422 from Mosaic: assignee_id 5521 does not exist", 422), WriteResult("1")]
    )
    use(d, writer)
    d.run_once()
    [dead] = d.outbox.dead_letters()
    assert dead.last_error == "422 from Mosaic: assignee_id 5521 does not exist"
    assert d.run_once() == 0
    assert d.outbox.retry(dead.id)
    assert d.run_once() == 1
    assert d.outbox.dead_letters() == [] and d.outbox.count("pending") == 0
    outcomes = [r["outcome"] for r in d.db.query("SELECT outcome FROM audit ORDER BY id")]
    assert outcomes == ["dead_letter", "confirmed"]


def test_a_write_closed_on_the_platform_stops_being_tracked(dispatcher: tuple[Dispatcher, Clock]) -> None:
    d, _ = dispatcher
    use(d, ScriptedWriter([WriteResult("880012", closed_on_platform=True)]))
    d.run_once()
    assert d.db.scalar("SELECT status FROM obligations") == "closed"
