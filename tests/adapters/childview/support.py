"""A simulated Childview served over real HTTP, and a writer on it whose waits are recorded, not slept."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import requests
from tests.support.transport import InterceptedSession, Send
from werkzeug.serving import make_server

from adapters.base import ObligationWrite
from adapters.childview.client import ChildviewClient
from adapters.childview.settings import parse_childview_settings
from adapters.childview.simulator import ChildviewStore, create_simulator_app, simulator_store
from adapters.childview.writer import ChildviewWriter

KEY = "sim-key"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
REF = "linc:case_supervision:YP-00412:CM-0042:1"


class CountingSession(InterceptedSession):
    """Counts the requests the writer sends, by method."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def intercept(self, request: requests.PreparedRequest, send: Send) -> requests.Response:
        self.sent.append(str(request.method))
        return send()


@dataclasses.dataclass
class Served:
    base_url: str
    store: ChildviewStore
    http: requests.Session
    sleeps: list[float] = dataclasses.field(default_factory=list)

    def call(
        self,
        method: str,
        path: str,
        json: Any = None,
        key: str | None = KEY,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        sent = {} if key is None else {"X-Api-Key": key}
        sent.update(headers or {})
        return self.http.request(method, self.base_url + path, json=json, headers=sent, timeout=5)

    def writer(
        self, session: requests.Session | None = None, timeout: float = 2.0, **raw: Any
    ) -> ChildviewWriter:
        settings = parse_childview_settings(
            {"base_url": self.base_url, "api_key": KEY, "webhook_secrets": [SECRET], **raw}, {}
        )
        client = ChildviewClient(
            self.base_url,
            KEY,
            session or requests.Session(),
            timeout=timeout,
            max_attempts=4,
            max_wait=30.0,
            sleep=self.sleeps.append,
        )
        return ChildviewWriter(client, settings, "linc")


@contextmanager
def served() -> Iterator[Served]:
    app = create_simulator_app(KEY)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll interval so that shutdown does not wait half a second per test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        with requests.Session() as http:
            yield Served(f"http://127.0.0.1:{server.server_port}/api", simulator_store(app), http)
    finally:
        server.shutdown()
        thread.join(5)


def obligation(**changes: Any) -> ObligationWrite:
    values: dict[str, Any] = {
        "reference": REF,
        "open": True,
        "kind": "case_supervision",
        "case_id": "YP-00412",
        "assignee_id": "CM-0042",
        "team_id": "YOT-NORTH",
        "due_date": date(2026, 11, 30),
        "title": "Case supervision due",
        "notes": "Case supervision due by 30 Nov 2026. Why: LINC-CS-ALLOC (5.1.1), counted from allocation on 2 Nov.",
        "incoming_on": date(2026, 11, 23),
        "form": (("due_date", "2026-11-30"), ("reason", "LINC-CS-ALLOC (5.1.1)")),
        "supervisor_id": "TM-0007",
    }
    values.update(changes)
    return ObligationWrite(**values)
