"""Benchmark: delivery alone, the outbox written to the simulated Mosaic, in CPU per write and writes per second.

Starts the simulated Mosaic of `bench/servers.py` in its own process (waitress, 8 threads, with the bench's
recorder), then, for this checkout and for each `--code DIR` (another checkout, e.g. `git worktree add
/tmp/base-delivery fda37d8`), in a process of its own importing that checkout's connector: stores `--writes`
signed-and-validated `case.allocated` events for new children (as `bench/webhook_intake.py` sends them), processes
them (not timed), so the outbox holds one step create per child, and then times the service's own delivery
rounds (`Dispatcher.run_once`, `service.batch_size` writes a round, `delivery.workers` in flight) until the
outbox is empty. Prints, for each checkout: writes per second, the connector's CPU per write (user plus system of
its whole process, all threads, from `/proc`), the simulated Mosaic's CPU per write, and each as a ratio of the
first `--code`'s figure measured in the same run. `--repeat N` runs the checkouts in turn N times, back to back.
`--profile FILE` records the connector's delivery with py-spy (if installed) into FILE.<checkout>.raw.

    python bench/delivery.py --writes 3000 [--code /tmp/base-delivery] [--repeat 2] [--workers 8]

Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Where a profiled function's own time is counted, by the first pattern its file or name matches.
LAYERS = (
    ("sockets: sendall, recv (waiting for the platform included)", ("sendall", "recv_into", "'connect'")),
    ("SQL and commits (claims, confirmations, audit)", ("sqlite3", "connector/store/")),
    ("requests", ("requests/",)),
    ("urllib3", ("urllib3/",)),
    ("http.client and its header parsing", ("http/client.py", "email/")),
    ("JSON", ("json/",)),
    ("logging", ("logging/",)),
    ("metrics", ("prometheus_client/", "observability/")),
    ("tenacity (the writers' retry loop)", ("tenacity/",)),
    ("adapters: client, writer", ("adapters/",)),
    ("dispatcher, outbox, ledger", ("connector/pipeline/",)),
    ("threads", ("threading.py", "concurrent/")),
)


def print_layers(stats: pstats.Stats, writes: int) -> None:
    totals: dict[str, float] = {}
    others: dict[str, float] = {}
    for (path, _line, name), entry in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{path}:{name}"
        layer = next((label for label, marks in LAYERS if any(m in where for m in marks)), "other")
        totals[layer] = totals.get(layer, 0.0) + entry[2]
        if layer == "other":
            others[where] = others.get(where, 0.0) + entry[2]
    whole = sum(totals.values()) or 1.0
    print(
        "delivery's time by layer (cProfile's own time per function; profiling inflates Python code):",
        file=sys.stderr,
    )
    for layer, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        print(
            f"  {layer:58s} {seconds / writes * 1000:7.3f} ms/write {seconds / whole:6.1%}", file=sys.stderr
        )
    biggest = sorted(others.items(), key=lambda item: -item[1])[:6]
    print(
        "  other, the largest: " + "; ".join(f"{w} {t / writes * 1000:.3f}" for w, t in biggest),
        file=sys.stderr,
    )


def child(args: argparse.Namespace) -> None:
    """In the checkout under test: fill the outbox, then time delivery until it is empty."""
    code = args.code[0]
    sys.path.insert(0, code)
    from adapters.mosaic.events import parse_mosaic_event
    from bench_events import allocation
    from connector.config import parse_config
    from connector.service import Service

    steps = {
        "case_supervision": 1,
        "personal_supervision": 2,
        "supervision_agreement": 3,
        "practice_observation": 4,
        "group_supervision": 5,
        "supervision_record": 6,
    }
    work = Path(args.workdir)
    raw = {
        "storage": {"database": str(work / "connector.db")},
        "service": {"background": False},
        "delivery": {"workers": args.workers},
        "tenants": [
            {
                "id": "bench",
                "rule_pack": "lincolnshire",
                "reference_prefix": "bench",
                "mosaic": {
                    "base_url": f"http://127.0.0.1:{args.port}/api",
                    "api_token": "bench-token",
                    "webhook_secrets": ["whsec_YmVuY2gtc2VjcmV0LWJlbmNoLXNlY3JldA=="],
                    "step_types": steps,
                },
            }
        ],
    }
    config = parse_config(raw, work, {})
    service = Service(config, today=lambda: date(2026, 12, 1))
    base = 3_000_000 + args.offset
    for n in range(args.writes):
        person, worker = base + n, 60_000 + n % 3000
        body = allocation(f"evt_delivery_{person}", person, worker)
        service.inbox.accept("bench", "mosaic", body["id"], parse_mosaic_event(body))  # type: ignore[arg-type]
    while service.processor.run_once(limit=200):
        pass
    queued = service.outbox.count("pending")
    print(json.dumps({"ready": queued}), flush=True)
    sys.stdin.readline()  # the parent starts its counters (and py-spy) here
    wall0, cpu0 = time.monotonic(), cpu_seconds(os.getpid())
    rounds = 0
    # As the service's delivery loop rounds when no burst is on (the older code has no deliver_step).
    limit = getattr(config.service, "batch_size", 200)
    profile = cProfile.Profile() if args.cprofile else None
    if profile is not None:
        profile.enable()
    while service.dispatcher.run_once(limit):
        rounds += 1
    if profile is not None:
        profile.disable()
        stats = pstats.Stats(profile, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(args.cprofile)
        print_layers(stats, max(queued, 1))
    wall, cpu = time.monotonic() - wall0, cpu_seconds(os.getpid()) - cpu0
    left = service.outbox.count("pending") + service.outbox.count("dead")
    print(json.dumps({"writes": queued - left, "left": left, "wall": wall, "cpu": cpu, "rounds": rounds}))
    service.close()


def run_one(code: str, port: int, mosaic_pid: int, args: argparse.Namespace, offset: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="connector-delivery-"))
    env = dict(os.environ, PYTHONPATH=code)
    command = [sys.executable, str(HERE / "delivery.py"), "--child", "--code", code, "--port", str(port)]
    command += ["--workdir", str(work), "--writes", str(args.writes), "--workers", str(args.workers)]
    command += ["--offset", str(offset), "--cprofile", str(args.cprofile)]
    proc = subprocess.Popen(
        command, env=env, cwd=code, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdin is not None and proc.stdout is not None
    ready = json.loads(proc.stdout.readline())
    spy = None
    if args.profile:
        name = Path(code).name or "code"
        spy = subprocess.Popen(
            [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(proc.pid), "--rate", "250", *args.spy,
             "--format", "raw", "--output", f"{args.profile}.{name}.raw"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1.0)
    mosaic0 = cpu_seconds(mosaic_pid)
    proc.stdin.write("go\n")
    proc.stdin.flush()
    result: dict[str, Any] = json.loads(proc.stdout.readline())
    result["mosaic_cpu"] = cpu_seconds(mosaic_pid) - mosaic0
    result["queued"] = ready["ready"]
    proc.wait(60)
    if spy is not None:
        spy.terminate()
        spy.wait(30)
    shutil.rmtree(work, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=8, help="delivery.workers")
    parser.add_argument("--code", action="append", default=[], help="another checkout to compare with")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--profile", help="py-spy raw output prefix")
    parser.add_argument("--spy", action="append", default=[], help=argparse.SUPPRESS)
    parser.add_argument(
        "--cprofile",
        type=int,
        default=0,
        help="print cProfile's top N functions of delivery (use --workers 1)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--offset", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(HERE))
    from webhook_intake import free_port, spawn, wait_ready

    port = free_port()
    mosaic = spawn([str(HERE / "servers.py"), "mosaic", str(port)])
    codes = [str(ROOT), *(str(Path(c).resolve()) for c in args.code)]
    try:
        wait_ready(port, "/_bench/created")
        print(f"machine: {os.cpu_count()} cores; {args.writes} writes a run, delivery.workers {args.workers}")
        offset = 0
        for run in range(args.repeat):
            results: list[tuple[str, dict[str, Any]]] = []
            for code in codes:
                results.append((code, run_one(code, port, mosaic.pid, args, offset)))
                offset += args.writes
            base = results[1][1] if len(results) > 1 else None
            for code, r in results:
                writes = max(r["writes"], 1)
                rate, cpu, server = (
                    writes / r["wall"],
                    r["cpu"] / writes * 1000,
                    r["mosaic_cpu"] / writes * 1000,
                )
                line = (
                    f"run {run + 1} {'this checkout' if code == str(ROOT) else code}: {r['writes']} writes"
                    f" ({r['left']} left) in {r['wall']:.2f} s, {rate:.0f}/s, {r['rounds']} rounds;"
                    f" connector CPU {cpu:.3f} ms/write, simulated Mosaic CPU {server:.3f} ms/write"
                )
                if base is not None and r is not base:
                    bw = max(base["writes"], 1)
                    line += (
                        f"; against {Path(results[1][0]).name}: rate x{rate / (bw / base['wall']):.2f},"
                        f" connector CPU x{cpu / (base['cpu'] / bw * 1000):.2f}"
                    )
                print(line, flush=True)
    finally:
        mosaic.terminate()
        mosaic.wait(10)


if __name__ == "__main__":
    main()
