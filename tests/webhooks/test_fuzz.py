"""Correctly signed random and mutated Mosaic events never get a 5xx, and nothing from a refused one is stored.

Each test starts from a valid example of every Mosaic event type and mutates it (keys dropped, values replaced
by random JSON, huge integers, deep nesting, long or unusual strings, wrong types), or sends bodies that are not
events at all. Derandomized, so CI sees the same examples every run.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.harness import NOW, SECRET, Connector, make_config, start_connector

from webhooks.signature import secret_key, sign

AT = "2026-11-02T09:30:00Z"
EXAMPLES: dict[str, dict[str, Any]] = {
    "case.allocated": {
        "person_id": 100234,
        "worker_id": 5521,
        "team_id": 310,
        "relationship": "ALLWKR",
        "start_date": "2026-11-02",
    },
    "case.transferred": {
        "person_id": 100234,
        "from_worker_id": 5521,
        "to_worker_id": 5522,
        "to_team_id": 311,
        "relationship": "ALLWKR",
        "transfer_date": "2026-11-09",
    },
    "case.deallocated": {"person_id": 100234, "worker_id": 5521, "end_date": "2026-11-20"},
    "case.status_changed": {
        "person_id": 100234,
        "status": "LAC",
        "start_date": "2026-11-05",
        "permanency_plan_agreed": False,
        "fsm": True,
    },
    "case.closed": {"person_id": 100234, "end_date": "2026-11-20", "reason": "RC1"},
    "worker.updated": {
        "worker_id": 5521,
        "team_id": 310,
        "supervisor_id": 4410,
        "job_role": "SOCIAL_WORKER",
        "case_holding": True,
        "supervises_case_holders": False,
        "frontline": True,
        "asye": False,
        "employment": "agency",
        "start_date": "2025-04-01",
        "end_date": None,
    },
    "worker.shift_worked": {"worker_id": 5521, "shift_date": "2026-11-07"},
    "supervision.booked": {
        "booking_id": 77,
        "kind": "group_supervision",
        "worker_id": 5521,
        "supervisor_id": 4410,
        "team_id": 310,
        "person_ids": [100234, 100235],
        "starts_at": "2026-11-10T10:00:00+00:00",
        "duration_minutes": 90,
        "status": "booked",
    },
    "supervision.recorded": {
        "kind": "case",
        "worker_id": 5521,
        "supervisor_id": 4410,
        "team_id": 310,
        "person_ids": [100234],
        "held_on": "2026-11-03",
        "recorded_on": "2026-11-04",
        "significant": True,
        "workflow_step_id": 880012,
        "actions": [{"text": "Chase school", "owner_worker_id": 5521, "due_date": "2026-11-20"}],
    },
}
TYPES = sorted(EXAMPLES)
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,  # the same examples every run, and no .hypothesis folder left behind
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_ids = itertools.count()

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=2000)
    | st.sampled_from(["0001-01-01", "9999-12-31", "2026-02-30", "2026-11-02T09:30:00", "²", "Jane Doe", ""])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=15,
)
# Text spliced into the serialised body where a value was: what json.dumps cannot produce.
RAW_VALUES = [
    b"9" * 5000,
    b"-" + b"1" * 25,
    b"1e999",
    b"NaN",
    b"-Infinity",
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 1000 + b"1" + b"}" * 1000,
    b'"\\ud800"',
    b'"\\u0000"',
]
RAW = b'"@@raw@@"'


@contextmanager
def running() -> Iterator[Connector]:
    with tempfile.TemporaryDirectory() as folder:
        connector = start_connector(make_config(Path(folder), "http://127.0.0.1:9/api"))
        try:
            yield connector
        finally:
            connector.close()


def stored(connector: Connector) -> int:
    return int(connector.service.db.scalar("SELECT COUNT(*) FROM inbox"))


def header_id(document: Any) -> str:
    candidate = document.get("id") if isinstance(document, dict) else None
    if isinstance(candidate, str) and candidate.isprintable() and candidate.isascii() and candidate:
        return candidate
    return "evt_fuzz"


def post_signed(connector: Connector, body: bytes, webhook_id: str) -> int:
    headers = {
        "Content-Type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(NOW),
        "webhook-signature": sign(secret_key(SECRET), webhook_id, str(NOW), body),
    }
    before = stored(connector)
    response = connector.client.post("/webhooks/lincolnshire/mosaic", data=body, headers=headers)
    after = stored(connector)
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert after == before, "a refused webhook stored something"
        assert set(response.get_json()) == {"code", "status", "message", "errors"}
    else:
        assert after == before + (response.status_code == 202)
    return response.status_code


@st.composite
def mutated_events(draw: st.DrawFn) -> tuple[bytes, str]:
    event_type = draw(st.sampled_from(TYPES))
    document: dict[str, Any] = {
        "id": f"evt_fuzz_{next(_ids)}",
        "type": event_type,
        "occurred_at": AT,
        "data": json.loads(json.dumps(EXAMPLES[event_type])),
    }
    raw: bytes | None = None
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        target = draw(st.sampled_from(["envelope", "data", "data", "data"]))
        where: dict[str, Any] = (
            document
            if target == "envelope" or not isinstance(document.get("data"), dict)
            else document["data"]
        )
        if not where:
            continue
        key = draw(st.sampled_from(sorted(where)))
        action = draw(st.sampled_from(["drop", "replace", "replace", "raw", "add"]))
        if action == "drop":
            del where[key]
        elif action == "replace":
            where[key] = draw(json_values)
        elif action == "add":
            where[draw(st.text(max_size=10))] = draw(json_values)
        elif raw is None:
            where[key] = "@@raw@@"
            raw = draw(st.sampled_from(RAW_VALUES))
    body = json.dumps(document, ensure_ascii=draw(st.booleans())).encode()
    if raw is not None:
        body = body.replace(RAW, raw, 1)
    return body, header_id(document)


def test_every_valid_example_is_accepted() -> None:
    with running() as connector:
        for event_type in TYPES:
            document = {
                "id": f"evt_{event_type}",
                "type": event_type,
                "occurred_at": AT,
                "data": EXAMPLES[event_type],
            }
            assert post_signed(connector, json.dumps(document).encode(), document["id"]) == 202, event_type


@pytest.fixture(scope="module")
def shared() -> Iterator[Connector]:
    # Module-scoped: hypothesis runs many examples inside one test call, and they may share a connector.
    with running() as connector:
        yield connector


@FUZZ
@given(mutated_events())
def test_mutated_events_never_get_a_5xx(shared: Connector, example: tuple[bytes, str]) -> None:
    body, webhook_id = example
    post_signed(shared, body, webhook_id)


@FUZZ
@given(
    st.one_of(
        json_values.map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=200),
        st.sampled_from(RAW_VALUES),
        st.builds(
            lambda data: json.dumps(
                {"id": "evt_fuzz", "type": "case.closed", "occurred_at": AT, "data": data}
            ).encode(),
            json_values,
        ),
    )
)
def test_random_bodies_never_get_a_5xx(shared: Connector, body: bytes) -> None:
    post_signed(shared, body, "evt_fuzz")
