"""Two `connector serve` on one PostgreSQL, one SIGKILLed mid-burst, against one on SQLite fed the same events.

    python bench/instances.py --events 300

Starts the simulated Mosaic and, first, one `connector serve` on SQLite, sends `--events` signed webhooks (a
child allocated, then put on a plan, for each of `--events / 2` children over 40 workers), waits until
`/status` shows nothing pending and reads every workflow step the simulator holds. Then a fresh simulator and
two `connector serve` on one PostgreSQL database (a server started for the run, as the test suite starts
one): the events alternate between the two instances; halfway, instance two is SIGKILLed, and its undelivered
events are sent again to instance one, as a platform retries a failed delivery; instance two is started again
on the same database. Prints, for each run: events, kills, seconds to settle; and the comparison: steps only
in one run, references holding more than one step (doubled records), and dead letters.
"""

from __future__ import annotations

import argparse
import http.client
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.webhook_intake import SECRET, free_port, get_json, post, spawn, wait_ready  # noqa: E402
from tests.support.postgres import PostgresServer  # noqa: E402  (the suite's own throwaway server)

from connector.sandbox.run import STEP_TYPES  # noqa: E402


def events(count: int) -> list[tuple[str, bytes]]:
    out = []
    for n in range(count // 2):
        person, worker = 3_000_000 + n, 70_000 + n % 40
        for kind, data, at in (
            (
                "case.allocated",
                {
                    "person_id": person,
                    "worker_id": worker,
                    "team_id": 310,
                    "relationship": "ALLWKR",
                    "start_date": "2026-11-02",
                },
                "2026-11-02T09:30:00Z",
            ),
            (
                "case.status_changed",
                {"person_id": person, "status": "CP", "start_date": "2026-11-03"},
                "2026-11-03T10:00:00Z",
            ),
        ):
            event_id = f"evt_inst_{kind}_{n}"
            body = {"id": event_id, "type": kind, "occurred_at": at, "data": data}
            out.append((event_id, json.dumps(body).encode()))
    return out


def config(work: Path, name: str, database: str, mosaic_port: int) -> Path:
    path = work / f"{name}.toml"
    step_types = "\n".join(f"{k} = {v}" for k, v in STEP_TYPES.items())
    path.write_text(
        f"""
[storage]
database = "{database}"
[service]
poll_interval_seconds = 0.05
[delivery]
backoff_seconds = 0.2
backoff_max_seconds = 1
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
    return path


def serve(config_path: Path, port: int, log: Any) -> subprocess.Popen[bytes]:
    return spawn(
        [
            "-m",
            "connector.cli",
            "--log-level",
            "WARNING",
            "serve",
            "--config",
            str(config_path),
            "--port",
            str(port),
        ],
        stderr=log,
    )


def send(port: int, event_id: str, body: bytes) -> bool:
    try:
        return post(http.client.HTTPConnection("127.0.0.1", port, timeout=5), event_id, body) < 300
    except OSError:
        return False


def settle(port: int, timeout: float = 300) -> float:
    start = time.time()
    while time.time() - start < timeout:
        status = get_json(port, "/status")
        if status["inbox_pending"] == 0 and status["outbox_pending"] == 0:
            return time.time() - start
        time.sleep(0.2)
    return float("nan")


def steps(mosaic_port: int) -> list[dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", mosaic_port, timeout=30)
    conn.request("GET", "/api/workflow-steps", headers={"Authorization": "Bearer bench-token"})
    body = json.loads(conn.getresponse().read())
    return list(body["items"] if isinstance(body, dict) else body)


def shape(step: dict[str, Any]) -> str:
    return json.dumps(
        {k: v for k, v in step.items() if not k.endswith("_id") or k == "workflow_step_type_id"},
        sort_keys=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="connector-instances-"))
    log = open(work / "connector.log", "wb")  # noqa: SIM115 - handed to child processes, closed in finally
    procs: list[subprocess.Popen[bytes]] = []
    server = PostgresServer()
    try:
        workload = events(args.events)
        # One instance on SQLite, each event once, in order.
        mosaic_port, port = free_port(), free_port()
        procs.append(spawn([str(HERE / "servers.py"), "mosaic", str(mosaic_port)]))
        procs.append(serve(config(work, "alone", "alone.db", mosaic_port), port, log))
        wait_ready(mosaic_port, "/_bench/created")
        wait_ready(port, "/readyz")
        started = time.time()
        for event_id, body in workload:
            assert send(port, event_id, body)
        alone_seconds = time.time() - started + settle(port)
        alone = steps(mosaic_port)
        alone_dead = get_json(port, "/status")["dead_letters"]

        # Two instances on one PostgreSQL database; instance two is SIGKILLed halfway through the burst.
        url = server.fresh_database().url
        mosaic_port, ports = free_port(), [free_port(), free_port()]
        procs.append(spawn([str(HERE / "servers.py"), "mosaic", str(mosaic_port)]))
        configs = [config(work, f"pg{i}", url, mosaic_port) for i in (1, 2)]
        instances = [serve(configs[i], ports[i], log) for i in (0, 1)]
        procs += instances
        wait_ready(mosaic_port, "/_bench/created")
        for p in ports:
            wait_ready(p, "/readyz")
        started, kills, resent = time.time(), 0, 0
        for n, (event_id, body) in enumerate(workload):
            if n == len(workload) // 2:
                instances[1].send_signal(signal.SIGKILL)
                instances[1].wait()
                kills += 1
            if not send(ports[n % 2], event_id, body):
                resent += 1
                assert send(ports[0], event_id, body)  # the platform retries; the other instance takes it
        instances[1] = serve(configs[1], ports[1], log)
        procs.append(instances[1])
        wait_ready(ports[1], "/readyz")
        shared_seconds = time.time() - started + settle(ports[0])
        shared = steps(mosaic_port)
        shared_dead = get_json(ports[0], "/status")["dead_letters"]

        only_alone = Counter(map(shape, alone)) - Counter(map(shape, shared))
        only_shared = Counter(map(shape, shared)) - Counter(map(shape, alone))
        doubled = sum(1 for c in Counter(s["external_reference"] for s in shared).values() if c > 1)
        print(
            f"events {len(workload)}; steps on the platform: one on SQLite {len(alone)}, two on PostgreSQL {len(shared)}"
        )
        print(f"one instance on SQLite: settled in {alone_seconds:.1f} s; dead letters {alone_dead}")
        print(
            f"two instances on PostgreSQL: kills {kills}, webhooks re-sent to the other instance {resent},"
            f" settled in {shared_seconds:.1f} s; dead letters {shared_dead}"
        )
        print(
            f"differences: {sum(only_alone.values())} steps only on SQLite's platform, {sum(only_shared.values())}"
            f" only on PostgreSQL's; doubled records {doubled}"
        )
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        log.close()
        server.stop()


if __name__ == "__main__":
    main()
