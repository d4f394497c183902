"""An extract row -> the webhook body it stands for -> the platform adapter's domain event.

The id is `import:<kind>:<the row's first id>:<sha256 of tenant, platform, kind and the row's fields>` (not its
as-of time), so the same row imported again, tonight or next week, is the same event and the inbox stores it once.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Any

from adapters.base import EventValidationError, PlatformAdapter
from connector.importing.layouts import Layout
from connector.importing.reading import RawRow
from rules.events import Event

_ID_TEXT = re.compile(r"[A-Za-z0-9_-]{1,40}")


def row_id(prefix: str, tenant: str, platform: str, kind: str, data: dict[str, Any]) -> str:
    canonical = json.dumps([tenant, platform, kind, data], sort_keys=True, separators=(",", ":"), default=str)
    return f"{prefix}:{hashlib.sha256(canonical.encode()).hexdigest()}"


def event_of(
    adapter: PlatformAdapter, layout: Layout, tenant: str, row: RawRow, as_of: datetime
) -> Event | dict[str, list[str]]:
    """The row's domain event, or its problems by field path (`data.start_date`, `occurred_at`)."""
    if row.problems:
        return row.problems
    # The kind and the row's first id lead, so rows of an extract sorted by subject (as data marts give them)
    # land next to each other in the inbox's unique index instead of at random places all over it.
    first = row.data.get(layout.columns[0].name)
    cluster = str(first) if isinstance(first, int | str) and _ID_TEXT.fullmatch(str(first)) else "-"
    body = {
        "id": row_id(f"import:{layout.kind}:{cluster}", tenant, layout.platform, layout.kind, row.data),
        "type": layout.event_type,
        "occurred_at": as_of.isoformat() if row.occurred_at is None else row.occurred_at,
        "data": row.data,
    }
    try:
        return adapter.parse_event(body)
    except EventValidationError as exc:
        return exc.errors or {"row": [exc.message]}
