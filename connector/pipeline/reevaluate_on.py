"""The day each subject is next re-evaluated by the daily run: the first day on which the day alone may change
its obligations (rules.engine.changes), written whenever it is evaluated. A subject with no such day is left to
its events and to a rule or config change (which re-evaluates every subject that reads what changed, and of the
others those due here: pipeline/rule_change.py). Beside it, the digest of the
obligations its last diff made the ledger hold (pipeline/owner_digest.py); NULL for an owner that could not be
evaluated, so its next diff is made in full. And for a case, `reads`: the case-level timing rules that applied
to it (rules.engine.cases.case_reads), so a pack change of only such rules re-evaluates only the cases one of
them applied to; NULL (not a case, not evaluated, or a row from before it) is taken by every such change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from connector.store.engines.base import Connection

NEVER = "9999-12-31"  # sorts after every real day, so one comparison selects the due
# Owners per `stored` query (well under any database's limit on parameters).
STORED_PART = 500

# What is stored of an owner: (its day, its digest, the rules it read).
Stored = tuple[str, str | None, str | None]
_SEPARATOR = " "  # rule ids are codes without spaces (rules/pack/load.py)


def reads_text(rules: frozenset[str]) -> str:
    return _SEPARATOR.join(sorted(rules))


def cases_reading(conn: Connection, tenant: str, platform: str, rules: frozenset[str]) -> list[str]:
    """The cases whose last evaluation read one of these rules, and those with none stored (every case the
    connector ever evaluated has a row: one never evaluated is among `due_owners`'s)."""
    rows = conn.execute(
        "SELECT owner, reads FROM reevaluate_on WHERE tenant = ? AND platform = ? AND owner LIKE 'case:%'",
        (tenant, platform),
    )
    return [owner for owner, read in rows if read is None or not rules.isdisjoint(read.split(_SEPARATOR))]


def day_text(day: date | None) -> str:
    return NEVER if day is None else day.isoformat()


def digest_unchanged(known: Mapping[str, Stored], owner: str, digest: str) -> bool:
    """Whether the owner's last diff stored this digest: the ledger already holds these obligations."""
    before = known.get(owner)
    return before is not None and before[1] == digest


def save_reevaluate_on(
    conn: Connection,
    tenant: str,
    platform: str,
    changes: Mapping[str, date | None],
    digests: Mapping[str, str] | None = None,
    stored: Mapping[str, Stored] | None = None,
    reads: Mapping[str, str | None] | None = None,
) -> None:
    """Write each owner's day, digest and rules read (`digests`, `reads`; an owner missing from one gets none);
    with `stored` (what `stored` read), only those that differ from it, so an unchanged re-evaluation writes
    nothing."""
    found = digests or {}
    read = reads or {}
    rows = []
    for owner, day in changes.items():
        row = (day_text(day), found.get(owner), read.get(owner))
        if stored is None or stored.get(owner) != row:
            rows.append((tenant, platform, owner, *row))
    conn.executemany(
        "INSERT INTO reevaluate_on (tenant, platform, owner, on_date, digest, reads) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (tenant, platform, owner) DO UPDATE SET on_date = excluded.on_date,"
        " digest = excluded.digest, reads = excluded.reads",
        rows,
    )


def stored(conn: Connection, tenant: str, platform: str, owners: Sequence[str]) -> dict[str, Stored]:
    """The stored day, digest and rules read of each of these owners that has them, a query per 500 owners."""
    found: dict[str, Stored] = {}
    for start in range(0, len(owners), STORED_PART):
        part = owners[start : start + STORED_PART]
        for row in conn.execute(
            "SELECT owner, on_date, digest, reads FROM reevaluate_on WHERE tenant = ? AND platform = ?"
            f" AND owner IN ({', '.join('?' * len(part))})",
            (tenant, platform, *part),
        ):
            found[row[0]] = (row[1], row[2], row[3])
    return found


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
