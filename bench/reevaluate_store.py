"""Benchmark: a rule-pack change re-evaluating a caseload stored in the database, until every difference is queued.

Builds, deterministically, a SQLite store holding `--cases` open Lincolnshire cases (default 500,000) as the
events the connector would have accepted (each case allocated to one of `--workers` workers, its status, and
case supervisions every 3 to 8 weeks over a year; every worker's `worker.updated`), all processed. A first
`Service.reevaluate_if_rules_changed()` builds the ledger (every obligation created and queued). Then the tenant's
pack is changed (a copy of the shipped Lincolnshire pack where a Child Protection keyworker's case supervision is
due every three weeks, not four) and the service started again; the timed step is its
`reevaluate_if_rules_changed()`, which ends once every difference is in the outbox. Prints its time, the writes
it queued, and where its CPU time went (cProfile of the same step, by the pipeline's stages).

    python bench/reevaluate_store.py [--cases 500000] [--workers 30000] [--processes N]
        [--baseline-processes 1] [--baseline-unnarrowed] [--keep DIR] [--profile]

The change runs with `service.reevaluation_processes = --processes` (0, the default: one process per core); its
CPU time counts its child processes'. The same change is then run in `--baseline-processes` processes (default
1) on a copy of the store taken before it, for a same-run baseline. With `--baseline-unnarrowed`, the baseline
runs in the same processes as the change but re-evaluates every case, as before a change of case-level timing
rules alone was narrowed to the cases they applied to (pipeline/rule_change.py). While each runs, a probe writes an inbox row
every 50 ms from another process, as intake would, and the longest wait for the write lock is
printed. With `--keep DIR`, the store as evaluated once is kept under DIR (by cases and workers) and a later run
starts from a copy of it: at 500,000 cases building it takes most of the run.

Delivery to the platform is not part of it (nothing is written to Mosaic). Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import random
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.daily_store import ROLES, case_events
from bench.intake_probe import IntakeProbeProcess

from connector.config import Config, parse_config
from connector.pipeline.inbox import subject_keys
from connector.sandbox.run import STEP_TYPES
from connector.service import Service
from connector.store.database import Database
from connector.store.event_codec import event_to_json
from connector.store.migrations import utc_position
from rules.events import (
    Event,
    WorkerUpdated,
)
from rules.pack import PACKS_DIR

TODAY = date(2026, 11, 22)
YEAR_AGO = TODAY - timedelta(days=365)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=500_000)
    parser.add_argument("--workers", type=int, default=30_000)
    parser.add_argument("--profile", action="store_true", help="also profile the timed step, by stage")
    parser.add_argument(
        "--processes", type=int, default=0, help="service.reevaluation_processes of the change (0: one per core)"
    )
    parser.add_argument(
        "--baseline-processes", type=int, default=1,
        help="also the same change in this many processes, on a copy of the store (0: not)",
    )  # fmt: skip
    parser.add_argument(
        "--baseline-unnarrowed", action="store_true",
        help="the baseline re-evaluates every case (the change is not narrowed to the cases its rule applied to)",
    )  # fmt: skip
    parser.add_argument(
        "--keep", type=Path, help="keep the evaluated store under this folder, and start from it when it is there"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        changed_pack = work / "lincolnshire-changed.toml"
        text = (PACKS_DIR / "lincolnshire.toml").read_text(encoding="utf-8")
        cp_rule = text.index('id = "LINC-CS-CP"')
        every = text.index("every_days = 28", cp_rule)
        changed_pack.write_text(text[:every] + "every_days = 21" + text[every + len("every_days = 28") :])

        kept = args.keep / f"{args.cases}-{args.workers}" if args.keep else None
        pristine = work / "pristine"  # the store as evaluated once, which each timed run starts from a copy of
        if kept is not None and (kept / "bench.db").exists():
            pristine = kept
            print(f"the evaluated store of {args.cases:,} cases and {args.workers:,} workers is kept in {kept}")
        else:
            build(work, args.cases, args.workers)
            pristine.mkdir()
            _copy(work, pristine)
            if kept is not None:
                kept.mkdir(parents=True, exist_ok=True)
                _copy(work, kept)
        runs = [(f"rule-pack change, {args.processes or 'one per core'} processes", args.processes, True)]
        if args.baseline_unnarrowed:
            runs.append(("the same, every case re-evaluated (same run, a copy of the store)", args.processes, False))
        elif args.baseline_processes and args.baseline_processes != args.processes:
            runs.append((f"the same in {args.baseline_processes} (same run, a copy of the store)", args.baseline_processes, True))
        found = []
        for n, (label, processes, narrowed) in enumerate(runs):
            # Each run on a fresh copy, written out first: at 500,000 cases the copies are 9 GB each, and a run
            # reading a copy the next one's had pushed out of the page cache, or sharing the disk with its
            # write-back, measured the disk.
            folder = work / f"run-{n}"
            folder.mkdir()
            _copy(pristine, folder)
            profile = cProfile.Profile(time.process_time) if args.profile and n == 0 else None
            with unnarrowed(not narrowed):
                found.append(timed(label, folder, changed_pack, processes, args.cases, profile))
            if profile is not None:
                stages(profile)
            shutil.rmtree(folder)
        if len(found) == 2:
            (took, cpu), (then, then_cpu) = found
            print(f"ratio: {then / took:.2f}x the wall time's speed, {then_cpu / cpu:.2f}x the CPU's")


@contextlib.contextmanager
def unnarrowed(on: bool) -> Iterator[None]:
    """While `on`, a pack change re-evaluates every case of the kinds it changed, not only those its changed
    case-level rules applied to: what the service did before that narrowing."""
    if not on:
        yield
        return
    from connector.pipeline import rule_change

    real = rule_change.case_rules_changed
    rule_change.case_rules_changed = lambda previous, current: None
    try:
        yield
    finally:
        rule_change.case_rules_changed = real


def _copy(source: Path, target: Path) -> None:
    """The store's file (and a WAL left beside it: every connection closed, normally none), synced to disk."""
    for name in ("bench.db", "bench.db-wal"):
        if (source / name).exists():
            shutil.copy(source / name, target / name)
            with (target / name).open("rb") as copied:
                os.fsync(copied.fileno())


