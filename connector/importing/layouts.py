"""The extract's file layouts: one per record kind and platform, each row one webhook event's `data`.

A row's columns are the fields of the platform's own event (contract/webhooks.md), so the platform adapter's
event schema validates an imported row exactly as it validates a webhook. `docs/import.md` documents each one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path


class Cell(Enum):
    """How a CSV cell's text becomes a JSON value (JSON Lines rows already carry their types)."""

    INT = "int"  # a whole number; anything else is passed on as text for the schema to name
    TEXT = "text"
    DATE = "date"  # ISO date text; the schema parses it
    DATETIME = "datetime"  # ISO date-time with offset; the schema parses it
    BOOL = "bool"  # true or false
    INT_LIST = "int_list"  # ids separated by spaces or semicolons
    TEXT_LIST = "text_list"


@dataclass(frozen=True)
class Column:
    name: str
    cell: Cell
    required: bool = True
    # An empty cell means null (not "missing"): a worker with no supervisor is `supervisor_id` null.
    nullable: bool = False


@dataclass(frozen=True)
class Layout:
    kind: str
    platform: str
    event_type: str
    columns: tuple[Column, ...]
    # The columns naming the subject a full extract has one row of (reconcile compares per subject and key).
    subject: str = ""
    key: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


KINDS = ("workers", "allocations", "statuses", "supervisions", "bookings")
# Every layout may add this column: when the row's fact was true on the platform (else the --as-of time).
OCCURRED_AT = "occurred_at"

_I, _T, _D, _DT, _B = Cell.INT, Cell.TEXT, Cell.DATE, Cell.DATETIME, Cell.BOOL

MOSAIC = {
    "workers": Layout(
        "workers",
        "mosaic",
        "worker.updated",
        (
            Column("worker_id", _I),
            Column("team_id", _I),
            Column("supervisor_id", _I, nullable=True),
            Column("job_role", _T),
            Column("case_holding", _B),
            Column("supervises_case_holders", _B),
            Column("frontline", _B),
            Column("asye", _B),
            Column("employment", _T),
            Column("start_date", _D),
            Column("end_date", _D, required=False, nullable=True),
        ),
        subject="worker_id",
    ),
    "allocations": Layout(
        "allocations",
        "mosaic",
        "case.allocated",
        (
            Column("person_id", _I),
            Column("worker_id", _I),
            Column("team_id", _I),
            Column("relationship", _T),
            Column("start_date", _D),
        ),
        subject="person_id",
        key=("worker_id",),
    ),
    "statuses": Layout(
        "statuses",
        "mosaic",
        "case.status_changed",
        (
            Column("person_id", _I),
            Column("status", _T),
            Column("start_date", _D),
            Column("permanency_plan_agreed", _B, required=False, nullable=True),
            Column("fsm", _B, required=False, nullable=True),
        ),
        subject="person_id",
    ),
    "supervisions": Layout(
        "supervisions",
        "mosaic",
        "supervision.recorded",
        (
            Column("kind", _T),
            Column("worker_id", _I),
            Column("supervisor_id", _I, nullable=True),
            Column("team_id", _I),
            Column("person_ids", Cell.INT_LIST),
            Column("held_on", _D),
            Column("recorded_on", _D),
            Column("significant", _B),
            Column("workflow_step_id", _I, required=False, nullable=True),
        ),
    ),
    "bookings": Layout(
        "bookings",
        "mosaic",
        "supervision.booked",
        (
            Column("booking_id", _T),
            Column("kind", _T),
            Column("worker_id", _I),
            Column("supervisor_id", _I, nullable=True),
            Column("team_id", _I),
            Column("person_ids", Cell.INT_LIST, required=False),
            Column("starts_at", _DT),
            Column("duration_minutes", _I),
            Column("status", _T),
        ),
    ),
}

# Childview's vocabulary (contract/webhooks.md): string ids, its own event names; it has no booking event.
CHILDVIEW = {
    "workers": Layout(
        "workers",
        "childview",
        "staff.updated",
        (
            Column("staff_id", _T),
            Column("yot_team", _T),
            Column("manager_id", _T, nullable=True),
            Column("case_holding", _B),
            Column("supervises_case_holders", _B),
            Column("asye", _B),
            Column("employment", _T),
            Column("start_date", _D),
            Column("end_date", _D, required=False, nullable=True),
        ),
        subject="staff_id",
    ),
    "allocations": Layout(
        "allocations",
        "childview",
        "case.allocated",
        (
            Column("yp_id", _T),
            Column("case_manager_id", _T),
            Column("yot_team", _T),
            Column("role", _T),
            Column("start_date", _D),
        ),
        subject="yp_id",
        key=("case_manager_id",),
    ),
    "statuses": Layout(
        "statuses",
        "childview",
        "case.status_changed",
        (
            Column("yp_id", _T),
            Column("disposal", _T),
            Column("start_date", _D),
            Column("looked_after", _B, required=False, nullable=True),
        ),
        subject="yp_id",
    ),
    "supervisions": Layout(
        "supervisions",
        "childview",
        "oversight.recorded",
        (
            Column("kind", _T),
            Column("staff_id", _T),
            Column("manager_id", _T, nullable=True),
            Column("yp_ids", Cell.TEXT_LIST),
            Column("held_on", _D),
            Column("recorded_on", _D),
            Column("significant", _B),
            Column("prompt_id", _T, required=False, nullable=True),
        ),
    ),
}

LAYOUTS: dict[str, dict[str, Layout]] = {"mosaic": MOSAIC, "childview": CHILDVIEW}


class LayoutError(ValueError):
    """An extract file whose kind or platform has no layout; the message names the file."""


def kind_of(path: Path, given: str | None) -> str:
    """The record kind: `--kind`, or the file name's stem (`allocations.csv`, `workers-2026-12-01.jsonl`)."""
    if given is not None:
        return given
    stem = path.name.split(".", 1)[0].lower()
    for kind in KINDS:
        if stem == kind or stem.startswith((f"{kind}-", f"{kind}_")):
            return kind
    raise LayoutError(
        f"{path.name}: cannot tell the record kind from the file name; name it after one of"
        f" {', '.join(KINDS)} (e.g. allocations.csv) or give --kind"
    )


def layout_for(platform: str, kind: str, path: Path) -> Layout:
    layouts = LAYOUTS.get(platform)
    if layouts is None:
        raise LayoutError(f"--platform: no extract layouts for {platform!r} (known: {', '.join(LAYOUTS)})")
    if kind not in layouts:
        raise LayoutError(f"{path.name}: {platform} has no {kind!r} records (it has: {', '.join(layouts)})")
    return layouts[kind]


def format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".jsonl"):
        return suffix[1:]
    raise LayoutError(f"{path.name}: unknown file type {suffix or '(none)'!r}; use .csv or .jsonl")
