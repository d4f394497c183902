"""Benchmark: where one signed webhook's CPU time goes inside the connector, without sockets.

Builds the connector's WSGI app in this process (SQLite in a temporary folder, no background work), then:

1. times whole requests through the app (WSGI environ in, body out), one thread, and the same through a bare
   Flask 202 endpoint, so the difference is what the connector adds on top of Flask;
2. times each stage alone on the same bodies: HMAC, JSON parse, schema validation, event serialisation,
   the durable commit (one event per transaction, so one fsync each), the log line, the JSON answer;
3. with `--profile`, prints cProfile's top functions for the whole-request loop.

    python bench/intake_profile.py [--requests 3000] [--profile]

Prints figures only; asserts nothing. Waitress and the sockets are not in these figures: compare with
`bench/webhook_intake.py`, which measures over loopback.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import pstats
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from adapters.mosaic.events import parse_mosaic_event  # noqa: E402
from connector.config import parse_config  # noqa: E402
from connector.sandbox.run import STEP_TYPES  # noqa: E402
from connector.service import Service  # noqa: E402
from connector.store.event_codec import event_to_json  # noqa: E402
from connector.web.app import create_app  # noqa: E402
from webhooks.json_body import load_json  # noqa: E402
from webhooks.signature import secret_key, sign, verify  # noqa: E402

SECRET = "whsec_YmVuY2gtc2VjcmV0LWJlbmNoLXNlY3JldA=="
KEY = secret_key(SECRET)
NOW = 1_796_126_400
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def bare_app() -> Flask:
    """The baseline of bench/servers.py: a Flask route answering 202 without looking at the request."""
    app = Flask("bare")

    @app.post("/webhooks/<tenant>/<platform>")
    def accept(tenant: str, platform: str) -> tuple[dict[str, str], int]:
        return {"status": "accepted", "id": "x"}, 202

    return app


def body_of(n: int) -> tuple[str, bytes]:
    event_id = f"evt_profile_{n}"
    document = {
        "id": event_id,
        "type": "case.allocated",
        "occurred_at": "2026-11-02T09:30:00Z",
        "data": {
            "person_id": 2_000_000 + n,
            "worker_id": 60_000 + n % 3000,
            "team_id": 300 + n % 50,
            "relationship": "ALLWKR",
            "start_date": "2026-11-02",
        },
    }
    return event_id, json.dumps(document).encode()


def environ_of(event_id: str, body: bytes) -> dict[str, Any]:
    timestamp = str(NOW)
    return {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/webhooks/bench/mosaic",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_WEBHOOK_ID": event_id,
        "HTTP_WEBHOOK_TIMESTAMP": timestamp,
        "HTTP_WEBHOOK_SIGNATURE": sign(KEY, event_id, timestamp, body),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def run_requests(app: WSGIApp, environs: list[dict[str, Any]]) -> tuple[float, float, dict[str, int]]:
    """(wall seconds, CPU seconds of this process, answers by status line)."""
    statuses: dict[str, int] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        statuses[status] = statuses.get(status, 0) + 1

    started, cpu = time.perf_counter(), time.process_time()
    for environ in environs:
        result = app(environ, start_response)
        b"".join(result)
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return time.perf_counter() - started, time.process_time() - cpu, statuses


def per_request_us(seconds: float, n: int) -> float:
    return seconds / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument(
        "--senders",
        type=int,
        default=16,
        help="threads calling the app at once, for the group-commit figures",
    )
    args = parser.parse_args()
    n = args.requests
    # Logged as `connector serve --log-level INFO` would: the per-webhook line is part of the cost.
    logging.basicConfig(level=logging.INFO, stream=io.StringIO())

    work = Path(tempfile.mkdtemp(prefix="connector-profile-"))
    config = parse_config(
        {
            "storage": {"database": str(work / "connector.db")},
            "service": {"background": False},
            "tenants": [
                {
                    "id": "bench",
                    "rule_pack": "lincolnshire",
                    "mosaic": {
                        "base_url": "http://127.0.0.1:9/api",
                        "api_token": "bench-token",
                        "webhook_secrets": [SECRET],
                        "step_types": dict(STEP_TYPES),
                    },
                }
            ],
        },
        base_dir=work,
        environ={},
    )
    service = Service(config)
    app = create_app(service, clock=lambda: NOW)
    bodies = [body_of(i) for i in range(3 * n + 200)]
    run_requests(app, [environ_of(*b) for b in bodies[3 * n : 3 * n + 200]])  # warm-up

    environs = [environ_of(*b) for b in bodies[:n]]
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    whole, whole_cpu, statuses = run_requests(app, environs)
    if profiler is not None:
        profiler.disable()
    bare, bare_cpu, _ = run_requests(bare_app(), [environ_of(*b) for b in bodies[n : 2 * n]])

    stage_bodies = bodies[:n]
    stages: dict[str, Callable[[], None]] = {}

    def hmac_stage() -> None:
        for event_id, body in stage_bodies:
            headers = {
                "webhook-id": event_id,
                "webhook-timestamp": str(NOW),
                "webhook-signature": sign(KEY, event_id, str(NOW), body),
            }
            verify((KEY,), headers, body, NOW)

    def sign_only() -> None:
        for event_id, body in stage_bodies:
            sign(KEY, event_id, str(NOW), body)

    documents = [load_json(body) for _, body in stage_bodies]
    events = [parse_mosaic_event(doc) for doc in documents]
    stages["HMAC verify (less the signing)"] = hmac_stage
    stages["JSON parse with limits"] = lambda: [load_json(body) for _, body in stage_bodies] and None
    stages["schema validation + domain event"] = lambda: [parse_mosaic_event(d) for d in documents] and None
    later = [parse_mosaic_event({**doc, "id": f"{doc['id']}_again"}) for doc in documents]

    def commit_stage() -> None:
        for event in later:
            service.inbox.accept("bench", "mosaic", event.event_id, event)

    stages["the commit, one per request"] = commit_stage
    stages["event serialisation for the inbox"] = lambda: (
        [json.dumps(event_to_json(e), separators=(",", ":")) for e in events] and None
    )

    print(f"requests: {n}, one thread, in process (no waitress, no sockets); answers {statuses}")
    print(
        f"  connector, whole request: {per_request_us(whole, n):7.0f} us wall,"
        f" {per_request_us(whole_cpu, n):5.0f} us CPU (the rest is waiting for fsync)"
    )
    print(
        f"  bare Flask 202 endpoint:  {per_request_us(bare, n):7.0f} us wall,"
        f" {per_request_us(bare_cpu, n):5.0f} us CPU"
    )
    signing, signing_cpu = _timed(sign_only)
    for name, stage in stages.items():
        wall, cpu = _timed(stage)
        if name.startswith("HMAC"):
            wall, cpu = wall - signing, cpu - signing_cpu
        print(f"  {name:<36}{per_request_us(wall, n):7.0f} us wall, {per_request_us(cpu, n):5.0f} us CPU")
    together(service, app, [environ_of(*b) for b in bodies[2 * n : 3 * n]], args.senders)
    service.close()
    if profiler is not None:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(40)


def together(service: Service, app: WSGIApp, environs: list[dict[str, Any]], senders: int) -> None:
    """The whole request from `senders` threads at once: the commits they share (one fsync each)."""
    commits = 0
    begin = service.db.transaction

    @contextmanager
    def counted() -> Iterator[sqlite3.Connection]:
        nonlocal commits
        commits += 1
        with begin() as conn:
            yield conn

    shares = [environs[i::senders] for i in range(senders)]
    results: list[dict[str, int]] = []
    service.db.transaction = counted  # type: ignore[method-assign]
    started, cpu = time.perf_counter(), time.process_time()
    threads = [threading.Thread(target=lambda s=s: results.append(run_requests(app, s)[2])) for s in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    service.db.transaction = begin  # type: ignore[method-assign]
    n = len(environs)
    answered = sum(r.get("202 Accepted", 0) for r in results)
    print(
        f"{senders} senders at once, in process: {n / wall:.0f} requests/s, {per_request_us(cpu, n):.0f} us CPU"
        f" per request (all threads), {n / max(commits, 1):.1f} events per commit (one fsync each);"
        f" {answered} of {n} answered 202"
    )


def _timed(stage: Callable[[], None]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one stage over every body."""
    started, cpu = time.perf_counter(), time.process_time()
    stage()
    return time.perf_counter() - started, time.process_time() - cpu


if __name__ == "__main__":
    main()
