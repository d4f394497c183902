"""Reading an extract file row by row (CSV or JSON Lines), so memory stays flat whatever the file's size.

Each row comes out as (line number, the event's `data`, its own occurred_at text or None). A CSV cell is given
its JSON type from the layout; what does not convert is passed on as text so the event schema names the field,
exactly as it would in a webhook. Columns the layout does not name (a name, a note) are never read further.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.importing.layouts import OCCURRED_AT, Cell, Layout

_WHOLE = re.compile(r"[+-]?\d{1,18}")
_SPLIT = re.compile(r"[\s;]+")


@dataclass(frozen=True)
class RawRow:
    line: int
    data: dict[str, Any]
    occurred_at: Any  # text from the file, or None: the row takes the extract's as-of time
    problems: dict[str, list[str]]  # what the file itself got wrong (not JSON, not an object)


class ExtractError(Exception):
    """A file that cannot be read as an extract at all (missing, bad header); the message names it."""


def _cell(column_cell: Cell, text: str) -> Any:
    if column_cell is Cell.INT:
        return int(text) if _WHOLE.fullmatch(text) else text
    if column_cell is Cell.BOOL:
        lowered = text.lower()
        return {"true": True, "false": False}.get(lowered, text)
    if column_cell is Cell.INT_LIST:
        return [int(p) if _WHOLE.fullmatch(p) else p for p in _SPLIT.split(text) if p]
    if column_cell is Cell.TEXT_LIST:
        return [p for p in _SPLIT.split(text) if p]
    return text


def _lines(handle: Iterable[str], advance: Callable[[int], None] | None) -> Iterator[str]:
    for line in handle:
        if advance is not None:
            advance(len(line))
        yield line


def read_rows(
    path: Path, fmt: str, layout: Layout, advance: Callable[[int], None] | None = None
) -> Iterator[RawRow]:
    """The file's rows in order; `advance(n)` is told how many characters were read, for a progress bar."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ExtractError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    with handle:
        try:
            if fmt == "csv":
                yield from _csv_rows(path, _lines(handle, advance), layout)
            else:
                yield from _jsonl_rows(_lines(handle, advance), layout)
        except UnicodeDecodeError:
            raise ExtractError(f"{path.name}: not UTF-8 text") from None


def _csv_rows(path: Path, lines: Iterator[str], layout: Layout) -> Iterator[RawRow]:
    reader = csv.reader(lines)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ExtractError(
            f"{path.name}:1: the file is empty (a CSV extract starts with its header)"
        ) from None
    except csv.Error as exc:
        raise ExtractError(f"{path.name}:1: not CSV: {exc}") from None
    missing = [name for name in layout.required if name not in header]
    if missing:
        raise ExtractError(
            f"{path.name}:1: header: missing column(s) {', '.join(missing)} (the {layout.kind} layout has"
            f" {', '.join(layout.names)}, optionally {OCCURRED_AT})"
        )
    wanted = [(header.index(c.name), c) for c in layout.columns if c.name in header]
    at_index = header.index(OCCURRED_AT) if OCCURRED_AT in header else None
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RawRow(reader.line_num, {}, None, {"row": [f"Not valid CSV: {exc}."]})
            continue
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            yield RawRow(
                reader.line_num, {}, None, {"row": [f"Has {len(cells)} cells; the header has {len(header)}."]}
            )
            continue
        data: dict[str, Any] = {}
        for index, column in wanted:
            text = cells[index].strip()
            if text:
                data[column.name] = _cell(column.cell, text)
            elif column.cell in (Cell.INT_LIST, Cell.TEXT_LIST):
                # An empty list is a value (a personal supervision discusses no child), not a missing cell.
                data[column.name] = []
            elif column.nullable:
                data[column.name] = None
        occurred = cells[at_index].strip() or None if at_index is not None else None
        yield RawRow(reader.line_num, data, occurred, {})


def _jsonl_rows(lines: Iterator[str], layout: Layout) -> Iterator[RawRow]:
    names = set(layout.names)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RawRow(number, {}, None, {"row": [f"Not valid JSON: {exc.msg}."]})
            continue
        if not isinstance(value, dict):
            yield RawRow(number, {}, None, {"row": ["Must be a JSON object."]})
            continue
        data = {k: v for k, v in value.items() if k in names}
        yield RawRow(number, data, value.get(OCCURRED_AT), {})
