"""The scenario files' event shorthand, turned into the domain events webhooks become.

`{type: case.allocated, case: 100234, worker: 5521, start_date: 2026-11-02}`: ids as the platform's, dates as
dates, and an optional `at` for when it happened (noon UTC on the event's own date when left out).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from rules.events import (
    Action,
    CaseAllocated,
    CaseClosed,
    CaseDeallocated,
    CaseStatusChanged,
    CaseTransferred,
    Event,
    Relationship,
    ShiftWorked,
    SupervisionBooked,
    SupervisionRecorded,
    WorkerLeave,
    WorkerUpdated,
)

EVENT_KEYS: dict[str, tuple[set[str], set[str]]] = {
    "case.allocated": ({"case", "worker", "start_date"}, {"team", "relationship"}),
    "case.transferred": ({"case", "from_worker", "to_worker", "transfer_date"}, {"team", "relationship"}),
    "case.deallocated": ({"case", "worker", "end_date"}, set()),
    "case.status_changed": ({"case", "status", "start_date"}, {"permanency_plan_agreed", "fsm", "looked_after"}),
    "case.closed": ({"case", "end_date"}, {"reason"}),
    "worker.updated": (
        {"worker", "start_date"},
        {
            "team",
            "supervisor",
            "job_role",
            "case_holding",
            "supervises_case_holders",
            "frontline",
            "asye",
            "employment",
            "end_date",
        },
    ),
    "worker.shift_worked": ({"worker", "shift_date"}, set()),
    "worker.leave": ({"worker", "leave", "reason", "start_date", "end_date"}, {"status"}),
    "supervision.booked": (
        {"booking", "kind", "worker", "starts_at", "at"},
        {"supervisor", "team", "cases", "duration_minutes", "status"},
    ),
    "supervision.recorded": (
        {"kind", "worker", "held_on"},
        {"supervisor", "team", "cases", "recorded_on", "significant", "step", "actions"},
    ),
}
# With no `at`, an event happened (and was heard of) at noon UTC on the date it carries.
DEFAULT_AT = {
    "case.allocated": "start_date",
    "case.transferred": "transfer_date",
    "case.deallocated": "end_date",
    "case.status_changed": "start_date",
    "case.closed": "end_date",
    "worker.updated": "start_date",
    "worker.shift_worked": "shift_date",
    "worker.leave": "start_date",
    "supervision.recorded": "recorded_on",
}


def to_event(raw: Any, index: int) -> Event:
    """One event in the scenario shorthand: `type`, optional `id` and `at`, and the event's fields."""
    if not isinstance(raw, dict) or "type" not in raw:
        raise ValueError(f"event {index}: needs a 'type'")
    kind = raw["type"]
    if kind not in EVENT_KEYS:
        raise ValueError(f"event {index}: unknown type {kind!r} (known: {', '.join(EVENT_KEYS)})")
    required, optional = EVENT_KEYS[kind]
    fields = set(raw) - {"type", "id", "at"}
    missing = sorted(required - {"at"} - fields) + (["at"] if "at" in required and "at" not in raw else [])
    unknown = sorted(fields - required - optional)
    if missing or unknown:
        problem = f"missing {', '.join(missing)}" if missing else f"unknown field(s) {', '.join(unknown)}"
        raise ValueError(f"event {index} ({kind}): {problem}")
    event_id = str(raw.get("id", f"e{index:03d}"))
    if "at" in raw:
        at = _moment(raw["at"])
    elif kind == "supervision.recorded":
        at = _noon(scenario_date(raw.get("recorded_on", raw["held_on"])))
    else:
        at = _noon(scenario_date(raw[DEFAULT_AT[kind]]))
    return _build(kind, event_id, at, raw)


