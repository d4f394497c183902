"""`connector sandbox`: the whole path on one machine, with nothing else installed.

Starts the simulated Mosaic and the simulated Childview shipped in the adapters, and the connector itself, on
local ports; sends a Lincolnshire team's month of Mosaic events and its Youth Offending Service's month of
Childview events as signed webhooks (every event twice, in a shuffled order); lets the connector process and
deliver them; then reads back from each platform what it now holds, with why.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import date
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from adapters.childview.simulator import create_simulator_app as create_childview
from adapters.mosaic.simulator import create_simulator_app as create_mosaic
from connector.config import load_config_file
from connector.sandbox.report import report_childview, report_mosaic
from connector.sandbox.samples import (
    SANDBOX_KEY,
    SANDBOX_SECRET,
    SANDBOX_TOKEN,
    SANDBOX_VIEWER,
    STEP_TYPES,
    config_text,
    sample_months,
)
from connector.service import Service
from connector.web.app import create_app
from webhooks.signature import secret_key, sign

__all__ = ["STEP_TYPES", "run_sandbox", "serving", "signed_headers"]


@contextmanager
def serving(app: Flask, port: int = 0) -> Iterator[BaseWSGIServer]:
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=f"sandbox-{app.name}", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(5)


def signed_headers(secret: str, webhook_id: str, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": sign(secret_key(secret), webhook_id, timestamp, body),
    }


def run_sandbox(
    workdir: Path,
    mosaic_port: int,
    echo: Callable[[str], None],
    childview_port: int = 0,
    serve: bool = False,
    connector_port: int = 0,
    wait: Callable[[], None] | None = None,
) -> None:
    """The demonstration; with `serve`, the connector, dashboard and simulators keep running until `wait`
    returns (by default, until Ctrl-C)."""
    # The servers' and the edge's per-request lines would bury the tables this command exists to show.
    for noisy in ("werkzeug", "webhooks"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in [*workdir.glob("connector.db*"), *workdir.glob("serve.db*")]:
        stale.unlink()
    months = sample_months()
    as_of = max(date.fromisoformat(m["as_of"]) for m in months)

    with (
        serving(create_mosaic(SANDBOX_TOKEN), mosaic_port) as mosaic,
        serving(create_childview(SANDBOX_KEY), childview_port) as childview,
    ):
        mosaic_url = f"http://127.0.0.1:{mosaic.server_port}/api"
        childview_url = f"http://127.0.0.1:{childview.server_port}/api"
        config_path = workdir / "sandbox.toml"
        # A second config with its own, empty database, for `connector serve` against fresh simulators: the
        # sandbox's database holds record ids that new (empty) simulators do not, so every write to them
        # would become a dead letter.
        serve_path = workdir / "serve.toml"
        for path, database in ((config_path, "connector.db"), (serve_path, "serve.db")):
            path.write_text(config_text(database, mosaic_url, childview_url), encoding="utf-8")
            # It holds the sandbox's token, key and secret inline: private, as a real config should be.
            path.chmod(0o600)
        config = load_config_file(config_path)
        service = Service(config, today=lambda: as_of)
        try:
            with serving(create_app(service), connector_port) as connector:
                echo(
                    f"Simulated Mosaic on {mosaic_url}, simulated Childview on {childview_url};"
                    f" connector on http://127.0.0.1:{connector.server_port}"
                )
                # Processing and delivery run while the months arrive, as under `connector serve`.
                service.start_background()
                for month in months:
                    _send_month(month, f"http://127.0.0.1:{connector.server_port}", echo)
                _wait_until_idle(service)
                service.stop()
                counts = service.tick(as_of)
                service.drain()
                _report_all(service, months, mosaic_url, childview_url, counts.reminders, echo)
                echo(f"\nConfig written to {config_path}; database at {config.database}.")
                _instructions(workdir, serve_path, mosaic.server_port, childview.server_port, echo)
                _dashboard(f"http://127.0.0.1:{connector.server_port}", str(months[0]["team_id"]), echo)
                if serve:
                    echo("Serving the connector, its dashboard and both simulators until Ctrl-C.")
                    (wait or _until_interrupted)()
        finally:
            service.close()


def _until_interrupted() -> None:
    with suppress(KeyboardInterrupt):
        threading.Event().wait()


def _dashboard(connector_url: str, team: str, echo: Callable[[str], None]) -> None:
    echo(
        f"\nCompliance dashboard for team {team}: {connector_url}/dashboard/lincolnshire/teams/{team}"
        f"\n  (log in with the viewer token {SANDBOX_VIEWER!r}, from sandbox.toml; `connector sandbox --serve`"
        " keeps it running)"
    )


def _report_all(
    service: Service,
    months: list[dict[str, Any]],
    mosaic_url: str,
    childview_url: str,
    reminders: int,
    echo: Callable[[str], None],
) -> None:
    as_of = service.today()
    mosaic_month, yos_month = months
    steps = report_mosaic(service, mosaic_url, SANDBOX_TOKEN, str(mosaic_month["team_id"]), as_of, echo)
    prompts = report_childview(service, childview_url, SANDBOX_KEY, yos_month["yot_team"], as_of, echo)
    _summary(service, steps, prompts, reminders, echo)


def _wait_until_idle(service: Service, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = service.status()
        if status["inbox_pending"] == 0 and status["outbox_pending"] == 0:
            return
        service.wake.set()
        time.sleep(0.05)


def _send_month(month: dict[str, Any], connector_url: str, echo: Callable[[str], None]) -> dict[int, int]:
    deliveries = [event for event in month["events"] for _ in range(2)]
    random.Random(2026).shuffle(deliveries)  # duplicated and out of order, as real senders do
    statuses: dict[int, int] = {}
    platform = month["platform"]
    with requests.Session() as http:
        for event in deliveries:
            body = json.dumps(event).encode()
            response = http.post(
                f"{connector_url}/webhooks/{month['tenant']}/{platform}",
                data=body,
                headers=signed_headers(SANDBOX_SECRET, event["id"], body),
                timeout=10,
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    echo(
        f"Sent {len(deliveries)} signed {platform} webhooks ({len(month['events'])} events, each twice, shuffled): "
        + ", ".join(f"{count} answered {code}" for code, count in sorted(statuses.items()))
    )
    return statuses


def _summary(service: Service, steps: int, prompts: int, reminders: int, echo: Callable[[str], None]) -> None:
    withdrawn = service.db.scalar("SELECT COUNT(*) FROM obligations WHERE status = 'withdrawn'")
    met = service.db.scalar("SELECT COUNT(*) FROM obligations WHERE status = 'met'")
    status = service.status()
    echo(
        f"\n{steps} open Mosaic step(s) and {prompts} open Childview prompt(s); {met} completed (met by a"
        f" session), {withdrawn} cancelled (transfer, de-allocation, closure); {reminders} reminder(s) queued by"
        f" the daily tick; outbox pending {status['outbox_pending']}, dead letters {status['dead_letters']}."
    )


def _instructions(
    workdir: Path, serve_path: Path, mosaic_port: int, childview_port: int, echo: Callable[[str], None]
) -> None:
    echo(
        "To run the service yourself against fresh simulators on the same ports (serve.toml is this config\n"
        "with an empty database of its own; delete it first for every new pair of simulators):\n"
        f"  rm -f {workdir / 'serve.db'}*\n"
        f"  connector mosaic-simulator --port {mosaic_port} &\n"
        f"  connector childview-simulator --port {childview_port} &\n"
        f"  connector serve --config {serve_path}\n"
        "and to see what the simulated platforms hold:\n"
        f"  curl -H 'Authorization: Bearer {SANDBOX_TOKEN}' http://127.0.0.1:{mosaic_port}/api/workflow-steps\n"
        f"  curl -H 'X-Api-Key: {SANDBOX_KEY}' http://127.0.0.1:{childview_port}/api/prompts"
    )
