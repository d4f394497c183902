"""What the daily tick reads: the open obligations it decides on, a slice at a time, and the reminders already
sent for them, so its memory is a slice's and a day's, not the ledger's, and its reads do not grow with the
reminders of years gone by.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

from connector.pipeline.reminder_texts import Said
from connector.store.engines.base import Connection, Row
from connector.store.migrations import DATED_REMINDERS

# Only what deciding reads: the explanation and the rest of the ledger row are never needed here.
COLUMNS = "tenant, platform, reference, kind, case_id, assignee_id, due_date, rules, platform_id, overdue_since, form"
# Parameters per IN list: well under every SQLite build's limit (999 before 3.32).
IN_CHUNK = 500


def open_due_by(conn: Connection, until: date, size: int) -> Iterator[list[Row]]:
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
    pending: list[Row] = []
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


def open_with_dated_reminders(conn: Connection, size: int) -> Iterator[list[Row]]:
    """The open obligations written to their platform whose form dates a reminder of their own, in slices."""
    # The condition of the index of them alone (migration 20), spelled the same so that the index is used.
    cursor = conn.execute(
        f"SELECT {COLUMNS} FROM obligations WHERE {DATED_REMINDERS} ORDER BY tenant, platform, reference"
    )
    rows = cursor.fetchall()  # few: one or two a worker a year; read whole so no statement stays open
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def said_for(
    conn: Connection, rows: Iterable[Row]
) -> tuple[set[tuple[str, str, str]], dict[tuple[str, str, str], list[Said]]]:
    """(tenant, platform, reference) of every reminder queued before for these obligations and, in the same
    read, their live ladder reminders that kept what they said, by (tenant, platform, obligation reference):
    those written before digests were kept are left out, as matching."""
    wanted: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        wanted.setdefault((row["tenant"], row["platform"]), []).append(row["reference"])
    sent: set[tuple[str, str, str]] = set()
    live: dict[tuple[str, str, str], list[Said]] = {}
    for (tenant, platform), values in wanted.items():
        for start in range(0, len(values), IN_CHUNK):
            chunk = values[start : start + IN_CHUNK]
            marks = ", ".join("?" * len(chunk))
            # Read by position (a sqlite3.Row looks a name up by comparing it with each column's): a slice
            # reads tens of thousands.
            for obligation, reference, rung, said, worker_id, due_date, withdrawn_at in conn.execute(
                "SELECT obligation_reference, reference, rung, said, worker_id, due_date, withdrawn_at"
                f" FROM reminders WHERE tenant = ? AND platform = ? AND obligation_reference IN ({marks})",
                (tenant, platform, *chunk),
            ):
                sent.add((tenant, platform, reference))
                if withdrawn_at is None and said is not None and rung is not None:
                    held = Said(reference, rung, said, worker_id, due_date)
                    live.setdefault((tenant, platform, obligation), []).append(held)
    return sent, live


def already_sent(conn: Connection, keys: Iterable[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """Those of these reminder keys queued before, whichever obligation they were queued for."""
    wanted: dict[tuple[str, str], list[str]] = {}
    for tenant, platform, reference in keys:
        wanted.setdefault((tenant, platform), []).append(reference)
    return _found(conn, wanted, "reference")


def _found(
    conn: Connection, wanted: dict[tuple[str, str], list[str]], column: str
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


# What a webhook processed meanwhile may change about an obligation the tick decided on without the lock.
DECIDED_ON = ("case_id", "assignee_id", "due_date", "rules", "platform_id", "form")


def still_as_read(conn: Connection, rows: Iterable[Row]) -> set[tuple[str, str, str]]:
    """Of these obligations read before the write lock, (tenant, platform, reference) of those still open and as
    read (in the caller's transaction). A tick decides without the lock, so an event processed meanwhile may have
    moved or ended one: what was decided for it is stale, and the next tick decides it again."""
    read: dict[tuple[str, str], dict[str, tuple[object, ...]]] = {}
    for row in rows:
        read.setdefault((row["tenant"], row["platform"]), {})[row["reference"]] = tuple(row[c] for c in DECIDED_ON)
    found: set[tuple[str, str, str]] = set()
    for (tenant, platform), by_reference in read.items():
        references = list(by_reference)
        for start in range(0, len(references), IN_CHUNK):
            chunk = references[start : start + IN_CHUNK]
            marks = ", ".join("?" * len(chunk))
            for row in conn.execute(
                f"SELECT reference, {', '.join(DECIDED_ON)} FROM obligations WHERE tenant = ? AND platform = ?"
                f" AND status = 'open' AND reference IN ({marks})",
                (tenant, platform, *chunk),
            ):
                if tuple(row[c] for c in DECIDED_ON) == by_reference[row["reference"]]:
                    found.add((tenant, platform, row["reference"]))
    return found
