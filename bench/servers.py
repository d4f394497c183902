"""Helper servers the webhook benchmark starts in their own processes.

`mosaic PORT`: the simulated Mosaic shipped with the connector, behind a recorder that notes when each workflow
step was created (wall clock), readable at GET /_bench/created.
`bare PORT THREADS`: a bare Flask endpoint answering 202 on the same server (waitress) and thread count the
connector uses: the baseline the connector's intake is compared with.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from waitress import serve

from adapters.mosaic.simulator import create_simulator_app

StartResponse = Callable[..., Any]


class CreationRecorder:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.created: dict[str, float] = {}
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/_bench/created":
            with self.lock:
                body = json.dumps(self.created).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        if path.endswith("/workflow-steps") and environ["REQUEST_METHOD"] == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length)
            reference = json.loads(raw or b"{}").get("external_reference")
            at = time.time()
            environ["wsgi.input"] = io.BytesIO(raw)
            result = self.app(environ, start_response)
            if reference:
                with self.lock:
                    self.created.setdefault(reference, at)
            return result
        return self.app(environ, start_response)


def bare_app() -> Flask:
    app = Flask("bare")

    @app.post("/webhooks/<tenant>/<platform>")
    def accept(tenant: str, platform: str) -> tuple[dict[str, str], int]:
        return {"status": "accepted", "id": "x"}, 202

    return app


def main(argv: list[str]) -> None:
    kind, port = argv[0], int(argv[1])
    # waitress warns on every queued task under load; the benchmark reads figures, not warnings.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    if kind == "mosaic":
        serve(
            CreationRecorder(create_simulator_app("bench-token")),
            host="127.0.0.1",
            port=port,
            threads=8,
            _quiet=True,
        )
    elif kind == "bare":
        serve(bare_app(), host="127.0.0.1", port=port, threads=int(argv[2]), _quiet=True)
    else:
        raise SystemExit(f"unknown server {kind!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
