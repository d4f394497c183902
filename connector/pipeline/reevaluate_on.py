"""The day each subject is next re-evaluated by the daily run: the first day on which the day alone may change
its obligations (rules.engine.changes), written whenever it is evaluated. A subject with no such day is left to
its events and to a rule or config change, which re-evaluate everything anyway.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import date

NEVER = "9999-12-31"  # sorts after every real day, so one comparison selects the due


def save_reevaluate_on(
    conn: sqlite3.Connection, tenant: str, platform: str, changes: Mapping[str, date | None]
) -> None:
    conn.executemany(
        "INSERT INTO reevaluate_on (tenant, platform, owner, on_date) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (tenant, platform, owner) DO UPDATE SET on_date = excluded.on_date",
        [
            (tenant, platform, owner, NEVER if day is None else day.isoformat())
            for owner, day in changes.items()
        ],
    )


def not_due(conn: sqlite3.Connection, tenant: str, platform: str, today: date) -> frozenset[str]:
    """The owners whose obligations cannot have changed by `today` with no new fact."""
    rows = conn.execute(
        "SELECT owner FROM reevaluate_on WHERE tenant = ? AND platform = ? AND on_date > ?",
        (tenant, platform, today.isoformat()),
    ).fetchall()
    return frozenset(row[0] for row in rows)