def _build(kind: str, event_id: str, at: datetime, raw: Mapping[str, Any]) -> Event:
    if kind == "case.allocated":
        return CaseAllocated(
            event_id,
            at,
            str(raw["case"]),
            str(raw["worker"]),
            _opt(raw, "team"),
            Relationship(raw.get("relationship", "ALLWKR")),
            scenario_date(raw["start_date"]),
        )
    if kind == "case.transferred":
        return CaseTransferred(
            event_id,
            at,
            str(raw["case"]),
            str(raw["from_worker"]),
            str(raw["to_worker"]),
            _opt(raw, "team"),
            Relationship(raw.get("relationship", "ALLWKR")),
            scenario_date(raw["transfer_date"]),
        )
    if kind == "case.deallocated":
        return CaseDeallocated(
            event_id, at, str(raw["case"]), str(raw["worker"]), scenario_date(raw["end_date"])
        )
    if kind == "case.status_changed":
        return CaseStatusChanged(
            event_id,
            at,
            str(raw["case"]),
            str(raw["status"]),
            scenario_date(raw["start_date"]),
            _flag(raw, "permanency_plan_agreed"),
            _flag(raw, "fsm"),
            looked_after=_flag(raw, "looked_after"),
        )
    if kind == "case.closed":
        return CaseClosed(event_id, at, str(raw["case"]), scenario_date(raw["end_date"]), _opt(raw, "reason"))
    if kind == "worker.updated":
        return WorkerUpdated(
            event_id,
            at,
            worker_id=str(raw["worker"]),
            team_id=_opt(raw, "team"),
            supervisor_id=_opt(raw, "supervisor"),
            job_role=str(raw.get("job_role", "SOCIAL_WORKER")),
            case_holding=bool(raw.get("case_holding", True)),
            supervises_case_holders=bool(raw.get("supervises_case_holders", False)),
            frontline=bool(raw.get("frontline", True)),
            asye=bool(raw.get("asye", False)),
            employment=str(raw.get("employment", "permanent")),
            start_date=scenario_date(raw["start_date"]),
            end_date=scenario_date(raw["end_date"]) if raw.get("end_date") else None,
        )
    if kind == "worker.shift_worked":
        return ShiftWorked(event_id, at, str(raw["worker"]), scenario_date(raw["shift_date"]))
    if kind == "worker.leave":
        return WorkerLeave(
            event_id,
            at,
            worker_id=str(raw["worker"]),
            leave_id=str(raw["leave"]),
            reason=str(raw["reason"]),
            start_date=scenario_date(raw["start_date"]),
            end_date=scenario_date(raw["end_date"]),
            cancelled=raw.get("status") == "cancelled",
        )
    if kind == "supervision.booked":
        return SupervisionBooked(
            event_id,
            at,
            booking_id=str(raw["booking"]),
            kind=str(raw["kind"]),
            worker_id=str(raw["worker"]),
            supervisor_id=_opt(raw, "supervisor"),
            team_id=_opt(raw, "team"),
            case_ids_discussed=tuple(str(c) for c in raw.get("cases") or []),
            starts_at=_moment(raw["starts_at"]),
            duration_minutes=int(raw.get("duration_minutes", 60)),
            status=str(raw.get("status", "booked")),
        )
    held = scenario_date(raw["held_on"])
    return SupervisionRecorded(
        event_id,
        at,
        kind=str(raw["kind"]),
        worker_id=str(raw["worker"]),
        supervisor_id=_opt(raw, "supervisor"),
        team_id=_opt(raw, "team"),
        case_ids_discussed=tuple(str(c) for c in raw.get("cases") or []),
        held_on=held,
        recorded_on=scenario_date(raw.get("recorded_on", held)),
        significant=bool(raw.get("significant", False)),
        step_ref=_opt(raw, "step"),
        actions=tuple(
            Action(_opt(a, "owner"), scenario_date(a["due"]) if a.get("due") else None)
            for a in raw.get("actions") or []
        ),
    )


def scenario_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return _noon(value)
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        # A time written without a zone is taken as UTC, as `Z` would say.
        moment = moment.replace(tzinfo=UTC)
    return moment


def _opt(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return None if value is None else str(value)


def _flag(raw: Mapping[str, Any], key: str) -> bool | None:
    value = raw.get(key)
    return None if value is None else bool(value)
