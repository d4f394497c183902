"""The few SQL expressions the two engines spell differently: reading a field of a stored JSON event, and the
number of days between two ISO dates. Everything else is written once, in SQL both engines take.
"""

from __future__ import annotations


def json_text(dialect: str, column: str, key: str) -> str:
    """A top-level field of a JSON text column, as text (an array or object as its JSON text); NULL if absent."""
    if dialect == "postgresql":
        return f"({column}::jsonb ->> '{key}')"
    return f"json_extract({column}, '$.{key}')"


def json_flag(dialect: str, column: str, key: str) -> str:
    """A top-level true/false field of a JSON text column, as something Python's bool() reads right."""
    if dialect == "postgresql":
        return f"({column}::jsonb ->> '{key}')::boolean"
    return f"json_extract({column}, '$.{key}')"


def json_array_length(dialect: str, column: str, key: str) -> str:
    if dialect == "postgresql":
        return f"jsonb_array_length({column}::jsonb -> '{key}')"
    return f"json_array_length({column}, '$.{key}')"


def days_late(dialect: str, later: str, earlier: str) -> str:
    """Whole days from `earlier` to `later` (ISO date texts), never below zero."""
    if dialect == "postgresql":
        return f"GREATEST(0, CAST({later} AS DATE) - CAST({earlier} AS DATE))"
    return f"CAST(MAX(0, julianday({later}) - julianday({earlier})) AS INTEGER)"
