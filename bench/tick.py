"""Benchmark: the daily tick over a national-scale ledger of open obligations, writing to the simulated Mosaic.

Builds, deterministically, `--size` open obligations (default 500,000) already written to Mosaic, held by
`--workers` workers (default 30,000) in a supervision chain (each worker's supervisor is a team manager, whose
supervisor is a head of service), with due dates spread evenly from 60 days ago to 60 days ahead. Then runs one
tick as of today with the default reminder ladder and prints:

- the time to decide what is due (the scheduler's tick: every rung, overdue mark and recipient), and how many
  notifications it queued;
- the time to write them to the simulated Mosaic (served by waitress on loopback, in this process) and the
  notifications written per second.

    python bench/tick.py [--size 500000] [--workers 30000] [--deliver 20000]

`--deliver` caps how many of the queued notifications are written (all by default). Prints figures only.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import waitress

from adapters.mosaic.simulator import MosaicStore, create_simulator_app
from connector.config import parse_config
from connector.pipeline.dispatcher import Dispatcher
from connector.pipeline.inbox import Inbox
from connector.pipeline.scheduler import Scheduler
from connector.sandbox.run import STEP_TYPES
from connector.store.database import Database
from rules.events import WorkerUpdated

TOKEN = "bench-token"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
KINDS = ("case_supervision", "personal_supervision", "supervision_record", "agenda")
TODAY = date(2026, 12, 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=500_000, help="open obligations")
    parser.add_argument("--workers", type=int, default=30_000)
    parser.add_argument("--deliver", type=int, default=None, help="write at most this many notifications")
    args = parser.parse_args()
    rng = random.Random(9)

    store = MosaicStore()
    server = waitress.create_server(create_simulator_app(TOKEN, store), host="127.0.0.1", port=0, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.effective_port}/api"  # type: ignore[union-attr]

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
                            "base_url": base_url,
                            "api_token": TOKEN,
                            "webhook_secrets": [SECRET],
                            "step_types": dict(STEP_TYPES),
                        },
                    }
                ],
            },
            base_dir=Path(folder),
            environ={},
        )
        db = Database(config.database)
        db.migrate()
        started = time.perf_counter()
        _workers(Inbox(db), args.workers)
        step_ids = _obligations(db, store, args.size, args.workers, rng)
        print(
            f"built {args.size:,} open obligations over {args.workers:,} workers"
            f" in {time.perf_counter() - started:.1f} s"
        )

        started = time.perf_counter()
        counts = Scheduler(db, config).tick(TODAY)
        decided = time.perf_counter() - started
        queued = counts.reminders + counts.escalations
        print(
            f"decide what is due: {decided:.1f} s for {args.size:,} obligations"
            f" ({args.size / decided:,.0f} obligations/s); queued {counts.reminders:,} reminders,"
            f" {counts.escalations:,} escalations; {counts.overdue:,} newly overdue"
        )

        dispatcher = Dispatcher(db, config, clock=lambda: datetime.now(UTC) + timedelta(days=1))
        limit = queued if args.deliver is None else min(queued, args.deliver)
        started = time.perf_counter()
        written = 0
        while written < limit:
            attempted = dispatcher.run_once(limit=min(500, limit - written))
            if attempted == 0:
                break
            written += attempted
        wrote = time.perf_counter() - started
        print(
            f"write to the simulated Mosaic: {len(store.notifications):,} notifications in {wrote:.1f} s"
            f" ({len(store.notifications) / wrote:,.0f} notifications/s, one HTTP call each)"
        )
        started = time.perf_counter()
        again = Scheduler(db, config).tick(TODAY)
        print(
            f"a second tick the same day: {time.perf_counter() - started:.1f} s, queued"
            f" {again.reminders + again.escalations} (nothing new); {len(step_ids):,} steps held"
        )
        db.close()
    server.close()


def _workers(inbox: Inbox, count: int) -> None:
    """A supervision chain: practitioners supervised by team managers (1 per 15), supervised by heads (1 per 10)."""
    at = datetime(2026, 10, 1, 8, tzinfo=UTC)
    managers = max(1, count // 15)
    heads = max(1, managers // 10)
    for n in range(1, count + 1):
        if n <= heads:
            supervisor = None
        elif n <= heads + managers:
            supervisor = str(1 + n % heads)
        else:
            supervisor = str(heads + 1 + n % managers)
        inbox.accept(
            "lincolnshire",
            "mosaic",
            f"w{n}",
            WorkerUpdated(
                f"w{n}",
                at,
                worker_id=str(n),
                team_id=str(1000 + n // 15),
                supervisor_id=supervisor,
                job_role="SOCIAL_WORKER",
                case_holding=True,
                supervises_case_holders=False,
                frontline=True,
                asye=False,
                employment="permanent",
                start_date=date(2020, 1, 6),
            ),
        )


def _obligations(db: Database, store: MosaicStore, size: int, workers: int, rng: random.Random) -> list[int]:
    rows = []
    step_ids = []
    rules = json.dumps([["LINC-CS-FLOOR", "5.1", "every child's case is supervised"]])
    for n in range(size):
        step_id = 880001 + n
        step_ids.append(step_id)
        worker = str(rng.randint(1, workers))
        kind = KINDS[n % len(KINDS)]
        case = None if kind in ("personal_supervision", "agenda") else str(100000 + n)
        due = TODAY + timedelta(days=rng.randint(-60, 60))
        rows.append(
            (
                "lincolnshire",
                "mosaic",
                f"linc:{kind}:{case or '-'}:{worker}:{n}",
                f"case:{case}" if case else f"worker:{worker}",
                kind,
                case or "-",
                worker,
                1,
                case,
                worker,
                "1000",
                due.isoformat(),
                rules,
                "allocation",
                (due - timedelta(days=28)).isoformat(),
                "why",
                "[]",
                "open",
                str(step_id),
                "2026-10-01T00:00:00Z",
                "2026-10-01T00:00:00Z",
            )
        )
    with db.transaction() as conn:
        conn.executemany(
            "INSERT INTO obligations (tenant, platform, reference, owner, kind, scope, holder, cycle, case_id,"
            " assignee_id, team_id, due_date, rules, counted_from_fact, counted_from_date, explanation, form,"
            " status, platform_id, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    with store.lock:
        for step_id in step_ids:
            store.steps[step_id] = {"workflow_step_id": step_id, "step_status": "INCOMING"}
    return step_ids


if __name__ == "__main__":
    main()
