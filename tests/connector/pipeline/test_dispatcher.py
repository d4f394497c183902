"""Delivery decisions: confirm, retry later with backoff (Retry-After honoured), park fatal and exhausted writes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests
from pytest_httpserver import HTTPServer
from tests.support.bad_servers import BadServer
from tests.support.fake_mosaic import FakeMosaic
from tests.support.harness import make_config
from tests.support.transport import InterceptedSession, Send

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
    # One try per round and no quick tries, so each round below is one delivery attempt.
    base = make_config(tmp_path, "http://127.0.0.1:9/api", max_attempts=1)
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


# --- several writes at once, in order per record, paced per tenant ---------------------------------------------


def obligation(person: int) -> Obligation:
    return replace(OBLIGATION, scope=str(person), case_id=str(person))


def queue(d: Dispatcher, people: range, tenant: str = "lincolnshire") -> None:
    with d.db.transaction() as conn:
        for person in people:
            Ledger(d.db, d.outbox).apply(
                conn, tenant, "mosaic", "linc", f"case:{person}", [obligation(person)], date(2026, 11, 2)
            )


@dataclass
class Recording:
    """A thread-safe writer that remembers the order of its calls; optionally waits until `together` calls
    are in flight at once (proving they overlap), and answers some references once with an error."""

    together: int = 1
    errors: dict[str, PlatformError] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.barrier = threading.Barrier(self.together, timeout=5) if self.together > 1 else None

    def sync_obligation(self, write: ObligationWrite) -> WriteResult:
        with self.lock:
            self.calls.append(write.reference)
            error = self.errors.pop(write.reference, None)  # once: the next try succeeds
        if self.barrier is not None:
            self.barrier.wait()
        if error is not None:
            raise error
        return WriteResult(str(880000 + int(write.case_id or 0)))

    def send_reminder(self, write: ReminderWrite) -> str:
        with self.lock:
            self.calls.append(write.reference)
        return "n1"

    def withdraw_reminder(self, platform_id: str) -> None:
        raise AssertionError("not used here")


def ref(person: int) -> str:
    return f"linc:case_supervision:{person}:5521:1"


def test_several_writes_are_in_flight_at_once_and_confirmed_in_one_transaction(
    dispatcher: tuple[Dispatcher, Clock],
) -> None:
    d, _ = dispatcher
    queue(d, range(200001, 200008))  # 7 more, 8 in all: as many as the workers
    writer = Recording(together=8)  # each call waits for the other seven: they must overlap
    use(d, writer)
    transactions = 0
    opened = d.db.transaction

    def counted() -> Any:
        nonlocal transactions
        transactions += 1
        return opened()

    d.db.transaction = counted  # type: ignore[method-assign]
    try:
        assert d.run_once() == 8
    finally:
        d.db.transaction = opened  # type: ignore[method-assign]
        d.close()
    # Eight confirmations, one commit, and one more: the round's claim of its rows (store/leases.py).
    assert transactions == 2
    assert d.outbox.count("pending") == 0 and len(writer.calls) == 8
    assert d.ledger.platform_ids("lincolnshire", "mosaic", ref(200001)) == ("1080001", None)


def test_a_reminder_waits_for_its_steps_pending_write_in_the_same_round(
    dispatcher: tuple[Dispatcher, Clock],
) -> None:
    d, _ = dispatcher
    use(d, Recording())
    d.run_once()  # the step exists on the platform
    with d.db.transaction() as conn:
        # The step moves, and a reminder for it is queued after the move: it must not go first.
        Ledger(d.db, d.outbox).apply(
            conn,
            "lincolnshire",
            "mosaic",
            "linc",
            "case:100234",
            [replace(OBLIGATION, due_date=date(2026, 12, 7))],
            date(2026, 11, 2),
        )
        conn.execute(
            "INSERT INTO reminders (tenant, platform, reference, obligation_reference, worker_id, show_on,"
            " escalation, created_at, due_date) VALUES ('lincolnshire', 'mosaic', 'linc:reminder:r1',"
            " ?, '5521', '2026-11-30', 0, '', '2026-12-07')",
            (ref(100234),),
        )
        d.outbox.put(
            conn,
            "lincolnshire",
            "mosaic",
            "linc:reminder:r1",
            "reminder",
            "send",
            {
                "worker_id": "5521",
                "platform_id": "980234",
                "case_id": "100234",
                "kind": "case_supervision",
                "show_on": "2026-11-30",
                "due_date": "2026-12-07",
                "message": "Case supervision due on 7 Dec 2026",
            },
        )
    queue(d, range(200001, 200003))  # other records go in the same round as the move
    writer = Recording()
    use(d, writer)

    assert d.run_once() == 3
    assert sorted(writer.calls) == sorted([ref(100234), ref(200001), ref(200002)])
    assert d.run_once() == 1 and writer.calls[-1] == "linc:reminder:r1"
    d.close()


def test_a_429_pauses_only_that_tenants_platform_and_halves_its_writes_in_flight(
    tmp_path: Path, config: Config
) -> None:
    from connector.store.database import Database

    other = replace(config.tenants["lincolnshire"], id="bracknell-forest")
    two = replace(
        config,
        tenants={**config.tenants, "bracknell-forest": other},
        delivery=replace(config.delivery, workers=1),
    )
    db = Database(two.database)
    db.migrate()
    clock = Clock()
    d = Dispatcher(db, two, clock=clock)
    queue(d, range(200001, 200006))
    queue(d, range(300001, 300006), tenant="bracknell-forest")
    limited = Recording(errors={ref(200001): RetryableError("429 from Mosaic", 429, retry_after=60)})
    fine = Recording()
    d._writers[("lincolnshire", "mosaic")] = limited
    d._writers[("bracknell-forest", "mosaic")] = fine

    assert d.run_once() == 6  # Lincolnshire's first write, then every one of Bracknell Forest's
    assert limited.calls == [ref(200001)]
    assert sorted(fine.calls) == [ref(p) for p in range(300001, 300006)]
    assert d.pacing.of("lincolnshire", "mosaic").limit == 1  # halved (from 1 worker: stays 1)
    assert d.run_once() == 0  # Lincolnshire's platform asked for 60 s
    clock.now += timedelta(seconds=60)
    assert d.run_once() == 5 and d.outbox.count("pending") == 0
    db.close()


def test_a_retryable_failure_waits_in_the_outbox_never_in_a_sleep(tmp_path: Path) -> None:
    from connector.store.database import Database

    base = make_config(tmp_path, "http://127.0.0.1:9/api", max_attempts=4, max_retry_wait_seconds=30)
    config = replace(base, delivery=DeliveryConfig(max_attempts=3, backoff_seconds=10))
    db = Database(config.database)
    db.migrate()
    clock = Clock()
    d = Dispatcher(db, config, clock=clock)
    queue(d, range(200001, 200002))
    sleeps: list[float] = []
    writer = d.writer("lincolnshire", "mosaic")
    writer.client.sleep = sleeps.append  # type: ignore[attr-defined]
    assert writer.client.max_attempts == 1  # type: ignore[attr-defined]

    # Nothing listens on port 9: each round is one try, and the next waits in the outbox.
    waits = []
    for _ in range(4):
        [row] = d.outbox.due(clock.now + timedelta(days=1))
        delivery = d.deliver(row)
        assert delivery.outcome == "retrying" and delivery.next_attempt_at is not None
        waits.append((delivery.next_attempt_at - clock.now).total_seconds())
    assert sleeps == []
    # Three quick tries (0.5 s doubling, as the client waited inside a call), then delivery's 10 s backoff.
    assert waits == [0.5, 1.0, 2.0, 10.0]
    db.close()


class LosesOneAnswer(InterceptedSession):
    """A session (one per delivery thread) that loses the answer to the first successful create of
    `reference`, after the platform made it; every session shares one record of it."""

    lost: ClassVar[set[str]] = set()
    lock: ClassVar[threading.Lock] = threading.Lock()
    reference = ref(200003)

    def intercept(self, request: requests.PreparedRequest, send: Send) -> requests.Response:
        response = send()
        body = json.loads(request.body or b"{}")
        if (
            request.method == "POST"
            and response.status_code == 201
            and body.get("external_reference") == self.reference
        ):
            with self.lock:
                first = self.reference not in self.lost
                self.lost.add(self.reference)
            if first:
                raise requests.Timeout("simulated: the answer was lost")
        return response


def test_nothing_is_lost_or_doubled_when_writes_fail_midway(tmp_path: Path, httpserver: HTTPServer) -> None:
    from connector.store.database import Database

    mosaic = FakeMosaic(httpserver).install()
    config = make_config(tmp_path, mosaic.base_url, max_attempts=1)  # backoff 0: every retry is due at once
    db = Database(config.database)
    db.migrate()
    d = Dispatcher(db, config, session_factory=LosesOneAnswer)
    queue(d, range(200001, 200007))
    mosaic.fail_next(503)  # and one create of the round is refused outright

    rounds = 0
    while d.outbox.count("pending") and rounds < 10:
        d.run_once()
        rounds += 1
    d.close()

    references = sorted(s["external_reference"] for s in mosaic.steps.values())
    assert references == [ref(p) for p in range(200001, 200007)]  # one step each: none lost, none doubled
    # Six creates, the refused one sent again; the lost one was looked up, found and adopted, not re-sent.
    assert mosaic.calls["POST /workflow-steps"] == 7 and mosaic.calls["GET /workflow-steps"] >= 1
    assert d.outbox.count("pending") == 0 and d.outbox.count("dead") == 0
    held = {s["external_reference"]: str(s["workflow_step_id"]) for s in mosaic.steps.values()}
    for person in range(200001, 200007):
        assert d.ledger.platform_ids("lincolnshire", "mosaic", ref(person))[0] == held[ref(person)]
    db.close()


# --- a platform that hangs or always fails holds up no one else ---------------------------------------------


def test_a_hung_platform_is_timed_out_and_its_write_ends_a_dead_letter_without_holding_up_others(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    from connector.store.database import Database

    mosaic = FakeMosaic(httpserver).install()
    base = make_config(tmp_path, mosaic.base_url, max_attempts=1)
    with BadServer("silent") as hung:
        lincs = base.tenants["lincolnshire"]
        hanging = replace(lincs.platforms["mosaic"], base_url=hung.base_url, timeout_seconds=0.2)
        config = replace(
            base,
            tenants={
                "lincolnshire": replace(lincs, platforms={"mosaic": hanging}),
                "bracknell-forest": replace(lincs, id="bracknell-forest"),
            },
            delivery=DeliveryConfig(max_attempts=3, backoff_seconds=0, backoff_max_seconds=0, workers=2),
        )
        db = Database(config.database)
        db.migrate()
        d = Dispatcher(db, config)
        queue(d, range(200001, 200002))
        queue(d, range(300001, 300004), tenant="bracknell-forest")

        d.run_once()
        # The other tenant's writes went through in the round the hung platform was timed out in.
        assert len(mosaic.steps) == 3
        rounds = 1
        while d.outbox.count("pending") and rounds < 10:
            d.run_once()
            rounds += 1
        d.close()

    [dead] = d.outbox.dead_letters()
    assert (dead.tenant, dead.reference, rounds) == ("lincolnshire", ref(200001), 3)
    # After the first try timed out, each later one first looks up whether that create was applied.
    assert (
        dead.last_error == "gave up after 3 attempts: Mosaic did not answer GET /workflow-steps within 0.2 s"
    )
    assert hung.accepted == 3
    db.close()


def test_a_poison_write_ends_a_dead_letter_while_writes_queued_after_it_go_through(
    dispatcher: tuple[Dispatcher, Clock],
) -> None:
    d, clock = dispatcher
    queue(d, range(200001, 200004))
    poison = ref(200001)

    class Poisoned(Recording):
        def sync_obligation(self, write: ObligationWrite) -> WriteResult:
            if write.reference == poison:
                with self.lock:
                    self.calls.append(write.reference)
                raise RetryableError("Mosaic answered 500 to POST /workflow-steps", 500)
            return super().sync_obligation(write)

    writer = Poisoned()
    use(d, writer)  # type: ignore[arg-type]
    for _ in range(3):
        d.run_once()
        clock.now += timedelta(seconds=15)

    assert writer.calls.count(poison) == 3
    assert d.outbox.count("pending") == 0
    [dead] = d.outbox.dead_letters()
    assert dead.reference == poison
    delivered = {
        r["reference"] for r in d.db.query("SELECT reference FROM audit WHERE outcome = 'confirmed'")
    }
    assert delivered == {ref(p) for p in range(200001, 200004)} - {poison} | {
        "linc:case_supervision:100234:5521:1"
    }


def test_a_writer_keyed_by_its_first_body_is_handed_that_body_after_the_write_changed(
    dispatcher: tuple[Dispatcher, Clock],
) -> None:
    d, clock = dispatcher

    class FirstBodyKeyed(ScriptedWriter):
        keys_first_body = True

    writer = FirstBodyKeyed([RetryableError("Childview did not answer", None), WriteResult("PR-1")])
    use(d, writer)
    d.run_once()  # the create goes unanswered
    moved = replace(OBLIGATION, due_date=date(2026, 12, 14))
    with d.db.transaction() as conn:
        d.ledger.apply(conn, "lincolnshire", "mosaic", "linc", "case:100234", [moved], date(2026, 11, 2))
    clock.now += timedelta(seconds=60)
    d.run_once()

    first, second = writer.calls
    assert first.first_sent is None and not first.unsure
    assert second.unsure and second.due_date == date(2026, 12, 14)
    assert second.first_sent is not None and second.first_sent.due_date == date(2026, 11, 30)
    assert d.outbox.count("pending") == 0


# --- several writes in flight, over kept-alive connections -------------------------------------------------


def test_writes_go_over_kept_alive_connections_one_per_delivery_thread(tmp_path: Path) -> None:
    """Each delivery thread keeps its connection open from one write to the next (and from one round to the
    next): a new connection per write would cost a handshake each, and a TLS one several round trips."""
    import waitress

    from adapters.mosaic.simulator import create_simulator_app
    from connector.store.database import Database

    ports: list[str] = []
    simulated = create_simulator_app("test-token")

    def noting_connections(environ: dict[str, Any], start_response: Any) -> Any:
        ports.append(str(environ.get("REMOTE_PORT")))
        return simulated(environ, start_response)

    server = waitress.create_server(noting_connections, host="127.0.0.1", port=0, threads=4)
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    try:
        base = make_config(tmp_path, f"http://127.0.0.1:{server.effective_port}/api", max_attempts=1)  # type: ignore[union-attr]
        config = replace(base, delivery=DeliveryConfig(workers=2))
        db = Database(config.database)
        db.migrate()
        d = Dispatcher(db, config)
        queue(d, range(200001, 200013))
        assert d.run_once(limit=6) + d.run_once(limit=6) == 12
        d.close()
        db.close()
    finally:
        server.close()
        serving.join(5)
    assert len(ports) == 12
    assert len(set(ports)) <= 2  # two delivery threads, each over its one kept-alive connection
