"""`connector sandbox`: the whole path on one machine, with nothing else installed.

Starts the simulated Mosaic shipped in `adapters.mosaic.simulator` and the connector itself on local ports,
sends a sample team's month of events as signed webhooks (every event twice, in a shuffled order), lets the
connector process and deliver them, then reads back from Mosaic the due supervisions it now holds, with why.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from adapters.mosaic.simulator import create_simulator_app
from connector.config import Config, load_config_file
from connector.service import Service
from connector.web.app import create_app
from webhooks.signature import secret_key, sign

SANDBOX_SECRET = "whsec_c2FuZGJveC1zZWNyZXQtbm90LWZvci1wcm9kdWN0aW9u"
SANDBOX_TOKEN = "sandbox-token"

CONFIG_TEMPLATE = """\
# Written by `connector sandbox`: a local config against the simulated Mosaic. Safe to read, edit and reuse.
[storage]
database = "{database}"

[service]
poll_interval_seconds = 0.2

[delivery]
max_attempts = 5
backoff_seconds = 0.5
backoff_max_seconds = 2

[[tenants]]
id = "lincolnshire"
rule_pack = "lincolnshire"
reference_prefix = "linc"

[tenants.mosaic]
base_url = "{base_url}"
api_token = "{token}"
webhook_secrets = ["{secret}"]
timeout_seconds = 5
max_attempts = 3
max_retry_wait_seconds = 1

[tenants.mosaic.step_types]
{step_types}

[tenants.mosaic.form_types]
case_supervision = 7701
personal_supervision = 7702
"""

STEP_TYPES = {
    "case_supervision": 9101,
    "personal_supervision": 9102,
    "group_supervision": 9103,
    "supervision_agreement": 9104,
    "practice_observation": 9105,
    "team_brief": 9106,
    "fsm_group_supervision": 9107,
    "supervision_record": 9108,
    "dip_sample": 9109,
    "agenda": 9110,
    "supervision_booking": 9111,
}


def sample_month() -> dict[str, Any]:
    text = resources.files("connector.sandbox").joinpath("data/lincolnshire_month.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


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


def run_sandbox(workdir: Path, mosaic_port: int, echo: Callable[[str], None]) -> None:
    # The servers' per-request lines would bury the table this command exists to show.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in [*workdir.glob("connector.db*"), *workdir.glob("serve.db*")]:
        stale.unlink()
    month = sample_month()
    as_of = date.fromisoformat(month["as_of"])

    with serving(create_simulator_app(SANDBOX_TOKEN), mosaic_port) as mosaic:
        base_url = f"http://127.0.0.1:{mosaic.server_port}/api"
        config_path = workdir / "sandbox.toml"
        # A second config with its own, empty database, for `connector serve` against a fresh simulator: the
        # sandbox's database holds step ids that a new (empty) simulator does not, so every write to them
        # would become a dead letter.
        serve_path = workdir / "serve.toml"
        for path, database in ((config_path, "connector.db"), (serve_path, "serve.db")):
            path.write_text(
                CONFIG_TEMPLATE.format(
                    database=database,
                    base_url=base_url,
                    token=SANDBOX_TOKEN,
                    secret=SANDBOX_SECRET,
                    step_types="\n".join(f"{k} = {v}" for k, v in STEP_TYPES.items()),
                ),
                encoding="utf-8",
            )
            # It holds the sandbox's token and secret inline: private, as a real config should be.
            path.chmod(0o600)
        config = load_config_file(config_path)
        service = Service(config, today=lambda: as_of)
        try:
            with serving(create_app(service)) as connector:
                echo(f"Simulated Mosaic on {base_url}; connector on http://127.0.0.1:{connector.server_port}")
                # Processing and delivery run while the month arrives, as under `connector serve`.
                service.start_background()
                sent = _send_month(month, f"http://127.0.0.1:{connector.server_port}", echo)
                _wait_until_idle(service)
                service.stop()
                counts = service.tick(as_of)
                service.drain()
            _report(service, config, base_url, month, sent, counts.reminders, as_of, echo)
            echo(f"\nConfig written to {config_path}; database at {config.database}.")
            port = mosaic.server_port
            echo(
                "To run the service yourself against a fresh simulated Mosaic on the same port (serve.toml is\n"
                "this config with an empty database of its own; delete it first for every new simulator):\n"
                f"  rm -f {workdir / 'serve.db'}*\n"
                f"  connector mosaic-simulator --port {port} &\n"
                f"  connector serve --config {serve_path}\n"
                "and to see what the simulated Mosaic holds:\n"
                f"  curl -H 'Authorization: Bearer {SANDBOX_TOKEN}' http://127.0.0.1:{port}/api/workflow-steps"
            )
        finally:
            service.close()


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
    with requests.Session() as http:
        for event in deliveries:
            body = json.dumps(event).encode()
            response = http.post(
                f"{connector_url}/webhooks/{month['tenant']}/mosaic",
                data=body,
                headers=signed_headers(SANDBOX_SECRET, event["id"], body),
                timeout=10,
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    echo(
        f"Sent {len(deliveries)} signed webhooks ({len(month['events'])} events, each twice, shuffled): "
        + ", ".join(f"{count} answered {code}" for code, count in sorted(statuses.items()))
    )
    return statuses


def _report(
    service: Service,
    config: Config,
    base_url: str,
    month: dict[str, Any],
    sent: dict[int, int],
    reminders: int,
    as_of: date,
    echo: Callable[[str], None],
) -> None:
    rows = service.db.query(
        "SELECT platform_id, kind, holder, counted_from_fact, counted_from_date, rules FROM obligations"
        " WHERE status = 'open' AND platform_id IS NOT NULL ORDER BY due_date, case_id"
    )
    withdrawn = service.db.scalar("SELECT COUNT(*) FROM obligations WHERE status = 'withdrawn'")
    met = service.db.scalar("SELECT COUNT(*) FROM obligations WHERE status = 'met'")
    token = config.tenants[month["tenant"]].platforms["mosaic"].api_token
    echo(f"\nDue supervisions Mosaic now holds for team {month['team_id']}, as of {as_of.isoformat()}:\n")
    header = f"{'STEP':>6}  {'KIND':<22} {'PERSON':<7} {'FOR':<5} {'TO':<5} {'DUE':<10}  {'RULES':<28} COUNTED FROM"
    echo(header)
    echo("-" * len(header))
    notes: list[str] = []
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {token}"
        for row in rows:
            step = http.get(f"{base_url}/workflow-steps/{row['platform_id']}", timeout=10).json()
            rules = ", ".join(r[0] for r in json.loads(row["rules"]))
            due = step["due_date"]
            late = " (overdue)" if date.fromisoformat(due) < as_of else ""
            echo(
                f"{step['workflow_step_id']:>6}  {row['kind']:<22} {step.get('subject_person_id') or '-'!s:<7}"
                f" {row['holder']:<5} {step['assignee_id']!s:<5} {due:<10}  {rules:<28} {row['counted_from_fact']} on"
                f" {row['counted_from_date']}{late}"
            )
            notes.append(f"  {step['workflow_step_id']}: {step['notes']}")
    echo("\nWhy, as each step's notes say in Mosaic:")
    for line in notes:
        echo(line)
    status = service.status()
    echo(
        f"\n{len(rows)} open step(s), {met} completed (met by a session), {withdrawn} cancelled"
        " (transfer, de-allocation, closure);"
        f" {reminders} reminder(s) queued by the daily tick; outbox pending {status['outbox_pending']},"
        f" dead letters {status['dead_letters']}."
    )
