"""Benchmark: an open subject's raw events and stored bytes after a long history, with and without compaction.

For each history length (`--years`), one worker holds three children's cases the whole time and an event comes
every `--every` days (case supervisions of each child, personal supervisions, team briefs, bookings, status
changes and now and then a change of supervisor). The events are stored and processed as the service does, the
database is copied, and the copy is compacted as the daily run would on the day after the last event
(`compact_after_days`, default 400). Printed for both, from the same store: the raw events linked to the worker
(`event_subjects`), the inbox rows, the stored bytes (the events' JSON, the kept folds, checkpoints and bases, and
the compacted webhook ids) and the database file after `VACUUM`; then the compaction's CPU time and its longest
transaction, and the obligations of both (which must be identical).

    python bench/compaction.py [--years 1,5,10] [--every 3] [--window 400]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connector.config import Config, parse_config
from connector.pipeline import compaction
from connector.pipeline.compaction import apply_compaction
from connector.pipeline.processor import Processor
from connector.sandbox.run import STEP_TYPES
from connector.store.database import Database
from rules.events import (
    CaseAllocated,
    CaseStatusChanged,
    Event,
    Relationship,
    SupervisionBooked,
    SupervisionRecorded,
    WorkerUpdated,
)

START = datetime(2010, 1, 4, 9, tzinfo=UTC)
CASES = ("100234", "100235", "100236")

# The stored bytes of what compaction touches, in SQL both engines read (the bench runs on SQLite).
BYTES = {
    "events": "SELECT COALESCE(SUM(LENGTH(event)), 0) FROM inbox",
    "folds": "SELECT COALESCE(SUM(LENGTH(state)), 0) FROM subject_folds",
    "checkpoints": "SELECT COALESCE(SUM(LENGTH(state)), 0) FROM fold_checkpoints",
    "bases": "SELECT COALESCE(SUM(LENGTH(state)), 0) FROM subject_bases",
    "ids kept": "SELECT COALESCE(SUM(LENGTH(webhook_id)), 0) FROM compacted_webhooks",
}


def worker(n: int, at: datetime) -> WorkerUpdated:
    supervisor = ("5500", "5501")[(n // 40) % 2]
    return WorkerUpdated(
        f"w{n}", at, "5521", "310", supervisor, "SOCIAL_WORKER", True, False, True, False, "permanent",
        date(2009, 6, 1),
    )  # fmt: skip


def history(years: int, every: int) -> list[Event]:
    events: list[Event] = [worker(0, START - timedelta(days=1))]
    events += [
        CaseAllocated(f"a{c}", START, c, "5521", "310", Relationship.ALLOCATED_WORKER, START.date())
        for c in CASES
    ]
    for n in range(1, years * 365 // every):
        at = START + timedelta(days=every * n, minutes=n % 600)
        held = (at - timedelta(days=n % 3)).date()
        case = CASES[n % 3]
        if n % 17 == 0:
            events.append(CaseStatusChanged(f"c{n}", at, case, ("CIN", "CP", "LAC")[n % 3], at.date()))
        elif n % 13 == 0:
            events.append(
                SupervisionBooked(
                    f"b{n}", at, f"bk{n % 5}", "personal", "5521", "5500", "310", (), at + timedelta(days=14),
                    60, "booked",
                )
            )  # fmt: skip
        elif n % 40 == 0:
            events.append(worker(n, at))
        else:
            kind = ("case", "case", "personal", "team_brief")[n % 4]
            cases = (case,) if kind == "case" else ()
            events.append(
                SupervisionRecorded(f"s{n}", at, kind, "5521", "5500", "310", cases, held, at.date(), False)
            )
    return events


def config_for(path: Path, window: int) -> Config:
    return parse_config(
        {
            "storage": {"database": str(path)},
            "tenants": [
                {
                    "id": "lincolnshire",
                    "rule_pack": "lincolnshire",
                    "reference_prefix": "linc",
                    "compact_after_days": window,
                    "mosaic": {
                        "base_url": "http://127.0.0.1:9/api",
                        "api_token": "bench-token",
                        "step_types": dict(STEP_TYPES),
                        "webhook_secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
                    },
                }
            ],
        },
        base_dir=path.parent,
        environ={},
    )  # fmt: skip


def figures(db: Database, path: Path) -> dict[str, object]:
    found: dict[str, object] = {
        "worker's raw events": int(
            db.scalar("SELECT COUNT(*) FROM event_subjects WHERE subject = 'worker:5521'")
        ),
        "inbox rows": int(db.scalar("SELECT COUNT(*) FROM inbox")),
    }
    stored = {name: int(db.scalar(sql) or 0) for name, sql in BYTES.items()}
    found["stored KiB"] = round(sum(stored.values()) / 1024, 1)
    for name, size in stored.items():
        found[f"  {name} KiB"] = round(size / 1024, 1)
    db.conn.execute("VACUUM")
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # VACUUM writes through the WAL
    found["file KiB (vacuumed)"] = round(path.stat().st_size / 1024, 1)
    return found


def obligations(db: Database) -> list[tuple[object, ...]]:
    return [
        tuple(r)
        for r in db.query(
            "SELECT reference, status, due_date, explanation FROM obligations ORDER BY reference"
        )
    ]


def run(years: int, every: int, window: int) -> None:
    events = history(years, every)
    today = max(e.occurred_at for e in events).date() + timedelta(days=1)
    with tempfile.TemporaryDirectory() as folder:
        plain = Path(folder) / "plain.db"
        config = config_for(plain, window)
        db = Database(plain)
        db.migrate()
        processor = Processor(db, config, lambda: today)
        for e in events:
            processor.inbox.accept("lincolnshire", "mosaic", e.event_id, e)
        processor.run_until_idle()
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        compacted = Path(folder) / "compacted.db"
        shutil.copy(plain, compacted)

        held = Database(plain)
        without = figures(held, plain)
        before = obligations(held)
        held.close()

        db = Database(compacted)
        longest = [0.0]
        write = compaction._write

        def timed(*args: object, **kw: object) -> compaction.CompactionCounts:
            started = time.perf_counter()
            try:
                return write(*args, **kw)  # type: ignore[arg-type]
            finally:
                longest[0] = max(longest[0], time.perf_counter() - started)

        compaction._write = timed
        cpu = time.process_time()
        counts = apply_compaction(db, config, today)
        cpu = time.process_time() - cpu
        compaction._write = write
        # The day's re-evaluation from the bases, to show the obligations are unchanged.
        Processor(db, config, lambda: today).reevaluate_all("lincolnshire", "mosaic")
        with_ = figures(db, compacted)
        after = obligations(db)
        db.close()

    print(f"\n{years} year(s), {len(events):,} events, window {window} days (compacted on {today}):")
    print(f"  {'':<24} {'without':>12} {'with':>12} {'ratio':>8}")
    for name, value in without.items():
        other = with_[name]
        assert isinstance(value, int | float) and isinstance(other, int | float)
        ratio = f"x{other / value:.3f}" if value else "-"
        print(f"  {name:<24} {value:>12,} {other:>12,} {ratio:>8}")
    print(
        f"  compaction: {counts.subjects} subjects, {counts.events_folded:,} links folded,"
        f" {counts.events_deleted:,} events deleted; {cpu * 1000:.0f} ms CPU,"
        f" longest transaction {longest[0] * 1000:.1f} ms"
    )
    print(f"  obligations identical: {before == after} ({len(after):,})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--years", default="1,5,10", help="history lengths, comma-separated")
    parser.add_argument("--every", type=int, default=3, help="days between events")
    parser.add_argument("--window", type=int, default=400, help="compact_after_days")
    args = parser.parse_args()
    for years in (int(y) for y in args.years.split(",")):
        run(years, args.every, args.window)


if __name__ == "__main__":
    main()