def build(work: Path, cases: int, workers: int) -> None:
    """The store of `cases` open cases, processed, and evaluated once (the ledger built, every write queued)."""
    started = time.perf_counter()
    db = Database(config_for(work, "lincolnshire").database)
    db.migrate()
    events = store_caseload(db, cases, workers)
    db.close()
    print(
        f"stored {cases:,} open cases and {workers:,} workers as {events:,} processed events"
        f" in {time.perf_counter() - started:.1f} s"
    )
    started = time.perf_counter()
    first = run(config_for(work, "lincolnshire"), None)
    print(f"first evaluation (builds the ledger): {time.perf_counter() - started:.1f} s, {first['queued']:,} writes queued")


def timed(
    label: str, folder: Path, pack: Path, processes: int, cases: int, profile: cProfile.Profile | None
) -> tuple[float, float]:
    """The pack change on the store in `folder`: its wall and CPU seconds, printed with what it queued."""
    # CPU time, not wall: on a shared machine the wall clock is mostly waiting for a core. The re-evaluation's
    # child processes (service.reevaluation_processes) are counted once they end.
    started, cpu, theirs = time.perf_counter(), time.process_time(), _children_cpu()
    second = run(config_for(folder, str(pack), processes), profile)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    theirs = _children_cpu() - theirs - float(second["probe_cpu"])  # type: ignore[arg-type]
    print(
        f"{label}: {took:.1f} s until every difference is in the outbox ({cases / took:,.0f} cases/s;"
        f" {cpu + theirs:.1f} s CPU, {theirs:.1f} s of it in child processes, so {cases / (cpu + theirs):,.0f}"
        f" cases/s per core); {second['counts']}, {second['pending']:,} writes pending in the outbox (a move"
        " of a write not yet delivered replaces it); peak memory"
        f" {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (the largest child so far"
        f" {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MiB)"
    )
    print(f"  write transactions of this process: {second['holds']}")
    print(f"  intake's wait (another process, a row every 50 ms): {second['probe']}")
    return took, cpu + theirs


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def config_for(folder: Path, pack: str, processes: int = 0) -> Config:
    return parse_config(
        {
            "storage": {"database": str(folder / "bench.db")},
            "service": {"reevaluation_processes": processes},
            "tenants": [
                {
                    "id": "lincolnshire",
                    "rule_pack": pack,
                    "reference_prefix": "linc",
                    "mosaic": {
                        "base_url": "http://127.0.0.1:9/api",  # never called: nothing is delivered
                        "api_token": "bench-token",
                        "webhook_secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
                        "step_types": dict(STEP_TYPES),
                    },
                }
            ],
        },
        base_dir=folder,
        environ={},
    )


class Holds:
    """How long each write transaction held the database's write lock (wall and this thread's CPU seconds): what
    a webhook arriving meanwhile would wait for."""

    def __init__(self, db: Database) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        original = db.transaction

        @contextlib.contextmanager
        def timed() -> Iterator[sqlite3.Connection]:
            wall, cpu = time.perf_counter(), time.thread_time()
            with original() as conn:
                yield conn
            self.wall.append(time.perf_counter() - wall)
            self.cpu.append(time.thread_time() - cpu)

        db.transaction = timed  # type: ignore[method-assign]

    def summary(self) -> str:
        if not self.wall:
            return "no write transactions"
        wall = sorted(self.wall)
        return (
            f"{len(wall)} write transactions, the longest held the write lock {1000 * wall[-1]:.0f} ms"
            f" ({1000 * max(self.cpu):.0f} ms CPU at most), median {1000 * wall[len(wall) // 2]:.0f} ms"
        )


