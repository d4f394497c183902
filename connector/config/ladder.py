"""The reminder ladder: which notifications an obligation earns, each an offset from its due date and a recipient.

The default for every kind (issue 9): seven days before, to the assignee; on the due date, to the assignee and
to the assignee's supervisor; seven days after an unmet due date, an escalation to the supervisor's supervisor.
A tenant may replace it (`[tenants.reminders] ladder`) and replace it again per obligation kind
(`[tenants.reminders.kinds.<kind>] ladder`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

RECIPIENTS = ("assignee", "supervisor", "supervisor_of_supervisor")
MAX_OFFSET_DAYS = 90


@dataclass(frozen=True, order=True)
class Rung:
    """One rung: shown `offset_days` from the due date (negative: before it) to `to`. A rung after the due date
    is an escalation."""

    offset_days: int
    to: str

    @property
    def escalation(self) -> bool:
        return self.offset_days > 0

    @property
    def tag(self) -> str:
        """The rung's part of a reminder's reference; the assignee's rungs before the due date keep the form
        references had before ladders (`due-7`), so an upgrade sends no second reminder."""
        when = f"due-{-self.offset_days}" if self.offset_days <= 0 else f"late-{self.offset_days}"
        return when if self.to == "assignee" else f"{when}-{self.to.replace('_', '-')}"


Ladder = tuple[Rung, ...]


def default_ladder(days_before: int = 7, escalate: bool = True) -> Ladder:
    """The issue's default; `[reminders] days_before` and `escalate` still shape it, as they did before ladders."""
    rungs = [Rung(-days_before, "assignee"), Rung(0, "assignee"), Rung(0, "supervisor")]
    if escalate:
        rungs.append(Rung(7, "supervisor_of_supervisor"))
    return tuple(sorted(set(rungs)))


@dataclass(frozen=True)
class TenantLadders:
    """A tenant's ladders: its own default (None: the global one) and one per obligation kind it overrides."""

    default: Ladder | None = None
    kinds: Mapping[str, Ladder] = field(default_factory=dict)

    def for_kind(self, kind: str, fallback: Ladder) -> Ladder:
        return self.kinds.get(kind, self.default if self.default is not None else fallback)


class _Strict(Schema):
    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "Unknown key."}  # noqa: RUF012  (marshmallow reads it from the class)


class RungSchema(_Strict):
    offset_days = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=-MAX_OFFSET_DAYS, max=MAX_OFFSET_DAYS)
    )
    to = fields.String(
        required=True,
        validate=validate.OneOf(RECIPIENTS, error=f"Must be one of: {', '.join(RECIPIENTS)}."),
    )


class LadderSchema(_Strict):
    ladder = fields.List(fields.Nested(RungSchema), required=True)

    @validates_schema
    def _no_repeats(self, data: dict[str, Any], **_: Any) -> None:
        seen: set[tuple[int, str]] = set()
        for index, rung in enumerate(data.get("ladder", [])):
            key = (rung["offset_days"], rung["to"])
            if key in seen:
                raise ValidationError({"ladder": {index: ["The same offset and recipient twice."]}})
            seen.add(key)


def as_ladder(loaded: Mapping[str, Any]) -> Ladder:
    return tuple(sorted(Rung(r["offset_days"], r["to"]) for r in loaded["ladder"]))
