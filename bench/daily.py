"""Benchmark: the daily run (the day's re-evaluation, then the tick) over a caseload stored in the database.

Builds `--cases` open Lincolnshire cases (default 500,000) held by `--workers` workers as processed events with
their kept folds (`bench/daily_store.py`), evaluates them once as of the build's day (the ledger, each subject's
day to re-evaluate on), takes every write as confirmed by the platform, runs that day's tick and takes its
reminders as delivered too. The built database is kept under `--cache` (by default `/tmp/bench-daily`), keyed by
the parameters and a digest of the code that builds it, so a second run starts at once.

Then, on a copy of it each, in a process of its own (so its peak memory is its own), runs `--days` days one
after the other (default 2: 31 March, an ordinary day, then 1 April, the worst day, when a practice year
starts and every worker is re-evaluated), each day's `Service.daily` steps: re-evaluation of only the subjects
the day can change, the tick (reminders, overdue marks, queued to the outbox), retention; while two probes
write an inbox row every 50 ms, one through the service's database from another thread (intake in `connector
serve`) and one through a connection of its own (another process), and record how long each write waited for
the write lock. Then the day's queue is delivered to a simulated Mosaic (waitress on loopback) by the
dispatcher at its configured concurrency, before the next day.

    python bench/daily.py [--cases 500000] [--workers 30000] [--days 2] [--baseline] [--code DIR]

`--baseline` also runs the same days with every subject re-evaluated; `--code DIR` also runs them with the
connector of another checkout (e.g. `git worktree add /tmp/base-daily fda37d8`), on a copy of the same
database, for a same-run baseline. Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import itertools
import json
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

# A baseline run imports the connector of another checkout, with this bench's own code beside it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, os.environ.get("BENCH_CODE") or str(Path(__file__).resolve().parents[1]))

from connector.config import Config, parse_config
from connector.sandbox.run import STEP_TYPES
from connector.service import Service

ROOT = Path(__file__).resolve().parents[1]
DELIVERY_CAP_SECONDS = 600  # a day's delivery is cut short after this long (and says what is left)
EVALUATED = [0]  # subjects evaluated by the day being run
TODAY = date(2027, 3, 30)  # the build's day: the timed days are 31 March and 1 April
TOKEN = "bench-token"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=500_000)
    parser.add_argument("--workers", type=int, default=30_000)
    parser.add_argument("--days", type=int, default=2, help="days run one after the other, from 31 March")
    parser.add_argument(
        "--baseline", action="store_true", help="also the day with every subject re-evaluated"
    )
    parser.add_argument("--code", type=Path, help="also the day with the connector of this checkout")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "bench-daily")
    parser.add_argument("--deliver", type=int, default=None, help="deliver at most this many of the queue")
    parser.add_argument("--profile", action="store_true", help="print where the timed run's time went")
    parser.add_argument("--phase", choices=["build", "narrowed", "full"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase is not None:
        found = build(args) if args.phase == "build" else run(args)
        print(json.dumps(found))
        return

    base = args.cache / f"{args.cases}-{args.workers}-{_digest()}"
    if not (base / "built.json").exists():
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        child("build", base, args, None)
    built = json.loads((base / "built.json").read_text())
    print(
        f"store: {args.cases:,} open cases, {args.workers:,} workers, {built['events']:,} events,"
        f" {built['obligations']:,} open obligations (built in {built['seconds']:.0f} s; kept in {base})"
    )
    runs: list[tuple[str, str, Path | None]] = [("narrowed", "this code", None)]
    if args.code is not None:
        runs.append(("narrowed", f"the code in {args.code}", args.code))
    if args.baseline:
        runs.append(("full", "this code, every subject re-evaluated", None))
    first: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(dir=args.cache) as name:
        for kind, label, code in runs:
            folder = Path(name) / "run"
            shutil.copytree(base, folder)
            # Written out before the run, so its first commits do not wait for gigabytes of the copy.
            for path in folder.iterdir():
                with path.open("rb") as copied:
                    os.fsync(copied.fileno())
            # Delivery is the same code either way: only this code's days deliver their queues.
            found = child(
                kind,
                folder,
                args if code is None else argparse.Namespace(**{**vars(args), "deliver": 0}),
                code,
            )
            shutil.rmtree(folder)
            for n, day in enumerate(found["days"]):
                report(label, day, None if first is None else first["days"][n])
            first = first or found


def _children(found: dict[str, Any]) -> str:
    peak = found.get("child_peak_mib")
    return f" (the largest child process so far {peak:.0f} MiB)" if peak else ""


def report(label: str, found: dict[str, Any], first: dict[str, Any] | None) -> None:
    ratio = "" if first is None else f" (this code takes {first['seconds'] / found['seconds']:.2f}x of it)"
    if first is not None and found.get("cpu") and first.get("cpu"):
        ratio += f" (CPU {first['cpu'] / found['cpu']:.2f}x)"
    cpu = (
        ""
        if found.get("cpu") is None
        else f" ({found['cpu']:.1f} s CPU; re-evaluation {found['reevaluate_cpu']:.1f} s)"
    )
    print(
        f"daily run of {found['day']}, {label}: {found['seconds']:.1f} s{cpu}{ratio}: re-evaluation {found['reevaluate']:.1f} s"
        f" of {found['evaluated']:,} subjects, tick {found['tick']:.1f} s ({found['reminders']:,} reminders and"
        f" escalations queued, {found['overdue']:,} newly overdue), retention {found['retention']:.1f} s;"
        f" peak memory {found['peak_mib']:.0f} MiB{_children(found)}"
    )
    if found.get("fold_cache"):
        print(
            f"  fold cache after the day: {found['fold_cache']['folds']:,} folds,"
            f" estimated {found['fold_cache']['estimated_mib']:.0f} MiB"
        )
    for probe in ("shared", "own"):
        p = found[f"probe_{probe}"]
        way = "through the service's database (same process)" if probe == "shared" else "from another process"
        print(
            f"  intake probe, {way}: {p['writes']} writes, lock wait p50 {p['p50_ms']:.1f} ms,"
            f" p99 {p['p99_ms']:.1f} ms, p100 {p['p100_ms']:.1f} ms ({p['worst_at_s']:.1f} s into the run)"
        )
        for wait in p.get("worst", []):
            held = "; ".join(
                f"{h['where']} from {h['at_s']:.2f} s, {h['ms']:.0f} ms ({h['cpu_ms']:.0f} ms CPU,"
                f" {h['commit_ms']:.0f} ms in COMMIT)"
                for h in wait["held_by"]
            )
            print(
                f"    a {wait['ms']:.0f} ms wait at {wait['at_s']:.2f} s: held by {held or 'no transaction of the run'}"
            )
    holds = found.get("holds")
    if holds:
        print(
            f"  write transactions of the run: {holds['transactions']:,}; full garbage collections"
            f" {holds['full_collections']}, longest {holds['longest_collection_ms']:.0f} ms"
            f" ({holds['longest_collection_cpu_ms']:.0f} ms CPU, {holds.get('longest_collection_at_s', 0.0):.1f} s"
            " into the run); longest by what opened them:"
        )
        for where, h in sorted(holds["by_opener"].items(), key=lambda item: -item[1]["max_ms"]):
            print(
                f"    {where}: {h['count']:,}, longest {h['max_ms']:.0f} ms (most CPU in one {h['max_cpu_ms']:.0f} ms,"
                f" longest COMMIT {h['max_commit_ms']:.0f} ms)"
            )
    if found.get("delivered") is not None:
        print(
            f"  delivery of the day's queue: {found['delivered']:,} writes confirmed in {found['deliver_seconds']:.1f} s"
            f" ({found['delivered'] / max(found['deliver_seconds'], 1e-9):,.0f}/s, {found['delivery_workers']}"
            " in flight); left in the outbox: {:,}".format(found["left"])
        )
    if found.get("profile"):
        print(found["profile"])


def child(kind: str, folder: Path, args: argparse.Namespace, code: Path | None) -> dict[str, Any]:
    command = [sys.executable, __file__, "--phase", kind, "--folder", str(folder)]
    command += ["--cases", str(args.cases), "--workers", str(args.workers), "--days", str(args.days)]
    if args.deliver is not None:
        command += ["--deliver", str(args.deliver)]
    if args.profile:
        command += ["--profile"]
    env = dict(os.environ)
    env.pop("BENCH_CODE", None)
    if code is not None:
        env["BENCH_CODE"] = str(code.resolve())
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _digest() -> str:
    """What the built database depends on: the bench's builder, the engine and packs, the configuration, and the
    pipeline code that folds, evaluates and stores (not the tick's or delivery's: the timed run is theirs)."""
    digest = hashlib.sha256()
    files = [ROOT / "bench" / "daily_store.py"]
    files += sorted((ROOT / "rules").rglob("*.*")) + sorted((ROOT / "connector" / "config").rglob("*.py"))
    files += [ROOT / "connector" / "store" / name for name in ("migrations.py", "event_codec.py")]
    pipeline = (
        "folds",
        "facts",
        "processor",
        "ledger",
        "met",
        "kept_state",
        "reevaluate_on",
        "inbox",
        "outbox",
    )
    files += [ROOT / "connector" / "pipeline" / f"{name}.py" for name in pipeline]
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def config_for(folder: Path, base_url: str = "http://127.0.0.1:9/api") -> Config:
    return parse_config(
        {
            "storage": {"database": str(folder / "bench.db")},
            "tenants": [
                {
                    "id": "lincolnshire",
                    "rule_pack": "lincolnshire",
                    "reference_prefix": "linc",
                    "mosaic": {
                        "base_url": base_url,
                        "api_token": TOKEN,
                        "webhook_secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
                        "step_types": dict(STEP_TYPES),
                    },
                }
            ],
        },
        base_dir=folder,
        environ={},
    )


def build(args: argparse.Namespace) -> dict[str, Any]:
    from bench.daily_store import build_caseload

    from connector.store.database import Database

    started = time.perf_counter()
    folder: Path = args.folder
    config = config_for(folder)
    db = Database(config.database)
    db.migrate()
    events = build_caseload(db, args.cases, args.workers, TODAY)
    db.close()
    service = Service(config, today=lambda: TODAY)
    service.reevaluate_if_rules_changed()  # records the fingerprint
    service.reevaluate_everything()
    _confirm_everything(service)
    service.tick(TODAY)
    _confirm_everything(service)
    obligations = int(service.db.scalar("SELECT COUNT(*) FROM obligations WHERE status = 'open'") or 0)
    service.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    service.close()
    found = {"events": events, "obligations": obligations, "seconds": time.perf_counter() - started}
    (folder / "built.json").write_text(json.dumps(found))
    return found


def _confirm_everything(service: Service) -> None:
    """As if the platform had confirmed every queued write: each step and reminder gets a platform id."""
    with service.db.transaction() as conn:
        conn.execute("UPDATE obligations SET platform_id = rowid + 880000 WHERE platform_id IS NULL")
        conn.execute("UPDATE reminders SET platform_id = rowid + 61000 WHERE platform_id IS NULL")
        conn.execute("DELETE FROM outbox")


def run(args: argparse.Namespace) -> dict[str, Any]:
    import waitress

    from adapters.mosaic.simulator import MosaicStore, create_simulator_app
    from connector.pipeline.evaluator import Evaluator

    evaluated = EVALUATED
    real = Evaluator.obligations

    def counted(self: Evaluator, facts: object, owner: str, today: object) -> object:
        evaluated[0] += 1
        return real(self, facts, owner, today)  # type: ignore[arg-type]

    Evaluator.obligations = counted  # type: ignore[method-assign, assignment]
    store = MosaicStore()
    store.steps = _EveryStep()  # the steps of the ledger, held by the platform
    store.step_ids = itertools.count(90_000_001)  # new steps' ids, after the ledger's
    server = waitress.create_server(create_simulator_app(TOKEN, store), host="127.0.0.1", port=0, threads=8)
    base_url = f"http://127.0.0.1:{server.effective_port}/api"  # type: ignore[union-attr]
    today = [TODAY]
    service = Service(config_for(args.folder, base_url), today=lambda: today[0])
    threading.Thread(target=server.run, daemon=True).start()
    days = []
    for n in range(1, args.days + 1):
        today[0] = day = TODAY + timedelta(days=n)
        evaluated[0] = 0
        found = _day(service, day, args.phase == "narrowed", args.profile)
        if args.deliver != 0:
            found |= _deliver(service, store, args.deliver)
        days.append(found)
    service.close()
    server.close()
    return {"days": days}


def _day(service: Service, day: date, narrowed: bool, profiled: bool) -> dict[str, Any]:
    """One day's `Service.daily` steps, timed each, with the intake probes writing meanwhile."""
    from bench.intake_probe import IntakeProbe, IntakeProbeProcess
    from bench.lock_holds import LockHolds

    from connector.store.database import Database

    holds = LockHolds(service.db).start() if hasattr(Database, "_run_transaction") else None
    own = IntakeProbeProcess(service.db.path, "own").start()  # first: a process takes a while to start
    probes: list[IntakeProbe | IntakeProbeProcess] = [IntakeProbe(service.db, "shared").start(), own]
    profile = cProfile.Profile() if profiled else None
    if profile is not None:
        profile.enable()
    started, started_cpu = time.perf_counter(), _cpu()
    service.reevaluate_everything(only_due=narrowed)
    reevaluated, reevaluated_cpu = time.perf_counter(), _cpu()
    counts = service.tick(day)
    ticked = time.perf_counter()
    service.compact(day)
    took, cpu = time.perf_counter() - started, _cpu() - started_cpu
    if profile is not None:
        profile.disable()
    shared, own = (probe.stop() for probe in probes)
    if holds is not None:
        holds.stop()
        for probe, found in zip(probes, (shared, own), strict=True):
            # What held the lock during the probe's longest waits.
            worst = sorted(range(len(probe.waits)), key=lambda n: probe.waits[n], reverse=True)[:3]
            found["worst"] = [
                {
                    "at_s": round(probe.when[n], 3),
                    "ms": round(1000 * probe.waits[n], 1),
                    "held_by": holds.during(
                        probe.began + probe.when[n], probe.began + probe.when[n] + probe.waits[n], probe.began
                    ),
                }
                for n in worst
            ]
    found: dict[str, Any] = {
        "day": day.isoformat(),
        "seconds": took,
        # The process's CPU seconds and its re-evaluation processes' (the shared probe's and the simulated
        # platform's few included): on a shared machine the wall time is mostly waiting for a core.
        "cpu": cpu,
        "reevaluate_cpu": reevaluated_cpu - started_cpu,
        "reevaluate": reevaluated - started,
        "tick": ticked - reevaluated,
        "retention": took - (ticked - started),
        "evaluated": EVALUATED[0],
        "reminders": counts.reminders + counts.escalations,
        "overdue": counts.overdue,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        # The largest of the child processes ended so far (re-evaluation processes, the own probe's).
        "child_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "probe_shared": shared,
        "probe_own": own,
    }
    if holds is not None:
        found["holds"] = holds.summary(probes[0].began)
    cache = getattr(service.processor, "folds", None)
    if cache is not None:
        found["fold_cache"] = {"folds": len(cache), "estimated_mib": getattr(cache, "bytes", 0) / 2**20}
    if profile is not None:
        found["profile"] = _top(profile)
    return found


