"""Benchmark: what one more event costs to process, against how much history its subject already has.

For a child (case supervisions of one case), a worker (personal supervisions of one worker), a team (team
briefs of one team) and a team's caseload (allocations of new children to workers of one team, whose events
name the team though its fold takes none), stores 0, 100, 1,000 and 10,000 earlier events, processes them,
then times processing one more event of the same subject (the median of `--repeat` events, each its own batch, as the service does).
Prints the cost per event (CPU time of the process, and wall time beside it) and its ratio to the cost with no
history, for the kept state and, as the baseline in the same run, with every fold made again from all the
subject's events (the kept state dropped before each event: the path before kept state). `--refold` runs only
the baseline, `--no-baseline` only the kept state.

    python bench/history_cost.py [--sizes 0,100,1000,10000] [--repeat 15] [--refold | --no-baseline]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connector.config import parse_config
from connector.pipeline.processor import Processor
from connector.sandbox.run import STEP_TYPES
from connector.store.database import Database
from rules.events import CaseAllocated, Event, Relationship, SupervisionRecorded, WorkerUpdated

TODAY = date(2026, 12, 1)
START = datetime(2000, 1, 1, 9, tzinfo=UTC)


def session(n: int, subject: str) -> Event:
    at = START + timedelta(hours=n)
    if subject == "caseload":
        # Team 330 is named by its cases' events only (no worker.updated names it).
        worker = str(6000 + n % 50)
        return CaseAllocated(
            f"s{n}", at, str(2_000_000 + n), worker, "330", Relationship.ALLOCATED_WORKER, at.date()
        )
    kind = {"child": "case", "worker": "personal", "team": "team_brief"}[subject]
    return SupervisionRecorded(
        f"s{n}",
        at,
        kind,
        "5521",
        "5500",
        "310",
        ("100234",) if subject == "child" else (),
        at.date(),
        at.date(),
        False,
    )


def setup() -> list[Event]:
    at = START - timedelta(days=1)
    return [
        WorkerUpdated(
            "w",
            at,
            "5521",
            "310",
            "5500",
            "SOCIAL_WORKER",
            True,
            False,
            True,
            False,
            "permanent",
            date(1999, 1, 4),
        ),
        CaseAllocated("a", at, "100234", "5521", "310", Relationship.ALLOCATED_WORKER, at.date()),
    ]


def measure(subject: str, earlier: int, repeat: int, refold: bool) -> tuple[float, float]:
    """The median wall and CPU milliseconds of processing one more event of the subject."""
    with tempfile.TemporaryDirectory() as folder:
        config = parse_config(
            {
                "storage": {"database": str(Path(folder) / "bench.db")},
                "tenants": [
                    {
                        "id": "lincolnshire",
                        "rule_pack": "lincolnshire",
                        "reference_prefix": "linc",
                        "mosaic": {
                            "base_url": "http://127.0.0.1:9/api",
                            "api_token": "bench-token",
                            "step_types": dict(STEP_TYPES),
                            "webhook_secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
                        },
                    }
                ],
            },
            base_dir=Path(folder),
            environ={},
        )
        db = Database(config.database)
        db.migrate()
        processor = Processor(db, config, lambda: TODAY)
        for e in setup():
            processor.inbox.accept("lincolnshire", "mosaic", e.event_id, e)
        for n in range(earlier):
            e = session(n, subject)
            processor.inbox.accept("lincolnshire", "mosaic", e.event_id, e)
        processor.run_until_idle(limit=1000)
        # Every size starts timing from an empty write-ahead log, so none pays for copying the set-up's pages.
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        times = []
        cpu = []
        for n in range(earlier, earlier + repeat):
            e = session(n, subject)
            processor.inbox.accept("lincolnshire", "mosaic", e.event_id, e)
            if refold:
                db.conn.execute("DELETE FROM subject_folds")
                processor.folds.clear()
            started, started_cpu = time.perf_counter(), time.process_time()
            processor.run_once(limit=1)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        db.close()
    return statistics.median(times) * 1000, statistics.median(cpu) * 1000


def curve(subject: str, sizes: list[int], repeat: int, refold: bool) -> str:
    costs = [measure(subject, n, repeat, refold) for n in sizes]
    cells = ", ".join(f"{n:,}: {c:.2f} ms ({w:.2f})" for n, (w, c) in zip(sizes, costs, strict=True))
    return f"{cells}  (x{costs[-1][1] / costs[0][1]:.2f} from {sizes[0]:,} to {sizes[-1]:,})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="0,100,1000,10000")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--refold",
        action="store_true",
        help="only the baseline: every fold made from all the subject's events",
    )
    parser.add_argument("--no-baseline", action="store_true", help="only the kept state, no re-fold baseline")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    paths = [("kept state", False), ("re-folded", True)]
    if args.refold:
        paths = paths[1:]
    elif args.no_baseline:
        paths = paths[:1]
    print(
        f"per-event processing cost, CPU ms (wall ms in brackets), median of {args.repeat};"
        f" x = CPU ratio from {sizes[0]:,} to {sizes[-1]:,} earlier events:"
    )
    for subject in ("child", "worker", "team", "caseload"):
        for name, refold in paths:
            print(f"  {subject:<8} {name:<10} {curve(subject, sizes, args.repeat, refold)}")


if __name__ == "__main__":
    main()