def run(config: Config, profile: cProfile.Profile | None) -> dict[str, object]:
    """One start of the service's rule-change check, as `connector serve` does at start."""
    service = Service(config, today=lambda: TODAY)
    db = service.db
    before = db.scalar("SELECT COUNT(*) FROM outbox") or 0
    holds = Holds(db)
    probe = IntakeProbeProcess(db.path, "own").start()
    if profile is not None:
        profile.enable()
    changed = service.reevaluate_if_rules_changed()
    if profile is not None:
        profile.disable()
    waits = probe.stop()
    if not changed:  # the first start only records the fingerprint: evaluate everything once
        service.reevaluate_everything()
    pending = int(db.scalar("SELECT COUNT(*) FROM outbox") or 0)
    service.close()
    return {
        "queued": pending - int(before),
        "pending": pending,
        "counts": changed.get("lincolnshire"),
        "holds": holds.summary(),
        "probe_cpu": probe.cpu,
        "probe": f"{waits['writes']:.0f} writes, p99 {waits['p99_ms']:.0f} ms, longest {waits['p100_ms']:.0f} ms",
    }


def store_caseload(db: Database, cases: int, workers: int) -> int:
    rng = random.Random(3)
    at = datetime(2025, 11, 1, 8, tzinfo=UTC)
    rows: list[Event] = []
    for n in range(workers):
        worker_id = str(10_000 + n)
        team = n // 15
        manager = str(10_000 + team * 15)
        rows.append(
            WorkerUpdated(
                f"w-{worker_id}",
                at,
                worker_id,
                str(team),
                None if worker_id == manager else manager,
                "TEAM_MANAGER" if worker_id == manager else rng.choice(ROLES),
                worker_id != manager,
                worker_id == manager,
                True,
                False,
                "permanent",
                YEAR_AGO - timedelta(days=rng.randint(0, 3000)),
            )
        )
    for n in range(cases):
        case_id = str(1_000_000 + n)
        worker = 10_000 + rng.randrange(workers)
        if (worker - 10_000) % 15 == 0:
            worker += 1  # managers hold no cases
        worker_id, team = str(min(worker, 10_000 + workers - 1)), str((worker - 10_000) // 15)
        rows += case_events(rng, case_id, worker_id, team, YEAR_AGO, TODAY)
        if len(rows) > 50_000:
            _insert(db, rows)
            rows = []
    _insert(db, rows)
    return int(db.scalar("SELECT COUNT(*) FROM inbox") or 0)


def _insert(db: Database, events: list[Event]) -> None:
    """Straight into the inbox as processed events (what intake and processing would have left)."""
    now = datetime.now(UTC).isoformat()
    with db.transaction() as conn:
        for event in events:
            cursor = conn.execute(
                "INSERT INTO inbox (tenant, platform, webhook_id, event_type, occurred_at, received_at, event,"
                " state, processed_at) VALUES ('lincolnshire', 'mosaic', ?, ?, ?, ?, ?, 'processed', ?)",
                (
                    event.event_id,
                    event.type_name,
                    event.occurred_at.isoformat(),
                    now,
                    json.dumps(event_to_json(event), separators=(",", ":")),
                    now,
                ),
            )
            # With the fold position, as intake writes it: kept state folds a subject from the events after one.
            at = utc_position(event.occurred_at.isoformat())
            conn.executemany(
                "INSERT INTO event_subjects (seq, tenant, platform, subject, at)"
                " VALUES (?, 'lincolnshire', 'mosaic', ?, ?)",
                [(cursor.lastrowid, key, at) for key in sorted(subject_keys(event))],
            )


STAGES = {
    "list the subjects (Inbox.subjects)": ("inbox.py", "subjects"),
    "read kept folds in bulk (SQL + unpickle)": ("kept_state.py", "read_many"),
    "read folds one by one (checkpoint + events since)": ("kept_state.py", "_stored"),
    "decode events": ("event_codec.py", "event_from_json"),
    "make facts from folds": ("folds.py", "facts"),
    "rule engine (obligations, next day to re-evaluate)": ("engine/__init__.py", ""),
    "  of it, teams (fold read included)": ("processor.py", "_team"),
    "digest each subject's obligations": ("owner_digest.py", "desired_digest"),
    "read stored days and digests": ("reevaluate_on.py", "stored"),
    "texts and met checks of subjects to diff": ("reevaluation.py", "before_the_lock"),
    "ledger diff + outbox (subjects to diff)": ("ledger.py", "apply"),
    "write transactions (BEGIN, COMMIT, WAL checkpoint)": ("database.py", "transaction"),
}


def stages(profile: cProfile.Profile) -> None:
    """Cumulative time of each pipeline stage's entry point (stages nest: texts are inside the ledger's)."""
    stats = pstats.Stats(profile)
    table = stats.stats  # type: ignore[attr-defined]
    total = max(ct for (_, _, _, ct, _) in table.values())
    print(f"where the CPU time went (cProfile, {total:.1f} s profiled; stages may nest):")
    for stage, (file, prefix) in STAGES.items():
        seconds = sum(
            ct
            for (filename, _, name), (_, _, _, ct, _) in table.items()
            if filename.endswith(file) and name.startswith(prefix)
        )
        print(f"  {stage}: {seconds:.1f} s ({100 * seconds / total:.0f}%)")


if __name__ == "__main__":
    main()
