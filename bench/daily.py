"""Benchmark: the daily run (the day's re-evaluation, then the tick) over a caseload stored in the database.

Builds, as `bench/reevaluate_store.py` does, `--cases` open Lincolnshire cases (default 500,000) held by
`--workers` workers, all their events processed, and evaluates them once as of that bench's day (which builds the
ledger and each subject's day to re-evaluate on). Then, on a copy of that database each, runs the next day's
`Service.daily` (re-evaluation of only the subjects the day can change, then the tick: reminders, overdue marks)
and, with `--baseline`, the same day with every subject re-evaluated (as before the daily run was narrowed).
Each runs in a process of its own, so its peak memory is its own. Nothing is delivered to a platform.

    python bench/daily.py [--cases 500000] [--workers 30000] [--baseline] [--day 2027-04-01]

`--day` is the day of the timed run (default the day after the evaluation; 1 April starts a practice year, so
every worker is re-evaluated).

Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.reevaluate_store import TODAY, config_for, store_caseload

from connector.pipeline.processor import Evaluator
from connector.service import Service
from connector.store.database import Database

DAY = TODAY + timedelta(days=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=500_000)
    parser.add_argument("--workers", type=int, default=30_000)
    parser.add_argument(
        "--baseline", action="store_true", help="also time the day with every subject re-evaluated"
    )
    parser.add_argument("--day", type=date.fromisoformat, default=DAY, help="the day of the timed run")
    parser.add_argument("--phase", choices=["build", "narrowed", "full"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase is not None:
        print(json.dumps(phase(args.phase, args.folder, args.cases, args.workers, args.day)))
        return

    with tempfile.TemporaryDirectory() as name:
        base = Path(name) / "base"
        base.mkdir()
        built = child("build", base, args)
        print(
            f"stored and evaluated {args.cases:,} open cases and {args.workers:,} workers"
            f" ({built['events']:,} events) in {built['seconds']:.1f} s"
        )
        for kind in ("narrowed", "full") if args.baseline else ("narrowed",):
            folder = Path(name) / kind
            shutil.copytree(base, folder)
            found = child(kind, folder, args)
            print(
                f"daily run of {args.day}, {'only the subjects the day can change' if kind == 'narrowed' else 'every subject'}:"
                f" {found['seconds']:.1f} s (re-evaluation {found['reevaluate']:.1f} s of"
                f" {found['evaluated']:,} subjects, tick {found['tick']:.1f} s: {found['reminders']:,} reminders,"
                f" {found['overdue']:,} newly overdue); peak memory {found['peak_mib']:.0f} MiB"
            )
            shutil.rmtree(folder)


def child(kind: str, folder: Path, args: argparse.Namespace) -> dict[str, float]:
    command = [sys.executable, __file__, "--phase", kind, "--folder", str(folder)]
    command += ["--cases", str(args.cases), "--workers", str(args.workers), "--day", args.day.isoformat()]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def phase(kind: str, folder: Path, cases: int, workers: int, day: date) -> dict[str, float]:
    config = config_for(folder, "lincolnshire")
    started = time.perf_counter()
    if kind == "build":
        db = Database(config.database)
        db.migrate()
        events = store_caseload(db, cases, workers)
        db.close()
        service = Service(config, today=lambda: TODAY)
        service.reevaluate_if_rules_changed()  # records the fingerprint
        service.reevaluate_everything()
        service.tick(TODAY)
        service.close()
        return {"events": events, "seconds": time.perf_counter() - started}

    evaluated = [0]
    real = Evaluator.obligations

    def counted(self: Evaluator, facts: object, owner: str, today: object) -> object:
        evaluated[0] += 1
        return real(self, facts, owner, today)  # type: ignore[arg-type]

    Evaluator.obligations = counted  # type: ignore[method-assign, assignment]
    service = Service(config, today=lambda: day)
    started = time.perf_counter()
    service.reevaluate_everything(only_due=kind == "narrowed")
    reevaluated = time.perf_counter() - started
    counts = service.tick(day)
    took = time.perf_counter() - started
    service.close()
    return {
        "seconds": took,
        "reevaluate": reevaluated,
        "tick": took - reevaluated,
        "evaluated": evaluated[0],
        "reminders": counts.reminders + counts.escalations,
        "overdue": counts.overdue,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


if __name__ == "__main__":
    main()
