"""How the inbox stores a domain event: plain JSON with its type name, and back.

Shallow and hand-written on purpose: `dataclasses.asdict` deep-copies every value and cost a fifth of a webhook's
intake; the reverse trusts its input (the connector wrote it) and so validates nothing.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Any

from rules.events import EVENT_TYPES, Action, Event, Relationship


def event_to_json(event: Event) -> dict[str, Any]:
    """Serialise an event for the inbox: plain JSON types, with its type name."""
    # Shallow on purpose: dataclasses.asdict deep-copies every value and costs a fifth of a webhook's intake.
    body: dict[str, Any] = {"type": event.type_name}
    for f in _fields(type(event)):
        value = getattr(event, f)
        if f == "actions":
            value = [{"owner_worker_id": a.owner_worker_id, "due_date": a.due_date} for a in value]
        body[f] = _plain(value)
    return body


_FIELD_NAMES: dict[type[Event], tuple[str, ...]] = {}


def _fields(cls: type[Event]) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def event_from_json(body: dict[str, Any]) -> Event:
    """The inverse of event_to_json: trusted input (written by this service), so no validation here."""
    data = dict(body)
    cls = EVENT_TYPES[data.pop("type")]
    kwargs: dict[str, Any] = {}
    hints = {f.name: f for f in dataclasses.fields(cls)}
    for name, value in data.items():
        if name not in hints:
            continue
        kwargs[name] = _revive(name, value)
    return cls(**kwargs)


_DATETIME_FIELDS = {"occurred_at", "starts_at"}
_DATE_FIELDS = {"start_date", "end_date", "transfer_date", "shift_date", "held_on", "recorded_on"}


def _revive(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _DATETIME_FIELDS:
        return datetime.fromisoformat(value)
    if name in _DATE_FIELDS:
        return date.fromisoformat(value)
    if name == "relationship":
        return Relationship(value)
    if name == "case_ids_discussed":
        return tuple(value)
    if name == "actions":
        return tuple(
            Action(a["owner_worker_id"], date.fromisoformat(a["due_date"]) if a["due_date"] else None)
            for a in value
        )
    return value


def utc_position(moment: datetime | str) -> str:
    """A moment (or its ISO 8601 text) as fixed-width UTC text, which sorts as the moments do: an event's
    position in the folds, kept beside each subject it names (`event_subjects.at`)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
