"""Strict marshmallow fields any platform's event schemas can use.

Strict on purpose: a sender that gets its types wrong is told so (400) rather than half-understood.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from adapters.base import EventValidationError
from adapters.validation import flatten_errors
from rules.events import Event

# No child's or worker's record starts before 1900, and no plan runs past 2199; bounding every date here keeps
# date arithmetic (a due date is a date plus weeks or months) far from datetime's year 9999, and a mistyped
# year from freezing a case's status for ever (the latest occurred_at wins).
EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)
EARLIEST_MOMENT = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime(2199, 12, 31, 23, 59, 59, tzinfo=UTC)
OUT_OF_RANGE = f"Must be between {EARLIEST} and {LATEST}."
# Limits no real session reaches (a team discusses tens of children) that keep one event's processing short:
# 7,000 children in one session took ten seconds.
MAX_IDS = 1000
# The webhook id: printable ASCII without spaces, as the edge requires of the webhook-id header it must equal.
EVENT_ID = r"[!-~]{1,200}"
# Codes only, as closure reasons are (RC1, ADOPTED): upper case rules out a surname ("Smith").
REASON_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,39}")


def reason_code(reason: Any) -> str | None:
    """A closure reason kept only when it is a code: a free-text one may name people, so it is dropped unread
    (and the closure still accepted)."""
    return reason if isinstance(reason, str) and REASON_CODE.fullmatch(reason) else None


class Data(Schema):
    """An event's `data`: unknown extra fields are ignored, as the contract says."""

    class Meta:
        unknown = EXCLUDE


class Bool(fields.Boolean):
    """true or false only: no 1, "yes" or "true" strings from a sender that got its types wrong."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def offset_datetime(**kw: Any) -> fields.AwareDateTime:
    """An ISO 8601 date-time that must carry its offset (a naive time is ambiguous across BST), 1900 to 2199."""
    naive = "Not a valid datetime with a UTC offset (e.g. 2026-11-02T09:30:00Z)."
    return fields.AwareDateTime(
        format="iso",
        error_messages={"invalid_awareness": naive},
        validate=validate.Range(min=EARLIEST_MOMENT, max=LATEST_MOMENT, error=OUT_OF_RANGE),
        **kw,
    )


def sane_date(**kw: Any) -> fields.Date:
    """A date between 1900 and 2199: anything outside is a typo, and would break date arithmetic later."""
    return fields.Date(validate=validate.Range(min=EARLIEST, max=LATEST, error=OUT_OF_RANGE), **kw)


def code(pattern: str, what: str, **kw: Any) -> fields.String:
    """A string id or code matching the whole of `pattern`; no spaces, so no names or sentences can ride in.

    fullmatch, not marshmallow's Regexp: its re.match lets `$` accept a trailing newline.
    """
    compiled = re.compile(pattern)
    message = f"Must be {what}."

    def check(value: str) -> None:
        if not compiled.fullmatch(value):
            raise ValidationError(message)

    return fields.String(validate=check, **kw)


def one_of(choices: tuple[str, ...], **kw: Any) -> fields.String:
    return fields.String(validate=validate.OneOf(choices), **kw)


def capped_list(inner: fields.Field[Any], cap: int = MAX_IDS, **kw: Any) -> fields.List[Any]:
    return fields.List(inner, validate=validate.Length(max=cap, error=f"At most {cap} items."), **kw)


class Envelope(Data):
    """What every platform's event carries: `id` (= the webhook-id), `type`, `occurred_at` and `data`."""

    id = code(EVENT_ID, "at most 200 printable ASCII characters with no spaces", required=True)
    type = fields.String(required=True)
    occurred_at = offset_datetime(required=True)
    data = fields.Dict(required=True)


ENVELOPE = Envelope()
Builder = Callable[[str, datetime, dict[str, Any]], Event]


def parse_event(body: Mapping[str, Any], schemas: Mapping[str, tuple[Schema, Builder]]) -> Event:
    """Validate a webhook body against the envelope and its type's `data` schema; raise EventValidationError
    naming every bad field. Both are checked before raising, so a sender sees every problem at once."""
    if not isinstance(body, Mapping):
        raise EventValidationError({"body": ["Must be a JSON object."]})
    errors: dict[str, list[str]] = {}
    envelope: dict[str, Any] | None = None
    try:
        envelope = ENVELOPE.load(dict(body))
    except ValidationError as exc:
        errors.update(flatten_errors(exc.messages))
    event_type = body.get("type")
    entry = schemas.get(event_type) if isinstance(event_type, str) else None
    if entry is None:
        if isinstance(event_type, str):
            errors["type"] = [f"Unknown event type {event_type[:80]!r}."]
        raise EventValidationError(errors)
    schema, build = entry
    data = body.get("data")
    loaded: dict[str, Any] | None = None
    if isinstance(data, Mapping):
        try:
            loaded = schema.load(dict(data))
        except ValidationError as exc:
            errors.update(flatten_errors(exc.messages, "data"))
    if errors or envelope is None or loaded is None:
        raise EventValidationError(errors or {"data": ["Must be an object."]})
    return build(envelope["id"], envelope["occurred_at"], loaded)
