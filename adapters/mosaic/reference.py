"""The Mosaic events' reference, written from the marshmallow schemas themselves so it cannot drift from them.

`connector events-reference` prints it; `docs/events.md` is its committed output (a test keeps the two equal).
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from adapters.mosaic.events import ENVELOPE, EVENT_SCHEMAS

HEADER = """\
# Mosaic events: every field and its allowed values

Generated from the connector's event schemas by `connector events-reference`; do not edit by hand
(`connector events-reference > docs/events.md` rewrites it, and a test fails when it is out of date).

Each webhook body is the envelope below; `data` holds the event type's fields. Fields not listed are ignored
and not stored (the text of an agreed action, for one). "null allowed" means the field may be sent as `null`.
"""


def _type(field: fields.Field[Any]) -> str:
    if isinstance(field, fields.List):
        inner = field.inner
        if isinstance(inner, fields.Nested):
            return "list of objects (below)"
        return f"list of: {_type(inner)}"
    if isinstance(field, fields.Nested):
        return "object (below)"
    if isinstance(field, fields.AwareDateTime):
        return "date-time with offset (ISO 8601)"
    if isinstance(field, fields.Date):
        return "date YYYY-MM-DD"
    if isinstance(field, fields.Boolean):
        return "true or false"
    if isinstance(field, fields.Integer):
        return "whole number"
    if isinstance(field, fields.String):
        return "text"
    if isinstance(field, fields.Dict):
        return "object"
    # A field of the adapter's own (the booking id): its docstring says what it takes.
    doc = (type(field).__doc__ or "").strip().splitlines()
    return doc[0].rstrip(".") if doc else "any"


def _allowed(field: fields.Field[Any]) -> str:
    if isinstance(field, fields.List):
        return _allowed(field.inner)
    parts = []
    for rule in field.validators:
        if isinstance(rule, validate.OneOf):
            parts.append("one of " + ", ".join(f"`{choice}`" for choice in rule.choices))
        elif isinstance(rule, validate.Range):
            if rule.min is not None and rule.max is not None:
                parts.append(f"{rule.min} to {rule.max}")
            elif rule.min is not None:
                parts.append(f"at least {rule.min}")
            elif rule.max is not None:
                parts.append(f"at most {rule.max}")
        elif isinstance(rule, validate.Length):
            parts.append(
                f"length {rule.min or 0} to {rule.max}" if rule.max else f"length at least {rule.min}"
            )
    return "; ".join(parts)


def _presence(field: fields.Field[Any]) -> str:
    text = "required" if field.required else "optional"
    if field.allow_none:
        text += ", null allowed"
    return text


def _table(schema: Schema) -> list[str]:
    lines = ["| field | type | presence | allowed values |", "| --- | --- | --- | --- |"]
    nested: list[tuple[str, Schema]] = []
    for name, field in schema.fields.items():
        lines.append(f"| `{name}` | {_type(field)} | {_presence(field)} | {_allowed(field)} |")
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested) and isinstance(inner.schema, Schema):
            nested.append((name, inner.schema))
    for name, inner_schema in nested:
        lines += ["", f"Each item of `{name}`:", "", *_table(inner_schema)]
    return lines


def events_reference() -> str:
    """The whole reference as Markdown."""
    lines = [HEADER, "## Envelope", "", *_table(ENVELOPE), ""]
    lines += ["`type` is one of: " + ", ".join(f"`{name}`" for name in EVENT_SCHEMAS) + ".", ""]
    for event_type, (schema, _) in EVENT_SCHEMAS.items():
        lines += [f"## `{event_type}`", "", *_table(schema), ""]
    return "\n".join(lines)
