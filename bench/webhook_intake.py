"""Benchmark: the connector's webhook intake and webhook-to-Mosaic latency against `connector serve`.

Starts, each in its own process: the simulated Mosaic (with a recorder of when each step was created), the
connector (`connector serve`, SQLite, background work on), and a bare Flask endpoint answering 202 on the same
server and thread count. Then measures, on this machine:

1. accepted webhooks per second with N concurrent senders (default 16), for the connector and the bare endpoint,
   and their ratio;
2. intake latency p50/p99 at a steady 100 requests/s;
3. webhook-to-write latency p50/p99: from sending a `case.allocated` to Mosaic receiving the step's create;
4. the connector process's peak memory (VmHWM).

    python bench/webhook_intake.py [--seconds 10] [--senders 16] [--rate 100]

Senders are threads over keep-alive HTTP connections in this process; every event is signed as Mosaic's sender
signs it. Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.bench_events import allocation  # noqa: E402

from connector.sandbox.run import STEP_TYPES  # noqa: E402
from webhooks.signature import secret_key, sign  # noqa: E402

SECRET = "whsec_YmVuY2gtc2VjcmV0LWJlbmNoLXNlY3JldA=="
KEY = secret_key(SECRET)
# Issue 14's first row: the share of the bare server's rate the connector keeps, and its own rate.
GOAL_RATIO = 0.5
GOAL_RATE = 1500


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, path: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start")


def get_json(port: int, path: str) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    return json.loads(conn.getresponse().read())


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (from /proc, as `perf stat` would count it)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_of(pid: int) -> list[int]:
    """The process's live child processes (`connector serve`'s background work process)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        # A thread may end between the listing and the read.
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def descendants_of(pid: int) -> list[int]:
    """Its children, theirs, and so on (serve's background work process, and that one's delivery process)."""
    found = children_of(pid)
    return found + [d for child in found for d in descendants_of(child)]


