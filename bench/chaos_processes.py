"""The processes of `bench/chaos.py`: `connector serve` instances that are SIGKILLed and restarted, on one database.

On SQLite only the first instance runs the background work (a second is refused: README "Installing for real");
with a `postgresql://` URL every instance runs it.
"""

from __future__ import annotations

import http.client
import random
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from bench.webhook_intake import free_port, spawn, wait_ready

from connector.sandbox.run import STEP_TYPES

SECRET = "whsec_Y2hhb3Mtc2VjcmV0LWNoYW9zLXNlY3JldC1jaGFvcw=="
TOKEN = "chaos-token"


class Connectors:
    """`connector serve` processes on one database, each on its own port, killed and restarted at will."""

    def __init__(
        self, work: Path, name: str, database: str, platforms: dict[str, int], instances: int, log: Any
    ) -> None:
        self.log = log
        self.ports = [free_port() for _ in range(instances)]
        shared = database.startswith("postgresql://")
        self.configs = []
        for i in range(instances):
            path = work / f"{name}-{i}.toml"
            path.write_text(config_text(database, platforms, background=shared or i == 0))
            self.configs.append(path)
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * instances
        self.lock = threading.Lock()

    def start(self, i: int) -> None:
        command = ["-m", "connector.cli", "--log-level", "ERROR", "serve", "--config", str(self.configs[i])]
        self.procs[i] = spawn([*command, "--port", str(self.ports[i])], stderr=self.log)

    def start_all(self) -> None:
        for i in range(len(self.ports)):
            self.start(i)
        for port in self.ports:
            wait_ready(port, "/readyz", timeout=60)

    def kill(self, i: int) -> None:
        with self.lock:
            proc = self.procs[i]
            if proc is not None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
            self.start(i)

    def stop_all(self) -> None:
        with self.lock:
            for proc in self.procs:
                if proc is not None and proc.poll() is None:
                    proc.terminate()
            for proc in self.procs:
                if proc is not None:
                    try:
                        proc.wait(20)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()

    def restart_all(self) -> None:
        """A clean restart: each background instance runs the day's tick as it starts."""
        self.stop_all()
        self.start_all()
        for port in self.background_ports():
            deadline = time.time() + 60
            while tick_count(port) < 1 and time.time() < deadline:
                time.sleep(0.1)

    def background_ports(self) -> list[int]:
        return [
            p for p, c in zip(self.ports, self.configs, strict=True) if "background = true" in c.read_text()
        ]


def config_text(database: str, platforms: dict[str, int], background: bool) -> str:
    """One tenant on each platform given (name -> its simulator's port)."""
    step_types = "\n".join(f"{k} = {v}" for k, v in STEP_TYPES.items())
    text = f"""
[storage]
database = "{database}"
[service]
threads = 8
poll_interval_seconds = 0.05
background = {"true" if background else "false"}
[delivery]
max_attempts = 30
backoff_seconds = 0.2
backoff_max_seconds = 1
[[tenants]]
id = "lincolnshire"
rule_pack = "lincolnshire"
reference_prefix = "linc"
"""
    if "mosaic" in platforms:
        text += f"""
[tenants.mosaic]
base_url = "http://127.0.0.1:{platforms["mosaic"]}/api"
api_token = "{TOKEN}"
webhook_secrets = ["{SECRET}"]
timeout_seconds = 1
max_attempts = 2
max_retry_wait_seconds = 1
[tenants.mosaic.step_types]
{step_types}
[tenants.mosaic.form_types]
case_supervision = 7701
"""
    if "childview" in platforms:
        text += f"""
[tenants.childview]
base_url = "http://127.0.0.1:{platforms["childview"]}/api"
api_key = "{TOKEN}"
webhook_secrets = ["{SECRET}"]
timeout_seconds = 1
max_attempts = 2
max_retry_wait_seconds = 1
"""
    return text


def tick_count(port: int) -> float:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("connector_tick_seconds_count"):
            return float(line.split()[-1])
    return 0


class Killer(threading.Thread):
    """SIGKILLs a random instance every `every` seconds or so (seeded), restarting it at once."""

    def __init__(self, connectors: Connectors, seed: int, every: float) -> None:
        super().__init__(daemon=True)
        self.connectors, self.every = connectors, every
        self.rng = random.Random(seed)
        self.stopping = threading.Event()
        self.kills = 0

    def run(self) -> None:
        while not self.stopping.wait(self.rng.uniform(0.3, 1.7) * self.every):
            i = self.rng.randrange(len(self.connectors.ports))
            self.connectors.kill(i)
            self.kills += 1
            wait_ready(self.connectors.ports[i], "/readyz", timeout=60)
