"""Strict marshmallow fields any platform's event schemas can use.

Strict on purpose: a sender that gets its types wrong is told so (400) rather than half-understood.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)
MAX_IDS = 1000


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
    """An ISO 8601 date-time that must carry its offset: a naive time is ambiguous across BST."""
    naive = "Not a valid datetime with a UTC offset (e.g. 2026-11-02T09:30:00Z)."
    return fields.AwareDateTime(format="iso", error_messages={"invalid_awareness": naive}, **kw)


def sane_date(**kw: Any) -> fields.Date:
    """A date between 1900 and 2199: anything outside is a typo, and would break date arithmetic later."""
    message = f"Must be a date from {EARLIEST.isoformat()} to {LATEST.isoformat()}."
    return fields.Date(validate=validate.Range(min=EARLIEST, max=LATEST, error=message), **kw)


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
    id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(required=True)
    occurred_at = offset_datetime(required=True)
    data = fields.Dict(required=True)
