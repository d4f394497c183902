"""Work that failed for one subject or obligation, kept (ids and the error only) so the rest can go on.

Stage 'evaluate' holds subjects ("case:<id>", "worker:<id>", "team:<id>") a re-evaluation could not evaluate;
stage 'tick' holds obligation references the daily tick could not handle. A later success clears the row.
"""

from __future__ import annotations

from collections.abc import Iterable

from connector.store.database import Database, utc_now_text
from connector.store.engines.base import Connection


def record_failures(
    conn: Connection,
    tenant: str,
    platform: str,
    stage: str,
    tried: Iterable[str],
    failed: dict[str, str],
) -> None:
    """Keep what failed (subject ids and the error only) and clear what now succeeded."""
    now = utc_now_text()
    conn.executemany(
        "DELETE FROM failures WHERE tenant = ? AND platform = ? AND stage = ? AND subject = ?",
        [(tenant, platform, stage, s) for s in tried if s not in failed],
    )
    conn.executemany(
        "INSERT INTO failures (tenant, platform, stage, subject, failed_at, reason) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (tenant, platform, stage, subject) DO UPDATE SET failed_at = excluded.failed_at,"
        " reason = excluded.reason",
        [(tenant, platform, stage, s, now, reason[:500]) for s, reason in failed.items()],
    )


def count_failures(db: Database) -> int:
    return int(db.scalar("SELECT COUNT(*) FROM failures") or 0)
