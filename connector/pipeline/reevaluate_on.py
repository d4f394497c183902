"""The day each subject is next re-evaluated by the daily run: the first day on which the day alone may change
its obligations (rules.engine.changes), written whenever it is evaluated. A subject with no such day is left to
its events and to a rule or config change, which re-evaluate everything anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from connector.store.engines.base import Connection

NEVER = "9999-12-31"  # sorts after every real day, so one comparison selects the due


def save_reevaluate_on(
    conn: Connection, tenant: str, platform: str, changes: Mapping[str, date | None]
) -> None:
    conn.executemany(
        "INSERT INTO reevaluate_on (tenant, platform, owner, on_date) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (tenant, platform, owner) DO UPDATE SET on_date = excluded.on_date",
        [
            (tenant, platform, owner, NEVER if day is None else day.isoformat())
            for owner, day in changes.items()
        ],
    )


def due_owners(conn: Connection, tenant: str, platform: str, today: date) -> list[str] | None:
    """The subjects whose day has come by `today`, and the kept subjects with none stored yet; None when nothing
    is stored for this tenant's platform (a database from before it): then every subject is due."""
    if (
        conn.execute(
            "SELECT 1 FROM reevaluate_on WHERE tenant = ? AND platform = ? LIMIT 1", (tenant, platform)
        ).fetchone()
        is None
    ):
        return None
    rows = conn.execute(
        "SELECT owner FROM reevaluate_on WHERE tenant = ? AND platform = ? AND on_date <= ?"
        " UNION SELECT f.subject FROM subject_folds f LEFT JOIN reevaluate_on r"
        " ON r.tenant = f.tenant AND r.platform = f.platform AND r.owner = f.subject"
        " WHERE f.tenant = ? AND f.platform = ? AND r.owner IS NULL",
        (tenant, platform, today.isoformat(), tenant, platform),
    ).fetchall()
    return [row[0] for row in rows]