def _cpu() -> float:
    """This process's CPU seconds and those of its children that ended (service.reevaluation_processes)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _deliver(service: Service, store: Any, limit: int | None) -> dict[str, Any]:
    """The day's queue to the simulated Mosaic, as the delivery loop does: rounds of the dispatcher until the
    outbox holds nothing (what confirmations queue meanwhile, such as a met step's reminder withdrawals,
    included), waiting for a write not due yet as the loop would; at most `limit` writes."""
    confirmed = "SELECT COUNT(*) FROM audit WHERE outcome = 'confirmed'"
    before = int(service.db.scalar(confirmed) or 0)
    started = time.perf_counter()
    while limit is None or int(service.db.scalar(confirmed) or 0) - before < limit:
        if service.dispatcher.run_once() == 0:
            due = service.outbox.next_due_at()
            if due is None or time.perf_counter() - started > DELIVERY_CAP_SECONDS:
                break
            time.sleep(0.05)  # the bench's stand-in for the loop's poll interval
    took = time.perf_counter() - started
    left = int(service.db.scalar("SELECT COUNT(*) FROM outbox WHERE state = 'pending'") or 0)
    return {
        "delivered": int(service.db.scalar(confirmed) or 0) - before,
        "deliver_seconds": took,
        "left": left,
        "delivery_workers": service.config.delivery.workers,
    }


class _EveryStep(dict[int, dict[str, Any]]):
    """The simulated platform's steps: every step the ledger was confirmed with is there (kept only once a write
    touches it, so the bench's memory is the connector's, not a copy of the ledger's)."""

    def __contains__(self, key: object) -> bool:
        return True

    def get(self, key: int, default: object = None) -> dict[str, Any]:  # type: ignore[override]
        return self[key]

    def __missing__(self, key: int) -> dict[str, Any]:
        self[key] = record = {"workflow_step_id": key, "step_status": "INCOMING"}
        return record


def _top(profile: cProfile.Profile) -> str:
    import io

    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(35)
    return out.getvalue()


if __name__ == "__main__":
    main()