def tree_cpu_seconds(pid: int) -> tuple[float, float]:
    """(the process's CPU seconds, its live descendants'): the connector's cost includes its background work
    process and that one's delivery process."""
    return cpu_seconds(pid), sum(cpu_seconds(child) for child in descendants_of(pid))


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Events:
    """case.allocated events for new children, spread over many workers as a real caseload would be."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.n = 0

    def next(self) -> tuple[str, bytes, str]:
        with self.lock:
            self.n += 1
            n = self.n
        person, worker = 2_000_000 + n, 60_000 + n % 3000
        event_id = f"evt_bench_{os.getpid()}_{n}"
        body = json.dumps(allocation(event_id, person, worker)).encode()
        return event_id, body, f"bench:case_supervision:{person}:{worker}:1"


def post(conn: http.client.HTTPConnection, event_id: str, body: bytes) -> int:
    timestamp = str(int(time.time()))
    conn.request(
        "POST",
        "/webhooks/bench/mosaic",
        body=body,
        headers={
            "Content-Type": "application/json",
            "webhook-id": event_id,
            "webhook-timestamp": timestamp,
            "webhook-signature": sign(KEY, event_id, timestamp, body),
        },
    )
    response = conn.getresponse()
    response.read()
    return response.status


def closed_loop(port: int, senders: int, seconds: float, events: Events) -> tuple[int, int]:
    """Each sender posts as fast as answers come back; returns (2xx answers, other answers)."""
    ok = [0] * senders
    bad = [0] * senders
    stop_at = time.time() + seconds

    def sender(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.time() < stop_at:
            event_id, body, _ = events.next()
            if 200 <= post(conn, event_id, body) < 300:
                ok[i] += 1
            else:
                bad[i] += 1

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(ok), sum(bad)


def paced(port: int, rate: float, seconds: float, events: Events) -> tuple[list[float], dict[str, float]]:
    """An open-loop sender at `rate` per second; returns intake latencies (ms) and send times by reference."""
    latencies: list[float] = []
    sent_at: dict[str, float] = {}
    lock = threading.Lock()
    workers = 8
    start = time.time() + 0.2
    total = int(rate * seconds)

    def sender(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for k in range(offset, total, workers):
            due = start + k / rate
            pause = due - time.time()
            if pause > 0:
                time.sleep(pause)
            event_id, body, reference = events.next()
            t0 = time.time()
            post(conn, event_id, body)
            t1 = time.time()
            with lock:
                latencies.append((t1 - t0) * 1000)
                sent_at[reference] = t0

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, sent_at


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index]


def spawn(args: list[str], code: Path = ROOT, **kw: Any) -> subprocess.Popen[bytes]:
    """A Python process importing the connector of `code` (this checkout, or another's for a baseline)."""
    env = dict(os.environ, PYTHONPATH=str(code) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen(
        [sys.executable, *args],
        env=env,
        cwd=None if code == ROOT else code,  # `-m connector.cli` imports from the working directory first
        stdout=subprocess.DEVNULL,
        stderr=kw.get("stderr"),
    )


def wait_drained(port: int, timeout: float) -> float:
    start = time.time()
    while time.time() - start < timeout:
        status = get_json(port, "/status")
        if status["inbox_pending"] == 0 and status["outbox_pending"] == 0:
            return time.time() - start
        time.sleep(0.2)
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measured phase")
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument(
        "--threads",
        type=int,
        default=16,
        help="server threads (connector and bare alike; the default of both)",
    )
    parser.add_argument(
        "--separate-worker",
        action="store_true",
        help="run processing and delivery in a `connector work` process (service.background = false)",
    )
    parser.add_argument(
        "--code",
        type=Path,
        default=ROOT,
        help="run the connector of this checkout (a baseline: `git worktree add /tmp/base fda37d8`) against"
        " this checkout's simulated Mosaic and bare endpoint",
    )
    parser.add_argument(
        "--worker-threads",
        action="store_true",
        help="run processing and delivery as threads of `connector serve` (service.worker_process = false)",
    )
    parser.add_argument(
        "--delivery-thread",
        action="store_true",
        help="deliver from a thread of the background work process (service.delivery_process = false)",
    )
    parser.add_argument(
        "--burst-rate",
        type=float,
        default=None,
        help="service.burst_rate for the connector (0: its background work never steps back for a burst)",
    )
    args = parser.parse_args()
    code = args.code.resolve()

    work = Path(tempfile.mkdtemp(prefix="connector-bench-"))
    mosaic_port, connector_port, bare_port = free_port(), free_port(), free_port()
    config = work / "bench.toml"
    step_types = "\n".join(f"{k} = {v}" for k, v in STEP_TYPES.items())
    config.write_text(
        f"""
[storage]
database = "connector.db"
[service]
threads = {args.threads}
poll_interval_seconds = 0.05
background = {"false" if args.separate_worker else "true"}
{"worker_process = false" if args.worker_threads else ""}
{"delivery_process = false" if args.delivery_thread else ""}
{"" if args.burst_rate is None else f"burst_rate = {args.burst_rate}"}
[[tenants]]
id = "bench"
rule_pack = "lincolnshire"
reference_prefix = "bench"
[tenants.mosaic]
base_url = "http://127.0.0.1:{mosaic_port}/api"
api_token = "bench-token"
webhook_secrets = ["{SECRET}"]
[tenants.mosaic.step_types]
{step_types}
"""
    )
    log = open(work / "connector.log", "wb")  # noqa: SIM115 - handed to a child process, closed in finally
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(spawn([str(HERE / "servers.py"), "mosaic", str(mosaic_port)]))
        bare = spawn([str(HERE / "servers.py"), "bare", str(bare_port), str(args.threads)])
        procs.append(bare)
        connector = spawn(
            [
                "-m",
                "connector.cli",
                "--log-level",
                "WARNING",
                "serve",
                "--config",
                str(config),
                "--port",
                str(connector_port),
            ],
            code=code,
            stderr=log,
        )
        procs.append(connector)
        worker = None
        if args.separate_worker:
            worker = spawn(
                ["-m", "connector.cli", "--log-level", "WARNING", "work", "--config", str(config)],
                code=code,
                stderr=log,
            )
            procs.append(worker)
        wait_ready(mosaic_port, "/_bench/created")
        wait_ready(bare_port, "/")
        wait_ready(connector_port, "/readyz")
        events = Events()

        print(
            f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; server threads {args.threads};"
            f" connector from {code}"
        )
        closed_loop(connector_port, args.senders, 2, events)  # warm-up
        wait_drained(connector_port, 120)

        serve_before, child_before = tree_cpu_seconds(connector.pid)
        worker_before = cpu_seconds(worker.pid) if worker is not None else 0.0
        ok, bad = closed_loop(connector_port, args.senders, args.seconds, events)
        serve_after, child_after = tree_cpu_seconds(connector.pid)
        worker_after = cpu_seconds(worker.pid) if worker is not None else 0.0
        serve_cpu = (serve_after - serve_before) / max(ok, 1) * 1000
        background_cpu = (child_after - child_before + worker_after - worker_before) / max(ok, 1) * 1000
        connector_cpu = serve_cpu + background_cpu
        connector_rate = ok / args.seconds
        drain_cpu_before = sum(tree_cpu_seconds(connector.pid)) + (cpu_seconds(worker.pid) if worker else 0.0)
        written_before = len(get_json(mosaic_port, "/_bench/created"))
        drain = wait_drained(connector_port, 600)
        drain_cpu = (
            sum(tree_cpu_seconds(connector.pid))
            + (cpu_seconds(worker.pid) if worker else 0.0)
            - drain_cpu_before
        )  # serve's background work process included: it does the draining
        drained = len(get_json(mosaic_port, "/_bench/created")) - written_before
        cpu_before = cpu_seconds(bare.pid)
        bare_ok, _ = closed_loop(bare_port, args.senders, args.seconds, Events())
        bare_cpu = (cpu_seconds(bare.pid) - cpu_before) / max(bare_ok, 1) * 1000
        bare_rate = bare_ok / args.seconds
        ratio = connector_rate / bare_rate
        print(
            f"accepted webhooks/s, {args.senders} senders: connector {connector_rate:.0f}/s ({bad} non-2xx),"
            f" bare Flask 202 endpoint on the same server {bare_rate:.0f}/s: ratio {ratio:.2f}"
            f" (goal: ratio >= {GOAL_RATIO}, and >= {GOAL_RATE}/s)"
        )
        print(
            f"  server CPU per request (user+system, all threads): connector {connector_cpu:.2f} ms"
            f" (serve {serve_cpu:.2f} + background work process {background_cpu:.2f}), bare {bare_cpu:.2f} ms"
        )
        print(
            f"  backlog of {ok} events processed and written to Mosaic {drain:.1f} s after the load stopped"
            f" ({drain / args.seconds:.2f} of the burst's {args.seconds:g} s; goal: within it);"
            f" sustained {ok / (args.seconds + drain):.0f} events/s from the first webhook to the last write"
            f" (goal: >= {GOAL_RATE}/s)"
        )
        print(
            f"  connector CPU while the backlog drained: {drain_cpu:.2f} s for the {drained} writes made then,"
            f" {drain_cpu / max(drained, 1) * 1000:.2f} ms per write (processing its event included)"
        )

        latencies, sent_at = paced(connector_port, args.rate, args.seconds, events)
        wait_drained(connector_port, 120)
        created = get_json(mosaic_port, "/_bench/created")
        to_write = [(created[ref] - t0) * 1000 for ref, t0 in sent_at.items() if ref in created]
        print(
            f"intake latency at {args.rate:.0f}/s: p50 {percentile(latencies, 50):.1f} ms,"
            f" p99 {percentile(latencies, 99):.1f} ms ({len(latencies)} requests)"
        )
        print(
            f"webhook to Mosaic write: p50 {percentile(to_write, 50):.1f} ms, p99 {percentile(to_write, 99):.1f} ms"
            f" ({len(to_write)} of {len(sent_at)} writes seen)"
        )
        print(f"connector serve peak memory (VmHWM): {peak_rss_mib(connector.pid):.0f} MiB")
        for child in children_of(connector.pid):
            print(f"  its background work process peak memory (VmHWM): {peak_rss_mib(child):.0f} MiB")
            for delivery in children_of(child):
                print(f"  and that one's delivery process (VmHWM): {peak_rss_mib(delivery):.0f} MiB")
        if worker is not None:
            print(f"connector work peak memory (VmHWM): {peak_rss_mib(worker.pid):.0f} MiB")
        status = get_json(connector_port, "/status")
        print(f"final status: {json.dumps(status)}")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


if __name__ == "__main__":
    main()
