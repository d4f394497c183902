"""Benchmark: `connector import` of a synthetic caseload extract, at two sizes, to show memory stays flat.

For each size, in a fresh process (so peak memory is that size's own), writes deterministic CSV files to a
temporary folder: `--cases` children each with one allocation and one status, held by workers (one per ~16
cases, 30,000 for 500,000 cases); then imports them into a fresh SQLite database exactly as the command does
(validate every row with the Mosaic schemas, spool, write 5,000 rows a transaction) and prints rows per second
and peak memory (ru_maxrss). A second import of the same files shows what a repeated import costs.

    python bench/import_extract.py [--cases 100000 500000]

Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connector.importing.importer import import_extract, plan_files
from connector.store.database import Database

STATUSES = ("CIN", "CP", "LAC", "CFP", "TAC", "CARE_EXPERIENCED", "EARLY_HELP")
ROLES = ("SOCIAL_WORKER", "SENIOR_PRACTITIONER", "FAMILY_SUPPORT_WORKER")


def write_extract(folder: Path, cases: int) -> list[Path]:
    rng = random.Random(cases)
    workers = max(1, cases // 16 if cases < 500_000 else 30_000)
    base = date(2026, 12, 1)
    paths = [folder / "workers.csv", folder / "allocations.csv", folder / "statuses.csv"]
    with paths[0].open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(
            [
                "worker_id",
                "team_id",
                "supervisor_id",
                "job_role",
                "case_holding",
                "supervises_case_holders",
                "frontline",
                "asye",
                "employment",
                "start_date",
                "end_date",
            ]
        )
        for w in range(workers):
            out.writerow(
                [
                    10_000 + w,
                    300 + w // 15,
                    10_000 + (w // 15) * 15 if w % 15 else "",
                    ROLES[w % 3] if w % 15 else "TEAM_MANAGER",
                    "true" if w % 15 else "false",
                    "false" if w % 15 else "true",
                    "true",
                    "false",
                    "permanent",
                    (base - timedelta(days=rng.randint(60, 4000))).isoformat(),
                    "",
                ]
            )
    with paths[1].open("w", newline="") as alloc, paths[2].open("w", newline="") as stat:
        a, s = csv.writer(alloc), csv.writer(stat)
        a.writerow(["person_id", "worker_id", "team_id", "relationship", "start_date"])
        s.writerow(["person_id", "status", "start_date", "permanency_plan_agreed", "fsm"])
        for c in range(cases):
            worker = 10_000 + rng.randrange(workers)
            start = base - timedelta(days=rng.randint(1, 900))
            a.writerow([1_000_000 + c, worker, 300 + (worker - 10_000) // 15, "ALLWKR", start.isoformat()])
            status = STATUSES[rng.randrange(len(STATUSES))]
            s.writerow(
                [1_000_000 + c, status, start.isoformat(), "false" if status == "LAC" else "", "false"]
            )
    return paths


def peak_mb() -> float:
    # ru_maxrss is KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one(cases: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        files = write_extract(folder, cases)
        rows = sum(1 for p in files for _ in p.open()) - len(files)
        size = sum(p.stat().st_size for p in files) / 1e6
        generated = time.perf_counter() - started
        memory_before = peak_mb()
        db = Database(folder / "connector.db")
        db.migrate()
        as_of = datetime(2026, 12, 1, 2, tzinfo=UTC)
        started = time.perf_counter()
        result = import_extract(db, "bench", "mosaic", plan_files(files, "mosaic", None), as_of)
        took = time.perf_counter() - started
        started = time.perf_counter()
        again = import_extract(db, "bench", "mosaic", plan_files(files, "mosaic", None), as_of)
        took_again = time.perf_counter() - started
        db.close()
        print(
            f"{cases:>8,} cases: {rows:>9,} rows ({size:,.0f} MB of CSV, generated in {generated:.1f} s);"
            f" import {took:6.1f} s = {rows / took:8,.0f} rows/s, stored {result.stored:,};"
            f" again {took_again:6.1f} s, stored {again.stored:,};"
            f" peak memory {peak_mb():,.0f} MB ({memory_before:,.0f} MB before importing)",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, nargs="+", default=[100_000, 500_000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        one(args.one)
        return
    for cases in args.cases:
        subprocess.run([sys.executable, __file__, "--one", str(cases)], check=True)


if __name__ == "__main__":
    main()
