"""What the daily tick reads: the open obligations it decides on, a slice at a time, and the reminders already
sent for them, so its memory is a slice's and a day's, not the ledger's, and its reads do not grow with the
reminders of years gone by.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from datetime import date

# Only what deciding reads: the explanation and the rest of the ledger row are never needed here.
COLUMNS = "tenant, platform, reference, kind, case_id, assignee_id, due_date, rules, platform_id, overdue_since, form"
# Parameters per IN list: well under every SQLite build's limit (999 before 3.32).
IN_CHUNK = 500


def open_due_by(conn: sqlite3.Connection, until: date, size: int) -> Iterator[list[sqlite3.Row]]:
    """The open obligations written to their platform and due by `until`, in slices of about `size`, read one
    due date at a time (the index on status and due date finds each), so at most a slice and one day's rows are
    in memory. A slice ends on a day's boundary only when it is full."""
    days = [
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT due_date FROM obligations WHERE status = 'open' AND due_date <= ? ORDER BY due_date",
            (until.isoformat(),),
        )
    ]
    pending: list[sqlite3.Row] = []
    for day in days:
        pending += conn.execute(
            f"SELECT {COLUMNS} FROM obligations WHERE status = 'open' AND due_date = ?"
            " AND platform_id IS NOT NULL ORDER BY tenant, platform, reference",
            (day,),
        ).fetchall()
        while len(pending) >= size:
            yield pending[:size]
            pending = pending[size:]
    if pending:
        yield pending


def open_with_dated_reminders(conn: sqlite3.Connection, size: int) -> Iterator[list[sqlite3.Row]]:
    """The open obligations written to their platform whose form dates a reminder of their own, in slices."""
    cursor = conn.execute(
        f"SELECT {COLUMNS} FROM obligations WHERE status = 'open' AND platform_id IS NOT NULL AND form LIKE ?"
        " ORDER BY tenant, platform, reference",
        ('%"reminder_on"%',),
    )
    rows = cursor.fetchall()  # few: one or two a worker a year; read whole so no statement stays open
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def sent_for(conn: sqlite3.Connection, rows: Iterable[sqlite3.Row]) -> set[tuple[str, str, str]]:
    """(tenant, platform, reference) of every reminder queued before for these obligations."""
    wanted: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        wanted.setdefault((row["tenant"], row["platform"]), []).append(row["reference"])
    return _found(conn, wanted, "obligation_reference")


def already_sent(conn: sqlite3.Connection, keys: Iterable[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """Those of these reminder keys queued before, whichever obligation they were queued for."""
    wanted: dict[tuple[str, str], list[str]] = {}
    for tenant, platform, reference in keys:
        wanted.setdefault((tenant, platform), []).append(reference)
    return _found(conn, wanted, "reference")


def _found(
    conn: sqlite3.Connection, wanted: dict[tuple[str, str], list[str]], column: str
) -> set[tuple[str, str, str]]:
    found: set[tuple[str, str, str]] = set()
    for (tenant, platform), values in wanted.items():
        for start in range(0, len(values), IN_CHUNK):
            chunk = values[start : start + IN_CHUNK]
            marks = ", ".join("?" * len(chunk))
            found.update(
                (tenant, platform, row[0])
                for row in conn.execute(
                    f"SELECT reference FROM reminders WHERE tenant = ? AND platform = ? AND {column} IN ({marks})",
                    (tenant, platform, *chunk),
                )
            )
    return found
