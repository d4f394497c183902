"""Benchmark: a full re-evaluation of a national-scale synthetic caseload by each shipped rule pack.

Builds, deterministically, `--cases` open cases (default 500,000) held by `--workers` workers (default 30,000) in
teams of about 15, with a year of recorded sessions (case supervisions every 2 to 8 weeks, personal supervision
monthly), statuses spread as in a children's services caseload, and some transfers and involved workers. Then,
for each pack, times the rule engine alone over every case, worker and team, on one core (this process), and
prints cases per second, obligations produced and peak memory. Each pack is measured in a fresh process of its
own, and the engine is run as the service runs it: each subject's held sessions indexed (`rules.held`, as a kept
fold hands them over; `--no-held` leaves them out) and with the garbage collector's thresholds of a whole
re-evaluation (`--gc-threshold 50000 --gc-older 1000`, connector/pipeline/collector.py).

    python bench/reevaluate.py [--cases 500000] [--workers 30000] [--packs lincolnshire,bracknell-forest]
                               [--baseline DIR] [--gc-threshold N] [--gc-older N] [--no-held]

Facts are generated in chunks and dropped after evaluation, so peak memory is the engine's working set plus one
chunk, as in a real re-evaluation that folds subject by subject. Only the engine's calls are timed, in CPU
seconds of this process (one core; other work on the machine does not count against it), with the wall time
beside. `--baseline DIR` runs this same script, in a subprocess, against the engine of another checkout (a
directory holding `rules/` or `src/rules/`, e.g. `git worktree add /tmp/base bf65c15`) on the same caseload,
and prints each pack's figure beside it with the ratio. Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar


def _engine_root(argv: list[str]) -> Path:
    """The checkout whose `rules` this run imports: this one, or the one `--engine-from` names."""
    root = Path(__file__).resolve().parents[1]
    if "--engine-from" in argv:
        root = Path(argv[argv.index("--engine-from") + 1]).resolve()
    return root / "src" if (root / "src" / "rules").is_dir() else root


sys.path.insert(0, str(_engine_root(sys.argv)))

# After choosing which checkout's engine to import (the baseline's, in a --baseline subprocess).
from rules.calendar import WorkingCalendar  # noqa: E402
from rules.engine import Engine  # noqa: E402
from rules.model import (  # noqa: E402
    AgreedAction,
    Booking,
    CaseAllocation,
    CaseFacts,
    Session,
    StatusSpell,
    TeamFacts,
    WorkerFacts,
)
from rules.pack import load_pack, shipped_pack_names  # noqa: E402

try:  # a baseline checkout from before the held index has none
    from rules.held import SessionsKept
except ImportError:  # pragma: no cover
    SessionsKept = None  # type: ignore[assignment,misc]

# Whether facts carry their held sessions indexed, as the service's kept folds give them (`--no-held`: not).
INDEXED = ["--no-held" not in sys.argv]


Indexed = TypeVar("Indexed", CaseFacts, WorkerFacts)


def indexed(facts: Indexed) -> Indexed:
    """The facts with their sessions indexed as a kept fold indexes them, where this engine has the index."""
    if not INDEXED[0] or SessionsKept is None or "held" not in {f.name for f in dataclasses.fields(facts)}:
        return facts
    kept = SessionsKept()
    for session in facts.sessions:
        kept.add(session)
    return dataclasses.replace(facts, held=kept.index())  # type: ignore[call-arg]

AS_OF = date(2026, 11, 22)
YEAR_AGO = AS_OF - timedelta(days=365)
STATUSES = (
    ["CIN"] * 30
    + ["CP"] * 15
    + ["LAC"] * 25
    + ["CFP"] * 10
    + ["TAC"] * 10
    + ["CARE_EXPERIENCED"] * 5
    + ["EARLY_HELP"] * 5
)
ROLES = (
    ["SOCIAL_WORKER"] * 10
    + ["SENIOR_PRACTITIONER"] * 3
    + ["FAMILY_SUPPORT_WORKER"] * 2
    + [
        "RESIDENTIAL_CARE_WORKER",
        "PRACTICE_SUPERVISOR",
        "BUSINESS_SUPPORT",
    ]
)


def make_workers(count: int, seed: int) -> dict[str, WorkerFacts]:
    rng = random.Random(seed)
    workers: dict[str, WorkerFacts] = {}
    for n in range(count):
        worker_id = str(10_000 + n)
        team = n // 15
        manager = str(10_000 + team * 15)
        is_manager = worker_id == manager
        start = (
            YEAR_AGO - timedelta(days=rng.randint(0, 3000))
            if rng.random() > 0.05
            else AS_OF - timedelta(days=rng.randint(1, 180))
        )
        sessions = tuple(
            Session(f"ps-{worker_id}-{k}", "personal", worker_id, manager, str(team), (), day, day)
            for k, day in enumerate(_every(rng, max(start, YEAR_AGO), 28, 35))
        )
        workers[worker_id] = WorkerFacts(
            worker_id=worker_id,
            known_since=YEAR_AGO,
            team_id=str(team),
            supervisor_id=None if is_manager else manager,
            supervisor_since=None,
            job_role="TEAM_MANAGER" if is_manager else rng.choice(ROLES),
            case_holding=not is_manager and rng.random() < 0.85,
            supervises_case_holders=is_manager,
            frontline=True,
            asye=rng.random() < 0.08,
            employment=rng.choice(["permanent"] * 8 + ["temporary", "agency"]),
            start_date=start,
            end_date=None,
            sessions=sessions,
            shifts=(),
            bookings=tuple(
                Booking(
                    f"b-{worker_id}-{k}",
                    "personal_supervision",
                    worker_id,
                    manager,
                    str(team),
                    (),
                    datetime.combine(AS_OF + timedelta(days=7 + 28 * k), datetime.min.time(), UTC),
                    60,
                )
                for k in range(2)
            ),
        )
    return {worker_id: indexed(worker) for worker_id, worker in workers.items()}


def _every(rng: random.Random, start: date, low: int, high: int) -> list[date]:
    days = []
    day = start + timedelta(days=rng.randint(0, low))
    while day <= AS_OF:
        days.append(day)
        day += timedelta(days=rng.randint(low, high))
    return days


Batch = list[tuple[CaseFacts, dict[str, WorkerFacts]]]


def cases(count: int, workers: dict[str, WorkerFacts], seed: int, chunk: int) -> Iterator[Batch]:
    """Each case with the facts of the workers it is allocated to, as the service hands them to the engine."""
    rng = random.Random(seed)
    ids = list(workers)
    batch: Batch = []
    for n in range(count):
        case_id = str(1_000_000 + n)
        keyworker = ids[rng.randrange(len(ids))]
        allocated = YEAR_AGO + timedelta(days=rng.randint(0, 330))
        status = rng.choice(STATUSES)
        allocations = [
            CaseAllocation(keyworker, workers[keyworker].team_id, "ALLWKR", allocated, rng.random() < 0.1)
        ]
        if rng.random() < 0.2:
            involved = ids[rng.randrange(len(ids))]
            if involved != keyworker:
                allocations.append(
                    CaseAllocation(
                        involved, workers[involved].team_id, "INVWKR", allocated + timedelta(days=3)
                    )
                )
        sessions = tuple(
            Session(
                f"cs-{case_id}-{k}",
                "case",
                keyworker,
                workers[keyworker].supervisor_id,
                workers[keyworker].team_id,
                (case_id,),
                day,
                day + timedelta(days=rng.randint(0, 4)),
                rng.random() < 0.05,
                None,
                (AgreedAction(keyworker, day + timedelta(days=14)),),
            )
            for k, day in enumerate(_every(rng, allocated, 14, 56))
        )
        facts = CaseFacts(
            case_id=case_id,
            known_since=YEAR_AGO,
            status=StatusSpell(status, allocated, rng.random() < 0.5, rng.random() < 0.1),
            allocations=tuple(allocations),
            closed_on=None,
            sessions=sessions,
        )
        batch.append((indexed(facts), {a.worker_id: workers[a.worker_id] for a in allocations}))
        if len(batch) == chunk:
            yield batch
            batch = []
    if batch:
        yield batch


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timer:
    """CPU and wall seconds spent inside `with` blocks, added up."""

    def __init__(self) -> None:
        self.cpu = self.wall = 0.0

    def __enter__(self) -> None:
        self._cpu, self._wall = time.process_time(), time.perf_counter()

    def __exit__(self, *_: object) -> None:
        self.cpu += time.process_time() - self._cpu
        self.wall += time.perf_counter() - self._wall


def measure(name: str, args: argparse.Namespace, workers: dict[str, WorkerFacts]) -> dict[str, float]:
    teams: dict[str, list[WorkerFacts]] = {}
    for worker in workers.values():
        teams.setdefault(worker.team_id or "-", []).append(worker)
    engine = Engine(load_pack(name), WorkingCalendar())
    evaluated = obligations = 0
    case_time, whole = Timer(), Timer()
    for batch in cases(args.cases, workers, seed=2, chunk=args.chunk):
        with case_time:
            for case, held in batch:
                obligations += len(engine.for_case(case, held, AS_OF))
        evaluated += len(batch)
    with whole:
        for worker in workers.values():
            obligations += len(engine.for_worker(worker, AS_OF))
        for team_id, members in teams.items():
            obligations += len(engine.for_team(TeamFacts(team_id, tuple(members)), AS_OF))
    return {
        "cases": evaluated,
        "case_cpu": case_time.cpu,
        "case_wall": case_time.wall,
        "whole_cpu": case_time.cpu + whole.cpu,
        "obligations": obligations,
        "peak_mib": peak_mib(),
    }


def baseline(directory: str, name: str, args: argparse.Namespace) -> dict[str, float]:
    """The same measure, in a fresh process, with the engine of the checkout in `directory`."""
    command = [sys.executable, __file__, "--engine-from", directory, "--packs", name, "--json"]
    command += ["--cases", str(args.cases), "--workers", str(args.workers), "--chunk", str(args.chunk)]
    command += ["--gc-threshold", str(args.gc_threshold), "--gc-older", str(args.gc_older)]
    command += ["--no-held"] if args.no_held else []
    done = subprocess.run(
        command, capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": ""}
    )
    figures: dict[str, float] = json.loads(done.stdout.splitlines()[-1])[name]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=500_000)
    parser.add_argument("--workers", type=int, default=30_000)
    parser.add_argument("--packs", default=",".join(shipped_pack_names()))
    parser.add_argument("--chunk", type=int, default=10_000)
    parser.add_argument(
        "--baseline", metavar="DIR", help="a checkout whose engine to measure beside this one"
    )
    parser.add_argument(
        "--gc-threshold",
        type=int,
        default=50_000,
        metavar="N",
        help="young objects between garbage collections while timing (50000, as the service's whole"
        " re-evaluation runs, connector/pipeline/collector.py; 700 is the interpreter's default)",
    )
    parser.add_argument(
        "--gc-older",
        type=int,
        default=1_000,
        metavar="N",
        help="collections of a generation between those of the next older one (1000, as the service's whole"
        " re-evaluation; 10 is the interpreter's default)",
    )
    parser.add_argument("--no-held", action="store_true", help="hand the engine no held-session index")
    parser.add_argument("--engine-from", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    # Set here, not by importing the service's collector, so a baseline checkout without one is timed alike.
    gc.set_threshold(args.gc_threshold, args.gc_older, args.gc_older)

    if args.json:
        workers = make_workers(args.workers, seed=1)
        print(json.dumps({name: measure(name, args, workers) for name in args.packs.split(",")}))
        return
    print(
        f"caseload: {args.cases:,} open cases, {args.workers:,} workers in teams of 15, a year of sessions"
        f" to {AS_OF.isoformat()}; engine time in CPU seconds of one core, each pack in a fresh process;"
        f" a garbage collection every {args.gc_threshold:,} young objects (older: every {args.gc_older:,});"
        f" held sessions {'not ' if args.no_held else ''}indexed"
    )
    here = str(Path(__file__).resolve().parents[1])
    for name in args.packs.split(","):
        # In a process of its own, as the baseline is: a pack timed after another in the same process ran in
        # a heap the first had grown, against a baseline in a fresh one.
        now = baseline(here, name, args)
        rate = now["cases"] / now["case_cpu"]
        print(
            f"{name}: {rate:,.0f} cases/s for the cases alone ({now['case_cpu']:.1f} s CPU,"
            f" {now['case_wall']:.1f} s wall); whole re-evaluation incl. {args.workers:,} workers and their"
            f" teams {now['whole_cpu']:.1f} s = {now['cases'] / now['whole_cpu']:,.0f} cases/s;"
            f" {now['obligations']:,.0f} obligations; peak memory {now['peak_mib']:.0f} MiB"
        )
        if args.baseline:
            then = baseline(args.baseline, name, args)
            before = then["cases"] / then["case_cpu"]
            print(
                f"  baseline {args.baseline}: {before:,.0f} cases/s for the cases alone"
                f" ({then['case_cpu']:.1f} s CPU); whole {then['cases'] / then['whole_cpu']:,.0f} cases/s;"
                f" {then['obligations']:,.0f} obligations; peak memory {then['peak_mib']:.0f} MiB;"
                f" this engine is {rate / before:.2f}x (cases alone),"
                f" {then['whole_cpu'] / now['whole_cpu']:.2f}x (whole)"
            )


if __name__ == "__main__":
    main()
