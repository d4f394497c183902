"""Every adapter in the registry keeps the interface the connector relies on."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date
from typing import Any

import pytest
import requests
from flask import Flask
from tests.support.transport import InterceptedSession, Send
from werkzeug.serving import make_server

from adapters.base import (
    EventValidationError,
    FatalError,
    ObligationWrite,
    PlatformWriter,
    ReminderWrite,
    RetryableError,
    SettingsError,
    WriteResult,
)
from adapters.registry import ADAPTERS, UnknownPlatformError, get_adapter

# A valid settings table per platform; a new adapter must add its own.
SAMPLE_SETTINGS = {
    "mosaic": {
        "base_url": "http://127.0.0.1:9/api",
        "api_token": "conformance-token",
        "webhook_secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        "step_types": {"case_supervision": 1},
    },
    "childview": {
        "base_url": "http://127.0.0.1:9/api",
        "api_key": "k",
        "webhook_secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    },
}


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_the_adapter_is_registered_under_its_own_name(name: str) -> None:
    assert get_adapter(name).name == name


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_an_unknown_event_type_is_a_validation_error_naming_type(name: str) -> None:
    with pytest.raises(EventValidationError) as caught:
        get_adapter(name).parse_event(
            {"id": "e1", "type": "no.such", "occurred_at": "2026-11-02T09:30:00Z", "data": {}}
        )
    assert "type" in caught.value.errors


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_empty_settings_are_refused_field_by_field(name: str) -> None:
    with pytest.raises(SettingsError) as caught:
        get_adapter(name).parse_settings({}, environ={})
    assert caught.value.errors and all(isinstance(v, list) and v for v in caught.value.errors.values())


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_the_writer_offers_what_the_dispatcher_calls(name: str) -> None:
    adapter = get_adapter(name)
    assert name in SAMPLE_SETTINGS, f"add a sample [tenants.{name}] table for the {name} adapter"
    settings = adapter.parse_settings(SAMPLE_SETTINGS[name], environ={})
    assert adapter.webhook_secrets(settings) == ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
    writer = adapter.writer(settings, "x", requests.Session())
    assert callable(writer.sync_obligation) and callable(writer.send_reminder)
    assert callable(writer.withdraw_reminder)


def test_an_unknown_platform_fails_loudly() -> None:
    with pytest.raises(UnknownPlatformError, match="unknown platform 'emis'"):
        get_adapter("emis")


# --- One behaviour suite over every adapter --------------------------------------------------------------------
#
# Each platform contributes one fixture factory (PLATFORMS): its simulator served over real HTTP, settings for
# it, ids it accepts, and a way to read back what the platform holds. A third platform is tested by adding one.


@dataclasses.dataclass
class Platform:
    name: str
    base_url: str
    settings: Any
    case_id: str
    assignee_id: str
    other_assignee_id: str
    team_id: str
    read_back: Callable[[], list[Held]]
    inject_faults: Callable[[int, int, float | None], None]
    sleeps: list[float] = dataclasses.field(default_factory=list)

    def writer(self, session: requests.Session | None = None) -> PlatformWriter:
        writer = get_adapter(self.name).writer(self.settings, "linc", session or requests.Session())
        # Every adapter's writer drives a shared HttpClient; its waits are recorded here, never slept.
        writer.client.sleep = self.sleeps.append  # type: ignore[attr-defined]
        return writer

    def obligation(self, **changes: Any) -> ObligationWrite:
        values: dict[str, Any] = {
            "reference": f"linc:case_supervision:{self.case_id}:{self.assignee_id}:1",
            "open": True,
            "kind": "case_supervision",
            "case_id": self.case_id,
            "assignee_id": self.assignee_id,
            "team_id": self.team_id,
            "due_date": date(2026, 11, 30),
            "title": "Case supervision due",
            "notes": "Why: LINC-CS-ALLOC (5.1.1), counted from the allocation on 2 Nov 2026.",
            "incoming_on": date(2026, 11, 23),
        }
        values.update(changes)
        return ObligationWrite(**values)

    def open_items(self) -> list[Held]:
        return [item for item in self.read_back() if item.open]


@dataclasses.dataclass(frozen=True)
class Held:
    """One due item as the platform holds it, in platform-neutral words."""

    platform_id: str
    assignee_id: str
    due_date: str
    open: bool


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/api"
    finally:
        server.shutdown()
        thread.join(5)


@contextmanager
def mosaic_platform() -> Iterator[Platform]:
    from adapters.mosaic.simulator import create_simulator_app, simulator_store

    app = create_simulator_app("conf-token")
    store = simulator_store(app)
    with serving(app) as base_url:
        settings = get_adapter("mosaic").parse_settings(
            {
                **SAMPLE_SETTINGS["mosaic"],
                "base_url": base_url,
                "api_token": "conf-token",
                "step_types": {"case_supervision": 9101},
            },
            environ={},
        )
        yield Platform(
            "mosaic",
            base_url,
            settings,
            case_id="100234",
            assignee_id="5521",
            other_assignee_id="5522",
            team_id="310",
            read_back=lambda: [
                Held(
                    str(s["workflow_step_id"]),
                    str(s["assignee_id"]),
                    s["due_date"],
                    s["step_status"] == "INCOMING",
                )
                for s in store.all_steps()
            ],
            inject_faults=lambda status, count, retry_after: store.inject_faults(status, count, retry_after),
        )


@contextmanager
def childview_platform() -> Iterator[Platform]:
    from adapters.childview.simulator import create_simulator_app, simulator_store

    app = create_simulator_app("conf-key")
    store = simulator_store(app)
    with serving(app) as base_url:
        settings = get_adapter("childview").parse_settings(
            {**SAMPLE_SETTINGS["childview"], "base_url": base_url, "api_key": "conf-key"}, environ={}
        )
        yield Platform(
            "childview",
            base_url,
            settings,
            case_id="YP-00412",
            assignee_id="CM-0042",
            other_assignee_id="CM-0051",
            team_id="YOT-NORTH",
            read_back=lambda: [
                Held(p["prompt_id"], p["staff_id"], p["due_date"], p["status"] == "OPEN")
                for p in store.all_prompts()
            ],
            inject_faults=lambda status, count, retry_after: store.inject_faults(status, count, retry_after),
        )


PLATFORMS: dict[str, Callable[[], AbstractContextManager[Platform]]] = {
    "mosaic": mosaic_platform,
    "childview": childview_platform,
}


@pytest.fixture(params=sorted(ADAPTERS))
def platform(request: pytest.FixtureRequest) -> Iterator[Platform]:
    name = request.param
    assert name in PLATFORMS, (
        f"add a conformance fixture (simulator, settings, read-back) for the {name} adapter"
    )
    with PLATFORMS[name]() as running:
        yield running


class Counting(InterceptedSession):
    """Counts requests by method; can lose the answers of the next `lose` POSTs (after they reached the
    platform) or drop the next `drop` POSTs before they are sent."""

    def __init__(self, lose: int = 0, drop: int = 0, error: type[Exception] = requests.Timeout) -> None:
        super().__init__()
        self.sent: list[str] = []
        self.lose, self.drop, self.error = lose, drop, error

    def intercept(self, request: requests.PreparedRequest, send: Send) -> requests.Response:
        method = str(request.method)
        self.sent.append(method)
        if method == "POST" and self.drop > 0:
            self.drop -= 1
            raise self.error("simulated: never sent")
        response = send()
        if method == "POST" and self.lose > 0:
            self.lose -= 1
            raise self.error("simulated: the answer was lost")
        return response


def assert_one_record_after_repeating(
    platform: Platform, write: ObligationWrite, result: WriteResult
) -> None:
    """The write repeated with what the platform confirmed (as the dispatcher would) makes nothing new."""
    count = len(platform.read_back())
    again = platform.writer().sync_obligation(dataclasses.replace(write, platform_id=result.platform_id))
    assert again.platform_id == result.platform_id
    assert len(platform.read_back()) == count


def test_create(platform: Platform) -> None:
    write = platform.obligation()
    result = platform.writer().sync_obligation(write)

    assert platform.open_items() == [Held(str(result.platform_id), platform.assignee_id, "2026-11-30", True)]
    assert platform.sleeps == []
    assert_one_record_after_repeating(platform, write, result)


def test_move(platform: Platform) -> None:
    writer = platform.writer()
    first = writer.sync_obligation(platform.obligation())
    moved = writer.sync_obligation(
        platform.obligation(due_date=date(2026, 12, 7), platform_id=first.platform_id)
    )

    assert moved.platform_id == first.platform_id and not moved.closed_on_platform
    assert platform.open_items() == [Held(str(first.platform_id), platform.assignee_id, "2026-12-07", True)]


def test_a_new_assignee_ends_up_holding_the_one_open_item(platform: Platform) -> None:
    writer = platform.writer()
    first = writer.sync_obligation(platform.obligation())
    write = platform.obligation(assignee_id=platform.other_assignee_id, platform_id=first.platform_id)
    result = writer.sync_obligation(write)

    [held] = platform.open_items()
    assert (held.platform_id, held.assignee_id) == (result.platform_id, platform.other_assignee_id)
    assert_one_record_after_repeating(platform, write, result)


def test_withdraw(platform: Platform) -> None:
    writer = platform.writer()
    first = writer.sync_obligation(platform.obligation())
    writer.sync_obligation(platform.obligation(open=False, platform_id=first.platform_id))
    # Withdrawing again (its confirmation lost) is fine too.
    writer.sync_obligation(platform.obligation(open=False, platform_id=first.platform_id))

    assert platform.open_items() == [] and len(platform.read_back()) == 1


@pytest.mark.parametrize(("status", "retry_after"), [(429, 3.0), (503, None)])
def test_a_create_is_retried_through_429_and_503_without_waiting(
    platform: Platform, status: int, retry_after: float | None
) -> None:
    platform.inject_faults(status, 1, retry_after)
    session = Counting()
    write = platform.obligation()
    result = platform.writer(session).sync_obligation(write)

    assert session.sent.count("POST") == 2
    assert len(platform.sleeps) == 1 and (retry_after is None or platform.sleeps == [retry_after])
    assert [h.platform_id for h in platform.read_back()] == [result.platform_id]
    assert_one_record_after_repeating(platform, write, result)


def test_a_timed_out_create_that_never_arrived_is_sent_again(platform: Platform) -> None:
    session = Counting(drop=1)
    write = platform.obligation()
    result = platform.writer(session).sync_obligation(write)

    assert session.sent.count("POST") == 2 and len(platform.sleeps) == 1
    assert [h.platform_id for h in platform.read_back()] == [result.platform_id]


@pytest.mark.parametrize("error", [requests.Timeout, requests.ConnectionError])
def test_a_create_whose_answer_was_lost_is_adopted(platform: Platform, error: type[Exception]) -> None:
    session = Counting(lose=1, error=error)
    write = platform.obligation()
    result = platform.writer(session).sync_obligation(write)

    assert [h.platform_id for h in platform.read_back()] == [result.platform_id]
    assert platform.open_items()[0].due_date == "2026-11-30"
    assert_one_record_after_repeating(platform, write, result)


def test_a_move_is_retried_through_a_503(platform: Platform) -> None:
    writer = platform.writer()
    first = writer.sync_obligation(platform.obligation())
    platform.inject_faults(503, 1, None)
    writer.sync_obligation(platform.obligation(due_date=date(2026, 12, 7), platform_id=first.platform_id))

    assert [h.due_date for h in platform.open_items()] == ["2026-12-07"] and len(platform.sleeps) == 1


def test_a_fatal_answer_raises_fatal_error_after_one_call_and_stores_nothing(platform: Platform) -> None:
    platform.inject_faults(400, 1, None)
    session = Counting()
    with pytest.raises(FatalError):
        platform.writer(session).sync_obligation(platform.obligation())

    assert len(session.sent) == 1 and platform.sleeps == [] and platform.read_back() == []
    # Once the cause is gone (the operator's `connector retry`), the same write makes exactly one record.
    result = platform.writer().sync_obligation(platform.obligation())
    assert [h.platform_id for h in platform.read_back()] == [result.platform_id]


def test_retries_that_never_succeed_stay_retryable_and_bounded(platform: Platform) -> None:
    platform.inject_faults(503, 50, None)
    session = Counting()
    with pytest.raises(RetryableError):
        platform.writer(session).sync_obligation(platform.obligation())

    attempts = platform.settings.max_attempts
    assert len(platform.sleeps) == attempts - 1 and len(session.sent) <= 2 * attempts


def test_a_reminder_repeated_is_one_reminder(platform: Platform) -> None:
    writer = platform.writer()
    step = writer.sync_obligation(platform.obligation())
    reminder = ReminderWrite(
        reference=f"linc:reminder:{step.platform_id}:due-7:20261130:{platform.assignee_id}",
        worker_id=platform.assignee_id,
        platform_id=str(step.platform_id),
        case_id=platform.case_id,
        show_on=date(2026, 11, 23),
        due_date=date(2026, 11, 30),
        message="Case supervision due on 30 Nov 2026",
    )
    first = writer.send_reminder(reminder)
    assert writer.send_reminder(reminder) == first and first
    writer.withdraw_reminder(first)
    writer.withdraw_reminder(first)  # already gone: fine
