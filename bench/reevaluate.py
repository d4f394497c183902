"""Benchmark: a full re-evaluation of a national-scale synthetic caseload by each shipped rule pack.

Builds, deterministically, `--cases` open cases (default 500,000) held by `--workers` workers (default 30,000) in
teams of about 15, with a year of recorded sessions (case supervisions every 2 to 8 weeks, personal supervision
monthly), statuses spread as in a children's services caseload, and some transfers and involved workers. Then,
for each pack, times the rule engine alone over every case, worker and team, on one core (this process), and
prints cases per second, obligations produced and peak memory.

    python bench/reevaluate.py [--cases 500000] [--workers 30000] [--packs lincolnshire,bracknell-forest]

Facts are generated in chunks and dropped after evaluation, so peak memory is the engine's working set plus one
chunk, as in a real re-evaluation that folds subject by subject. Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rules.calendar import WorkingCalendar
from rules.engine import Engine
from rules.model import (
    AgreedAction,
    Booking,
    CaseAllocation,
    CaseFacts,
    Session,
    StatusSpell,
    TeamFacts,
    WorkerFacts,
)
from rules.pack import load_pack, shipped_pack_names

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
    return workers


def _every(rng: random.Random, start: date, low: int, high: int) -> list[date]:
    days = []
    day = start + timedelta(days=rng.randint(0, low))
    while day <= AS_OF:
        days.append(day)
        day += timedelta(days=rng.randint(low, high))
    return days


def cases(count: int, workers: dict[str, WorkerFacts], seed: int, chunk: int) -> Iterator[list[CaseFacts]]:
    rng = random.Random(seed)
    ids = list(workers)
    batch: list[CaseFacts] = []
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
        batch.append(
            CaseFacts(
                case_id=case_id,
                known_since=YEAR_AGO,
                status=StatusSpell(status, allocated, rng.random() < 0.5, rng.random() < 0.1),
                allocations=tuple(allocations),
                closed_on=None,
                sessions=sessions,
            )
        )
        if len(batch) == chunk:
            yield batch
            batch = []
    if batch:
        yield batch


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=500_000)
    parser.add_argument("--workers", type=int, default=30_000)
    parser.add_argument("--packs", default=",".join(shipped_pack_names()))
    parser.add_argument("--chunk", type=int, default=10_000)
    args = parser.parse_args()

    started = time.perf_counter()
    workers = make_workers(args.workers, seed=1)
    teams: dict[str, list[WorkerFacts]] = {}
    for worker in workers.values():
        teams.setdefault(worker.team_id or "-", []).append(worker)
    print(
        f"caseload: {args.cases:,} open cases, {args.workers:,} workers in {len(teams):,} teams, a year of sessions"
        f" to {AS_OF.isoformat()} (workers built in {time.perf_counter() - started:.1f} s)"
    )
    for name in args.packs.split(","):
        engine = Engine(load_pack(name), WorkingCalendar())
        evaluated = obligations = 0
        engine_seconds = 0.0
        for batch in cases(args.cases, workers, seed=2, chunk=args.chunk):
            t0 = time.perf_counter()
            for case in batch:
                held = {a.worker_id: workers[a.worker_id] for a in case.allocations}
                obligations += len(engine.for_case(case, held, AS_OF))
            engine_seconds += time.perf_counter() - t0
            evaluated += len(batch)
        case_seconds = engine_seconds
        t0 = time.perf_counter()
        for worker in workers.values():
            obligations += len(engine.for_worker(worker, AS_OF))
        for team_id, members in teams.items():
            obligations += len(engine.for_team(TeamFacts(team_id, tuple(members)), AS_OF))
        engine_seconds += time.perf_counter() - t0
        print(
            f"{name}: {evaluated / case_seconds:,.0f} cases/s for the cases alone ({case_seconds:.1f} s);"
            f" whole re-evaluation incl. {len(workers):,} workers and {len(teams):,} teams {engine_seconds:.1f} s"
            f" = {evaluated / engine_seconds:,.0f} cases/s; {obligations:,} obligations; peak memory {peak_mib():.0f} MiB"
        )


if __name__ == "__main__":
    main()
