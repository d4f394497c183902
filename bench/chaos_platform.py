"""The simulated Mosaic (or Childview) behind a fault injector, for `bench/chaos.py`; run in its own process.

    python bench/chaos_platform.py PORT [--platform childview] --seed 7 --fail-rate 0.2 --lose-rate 0.05 --hang 1.5

Before the simulator sees a call, a `--fail-rate` share of them is answered 500, 503 or 429 (Retry-After 1), or
hangs for `--hang` seconds (longer than the connector's timeout) and is then answered 504, or is answered 200
with an HTML page: none of these applied anything. A `--lose-rate` share is applied by the simulator and its
answer then lost: replaced by a 502, by a hang, or by a 200 whose body is cut off. Calls carrying
`X-Chaos-Exempt: 1` (the harness reading the platform's state) pass untouched; `GET /_chaos/stats` counts what
was done. A fresh run with `--fail-rate 0 --lose-rate 0` is the healthy platform of the reference run.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from waitress import serve

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.childview.simulator import create_simulator_app as childview_app
from adapters.mosaic.simulator import create_simulator_app as mosaic_app

StartResponse = Callable[..., Any]
BEFORE = ("500", "503", "429", "hang", "html")
AFTER = ("lost-502", "lost-hang", "lost-cut")


class FaultInjector:
    def __init__(
        self, app: Callable[..., Iterable[bytes]], seed: int, fail_rate: float, lose_rate: float, hang: float
    ) -> None:
        self.app = app
        self.random = random.Random(seed)
        self.fail_rate, self.lose_rate, self.hang = fail_rate, lose_rate, hang
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def _draw(self) -> str | None:
        with self.lock:
            self.counts["calls"] += 1
            r = self.random.random()
            if r < self.fail_rate:
                fault = self.random.choice(BEFORE)
            elif r < self.fail_rate + self.lose_rate:
                fault = self.random.choice(AFTER)
            else:
                return None
            self.counts[fault] += 1
            return fault

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/_chaos/stats":
            with self.lock:
                body = json.dumps(dict(self.counts)).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        if environ.get("HTTP_X_CHAOS_EXEMPT") == "1" or not path.startswith("/api/"):
            return self.app(environ, start_response)
        fault = self._draw()
        if fault is None:
            return self.app(environ, start_response)
        if fault in AFTER:
            # Applied for real; only the answer goes astray.
            applied = b"".join(self.app(environ, lambda *a, **k: None))
            if fault == "lost-hang":
                time.sleep(self.hang)
            if fault == "lost-cut":
                start_response(
                    "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(applied)))]
                )
                return [applied[: len(applied) // 2]]
            return _answer(start_response, "502 Bad Gateway", b'{"message": "Simulated: answer lost."}')
        if fault == "hang":
            time.sleep(self.hang)
            return _answer(start_response, "504 Gateway Timeout", b"")
        if fault == "html":
            return _answer(start_response, "200 OK", b"<html><body>Maintenance</body></html>", "text/html")
        if fault == "429":
            start_response(
                "429 Too Many Requests", [("Content-Type", "application/json"), ("Retry-After", "1")]
            )
            return [b'{"message": "Simulated: slow down."}']
        status = "500 Internal Server Error" if fault == "500" else "503 Service Unavailable"
        return _answer(start_response, status, b'{"message": "Simulated fault."}')


def _answer(
    start_response: StartResponse, status: str, body: bytes, content_type: str = "application/json"
) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("--platform", choices=("mosaic", "childview"), default="mosaic")
    parser.add_argument(
        "--token", default="chaos-token", help="Mosaic's bearer token, or Childview's API key"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fail-rate", type=float, default=0.2)
    parser.add_argument("--lose-rate", type=float, default=0.05)
    parser.add_argument("--hang", type=float, default=1.5)
    args = parser.parse_args(argv)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    app = FaultInjector(
        (mosaic_app if args.platform == "mosaic" else childview_app)(args.token),
        args.seed,
        args.fail_rate,
        args.lose_rate,
        args.hang,
    )
    serve(app, host="127.0.0.1", port=args.port, threads=24, _quiet=True)


if __name__ == "__main__":
    main(sys.argv[1:])
