"""Chaos: a seeded workload through failing platforms and SIGKILLed connectors ends as if delivered once, in order.

    python bench/chaos.py [--children 300] [--workers 30] [--instances 1] [--database URL] [--seed 7]

Two runs of the same events (bench/chaos_workload.py), each against its own simulated Mosaic and its own
`connector serve` processes on loopback:

- the reference: every event posted once, in the order it happened, to one connector on a fresh SQLite
  database, against a healthy platform;
- the chaos run: every event posted by concurrent senders to `--instances` connectors on `--database`, some of
  them twice, in a shuffled order, against a platform (bench/chaos_platform.py) that fails a fifth of calls
  (5xx, 429, hangs, HTML) and loses some answers after applying them; a connector is SIGKILLed at random
  points and restarted, and senders retry anything not answered 2xx, as real senders do.

Each run then drains, restarts its connectors once (so the day's tick at start sees every obligation: reminders
are part of the comparison) and drains again. Prints the events, deliveries, duplicates, kills, the
differences between the two platforms' states (open steps with their due dates, assignees and notes; forms;
reminders), doubled records, dead letters, failed events and the time. Exit status 1 if any difference,
doubled record, dead letter or failed event was found.

On SQLite only the first instance runs the background work (a second is refused, README "Installing for
real"); with a `postgresql://` URL every instance runs it (issue 11: the PostgreSQL store). The database must be
empty at the start.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import tempfile
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.chaos_compare import (  # noqa: E402
    Comparison,
    childview_state,
    compare,
    compare_childview,
    platform_state,
)
from bench.chaos_processes import SECRET, TOKEN, Connectors, Killer, spawn  # noqa: E402
from bench.chaos_workload import as_childview, workload  # noqa: E402
from bench.webhook_intake import free_port, get_json, wait_ready  # noqa: E402

from webhooks.signature import secret_key, sign  # noqa: E402

KEY = secret_key(SECRET)


@dataclass
class Figures:
    events: int = 0
    deliveries: int = 0
    duplicates: int = 0
    kills: int = 0
    refused: int = 0
    seconds: float = 0.0
    comparison: Comparison | None = None
    dead_letters: int = 0
    failed_events: int = 0
    platform_faults: dict[str, int] = field(default_factory=dict)


Delivery = tuple[str, dict[str, Any]]  # (platform, event)


def post(port: int, delivery: Delivery) -> int:
    """One delivery; the status, or 0 when the connector could not be reached or did not answer."""
    platform, event = delivery
    body = json.dumps(event).encode()
    timestamp = str(int(time.time()))
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request(
            "POST",
            f"/webhooks/lincolnshire/{platform}",
            body=body,
            headers={
                "Content-Type": "application/json",
                "webhook-id": event["id"],
                "webhook-timestamp": timestamp,
                "webhook-signature": sign(KEY, event["id"], timestamp, body),
            },
        )
        response = conn.getresponse()
        response.read()
        conn.close()
        return response.status
    except (OSError, http.client.HTTPException):  # killed mid-answer: not answered 2xx, so sent again
        return 0


class Senders:
    """Threads posting deliveries to random instances; anything not answered 2xx goes to the back of the queue."""

    def __init__(self, deliveries: list[Delivery], ports: list[int], seed: int) -> None:
        self.queue = deque(deliveries)
        self.ports = ports
        self.seed = seed
        self.lock = threading.Lock()
        self.attempts = 0
        self.refused = 0

    def run(self, threads: int) -> None:
        workers = [threading.Thread(target=self._send, args=(i,)) for i in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    def _send(self, i: int) -> None:
        rng = random.Random(self.seed * 1000 + i)
        while True:
            with self.lock:
                if not self.queue:
                    return
                event = self.queue.popleft()
            status = post(rng.choice(self.ports), event)
            with self.lock:
                self.attempts += 1
                if 200 <= status < 300:
                    continue
                if 400 <= status < 500 and status != 429:
                    self.refused += 1  # the connector refused a well-formed, signed event: a finding
                    continue
                self.queue.append(event)
            time.sleep(0.05)


def wait_drained(port: int, timeout: float = 300) -> dict[str, Any]:
    """Until nothing is pending, twice in a row half a second apart (a retry waiting in the outbox is pending)."""
    deadline = time.time() + timeout
    quiet = 0
    status: dict[str, Any] = {}
    while time.time() < deadline and quiet < 2:
        try:
            status = get_json(port, "/status")
        except OSError:
            quiet = 0
            time.sleep(0.2)
            continue
        quiet = quiet + 1 if status["inbox_pending"] == 0 and status["outbox_pending"] == 0 else 0
        time.sleep(0.5)
    if quiet < 2:
        raise SystemExit(f"the connector did not drain within {timeout:g} s: {status}")
    return status


def deliveries(events: list[Delivery], seed: int, duplicates: float, window: int) -> list[Delivery]:
    """Every event once, a `duplicates` share of them again later, shuffled within about `window` places."""
    rng = random.Random(seed)
    copies = list(enumerate(events))
    copies += [
        (n + rng.randrange(1, 4 * window), e) for n, e in enumerate(events) if rng.random() < duplicates
    ]
    keyed = [(n + rng.uniform(0, window), e) for n, e in copies]
    return [e for _, e in sorted(keyed, key=lambda pair: pair[0])]


def one_run(
    work: Path, events: list[Delivery], args: argparse.Namespace, chaos: bool
) -> tuple[dict[str, Any], Figures]:
    name = "chaos" if chaos else "reference"
    log = open(work / f"{name}.log", "wb")  # noqa: SIM115 - handed to child processes, closed below
    figures = Figures(events=len(events))
    rates = (args.fail_rate, args.lose_rate) if chaos else (0, 0)
    faults = ["--seed", str(args.seed), "--fail-rate", str(rates[0]), "--lose-rate", str(rates[1])]
    ports = {platform: free_port() for platform in args.platforms}
    simulators = [
        spawn(
            [str(HERE / "chaos_platform.py"), str(port), "--platform", platform, "--token", TOKEN, *faults],
            stderr=log,
        )
        for platform, port in ports.items()
    ]
    database = args.database if chaos and args.database else str(work / f"{name}.db")
    connectors = Connectors(work, name, database, ports, args.instances if chaos else 1, log)
    started = time.time()
    try:
        for port in ports.values():
            wait_ready(port, "/_chaos/stats")
        connectors.start_all()
        if chaos:
            sent = deliveries(events, args.seed, args.duplicates, window=20)
            figures.duplicates = len(sent) - len(events)
            killer = Killer(connectors, args.seed, args.kill_every)
            killer.start()
            senders = Senders(sent, connectors.ports, args.seed)
            senders.run(args.senders)
            # Keep killing while the backlog is processed and written, until the asked-for kills are done.
            while killer.kills < args.kills and time.time() - started < 600:
                time.sleep(0.2)
            killer.stopping.set()
            killer.join()
            figures.kills = killer.kills
        else:
            senders = Senders(list(events), connectors.ports, args.seed)
            senders.run(1)
        figures.deliveries, figures.refused = senders.attempts, senders.refused
        port = connectors.background_ports()[0]
        wait_drained(port)
        connectors.restart_all()
        status = wait_drained(port)
        figures.dead_letters = int(status["dead_letters"])
        figures.failed_events = int(status["inbox_failed"]) + int(status["subject_failures"])
        state: dict[str, Any] = {}
        for platform, port in ports.items():
            for fault, n in get_json(port, "/_chaos/stats").items():
                figures.platform_faults[fault] = figures.platform_faults.get(fault, 0) + n
            read = platform_state if platform == "mosaic" else childview_state
            state[platform] = read(port, TOKEN)
    finally:
        connectors.stop_all()
        for simulator in simulators:
            simulator.terminate()
            simulator.wait(10)
        log.close()
    figures.seconds = time.time() - started
    return state, figures


def run(args: argparse.Namespace) -> Figures:
    work = Path(args.workdir or tempfile.mkdtemp(prefix="connector-chaos-"))
    work.mkdir(parents=True, exist_ok=True)
    mosaic = workload(args.seed, args.children, args.workers, date.today())
    events: list[Delivery] = []
    if "mosaic" in args.platforms:
        events += [("mosaic", e) for e in mosaic]
    if "childview" in args.platforms:
        events += [("childview", e) for e in as_childview(mosaic)]
    events.sort(key=lambda pair: pair[1]["occurred_at"])
    # Side by side: the reference is short, and waiting for it first would only add its time.
    with ThreadPoolExecutor(2) as pool:
        healthy = pool.submit(one_run, work, events, args, False)
        state, figures = one_run(work, events, args, chaos=True)
        reference, ref_figures = healthy.result()
    figures.comparison = Comparison()
    if "mosaic" in args.platforms:
        figures.comparison = compare(reference["mosaic"], state["mosaic"])
    if "childview" in args.platforms:
        compare_childview(reference["childview"], state["childview"], into=figures.comparison)
    print(f"work folder: {work}")
    held = []
    if "mosaic" in reference:
        m = reference["mosaic"]
        held.append(
            f"Mosaic {len(m['steps'])} steps, {len(m['forms'])} forms, {len(m['notifications'])} reminders"
        )
    if "childview" in reference:
        c = reference["childview"]
        held.append(f"Childview {len(c['prompts'])} prompts, {len(c['records'])} oversight records")
    print(
        f"reference: {ref_figures.events} events delivered once in order, {ref_figures.seconds:.1f} s;"
        f" {'; '.join(held)}"
    )
    print(
        f"chaos ({args.instances} instance(s), {'PostgreSQL' if 'postgresql://' in (args.database or '') else 'SQLite'}):"
        f" {figures.events} events, {figures.deliveries} deliveries ({figures.duplicates} duplicates,"
        f" {figures.deliveries - figures.events - figures.duplicates} retried by senders),"
        f" {figures.kills} kills, {figures.seconds:.1f} s"
    )
    faults = {k: v for k, v in figures.platform_faults.items() if k != "calls"}
    print(
        f"  platforms: {figures.platform_faults.get('calls', 0)} calls, faults {json.dumps(faults, sort_keys=True)}"
    )
    figures.comparison.print()
    (work / "differences.txt").write_text("".join(f"{line}\n" for line in figures.comparison.lines()))
    print(
        f"  dead letters {figures.dead_letters}, failed events {figures.failed_events},"
        f" refused deliveries {figures.refused}"
    )
    return figures


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=300)
    parser.add_argument("--workers", type=int, default=30)
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument(
        "--platforms",
        type=lambda text: [p for p in text.split(",") if p],
        default=["mosaic", "childview"],
        help="comma-separated: mosaic, childview (default both: the same caseload on each)",
    )
    parser.add_argument("--database", help="the chaos run's database (default: a fresh SQLite file)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--duplicates", type=float, default=0.15, help="share of events delivered twice")
    parser.add_argument("--fail-rate", type=float, default=0.2)
    parser.add_argument("--lose-rate", type=float, default=0.05)
    parser.add_argument(
        "--kills", type=int, default=4, help="SIGKILLs at least (more if the senders take longer)"
    )
    parser.add_argument("--kill-every", type=float, default=3.0, help="mean seconds between kills")
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument(
        "--workdir", help="keep logs, configs and databases here (default: a temporary folder)"
    )
    return parser.parse_args(argv)


def main() -> None:
    figures = run(parse())
    assert figures.comparison is not None
    bad = figures.comparison.total() + figures.dead_letters + figures.failed_events + figures.refused
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
