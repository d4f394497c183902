"""The real `connector serve` process: killed between the 202 and processing, it processes the event on restart;
SIGTERM stops it cleanly. Waits on the process's own /status, bounded, as an operator would."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from pytest_httpserver import HTTPServer

from tests.support.fake_mosaic import TOKEN, FakeMosaic
from tests.support.harness import SECRET, STEP_TYPES, database_for, event, signed

# Each path runs on SQLite and on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("store_engine")

ALLOCATED = event(
    "evt_restart",
    "case.allocated",
    "2026-11-02T09:30:00Z",
    person_id=100777,
    worker_id=5521,
    team_id=310,
    relationship="ALLWKR",
    start_date="2026-11-02",
)


def post_allocated(port: int) -> int:
    """Send the signed allocation to the serve on `port`, as Mosaic would; its answer's status."""
    body, headers = signed(ALLOCATED, timestamp=int(time.time()))
    return requests.post(
        f"http://127.0.0.1:{port}/webhooks/lincolnshire/mosaic", data=body, headers=headers
    ).status_code


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(path: Path, base_url: str, background: bool, service: str = "") -> None:
    step_types = "\n".join(f"{k} = {v}" for k, v in STEP_TYPES.items())
    path.write_text(
        f"""
[storage]
database = "{database_for(path.parent)}"
[service]
background = {str(background).lower()}
poll_interval_seconds = 0.05
{service}
[[tenants]]
id = "lincolnshire"
rule_pack = "lincolnshire"
reference_prefix = "linc"
[tenants.mosaic]
base_url = "{base_url}"
api_token_env = "TEST_MOSAIC_TOKEN"
webhook_secrets = ["{SECRET}"]
[tenants.mosaic.step_types]
{step_types}
""",
        encoding="utf-8",
    )


@contextmanager
def serve(config: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = dict(os.environ, TEST_MOSAIC_TOKEN=TOKEN)
    proc = subprocess.Popen(
        [sys.executable, "-m", "connector.cli", "serve", "--config", str(config), "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def wait_for(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():  # type: ignore[operator]
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_an_event_answered_202_survives_a_kill_and_is_processed_on_restart(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    mosaic = FakeMosaic(httpserver).install()
    config = tmp_path / "connector.toml"
    port = free_port()

    write_config(config, mosaic.base_url, background=False)
    with serve(config, port) as proc:
        assert post_allocated(port) == 202
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert mosaic.steps == {}

    write_config(config, mosaic.base_url, background=True)
    with serve(config, port) as proc:
        status_url = f"http://127.0.0.1:{port}/status"
        wait_for(lambda: requests.get(status_url, timeout=1).json()["inbox_pending"] == 0)
        wait_for(lambda: requests.get(status_url, timeout=1).json()["outbox_pending"] == 0)
        [step] = mosaic.steps.values()
        assert step["external_reference"] == "linc:case_supervision:100777:5521:1"
        assert step["due_date"] == "2026-11-30"
        # A redelivery after the restart is a duplicate.
        assert post_allocated(port) == 200

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        assert "stopped" in stderr
    assert len(mosaic.steps) == 1
    assert json.loads(json.dumps(mosaic.calls))  # calls were counted, nothing else was asked of Mosaic
    assert mosaic.calls["POST /workflow-steps"] == 1


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        # A thread may end between the listing and the read (serve's threads come and go).
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def ended(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    # Gone, or a zombie waiting for its parent's wait.
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_the_background_work_process_is_started_again_when_killed_and_stops_with_serve(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    mosaic = FakeMosaic(httpserver).install()
    config = tmp_path / "connector.toml"
    port = free_port()
    write_config(config, mosaic.base_url, background=True)
    with serve(config, port) as proc:
        wait_for(lambda: len(children_of(proc.pid)) == 1)
        [first] = children_of(proc.pid)
        os.kill(first, signal.SIGKILL)
        # Answered 202 while no background work runs: the event waits in the inbox for the next child.
        assert post_allocated(port) == 202
        wait_for(lambda: [c for c in children_of(proc.pid) if c != first] != [])
        [second] = [c for c in children_of(proc.pid) if c != first]
        wait_for(lambda: len(mosaic.steps) == 1)
        [step] = mosaic.steps.values()
        assert step["external_reference"] == "linc:case_supervision:100777:5521:1"
        # The child's writes are counted in serve's /metrics, as the threads' were.
        confirmed = 'connector_platform_writes_total{outcome="confirmed",platform="mosaic"} 1.0'
        wait_for(lambda: confirmed in requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        stderr = proc.stderr.read().decode() if proc.stderr else ""
    assert f"the background work process {first} ended" in stderr
    assert ended(second)
    assert mosaic.calls["POST /workflow-steps"] == 1


def test_the_background_work_process_ends_when_serve_is_killed(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    mosaic = FakeMosaic(httpserver).install()
    config = tmp_path / "connector.toml"
    port = free_port()
    write_config(config, mosaic.base_url, background=True)
    with serve(config, port) as proc:
        wait_for(lambda: len(children_of(proc.pid)) == 1)
        [child] = children_of(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        # The kernel ends it with serve (and its stdin, a pipe from serve, would stop it anyway).
        wait_for(lambda: ended(child))
    # Started again at once, as a supervisor would: the worker lock is free, the work has a new process.
    with serve(config, port) as proc:
        wait_for(lambda: len(children_of(proc.pid)) == 1)
        assert children_of(proc.pid) != [child]


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_text().split("\0")


def test_delivery_runs_in_a_process_of_its_own_started_again_when_killed(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    mosaic = FakeMosaic(httpserver).install()
    config = tmp_path / "connector.toml"
    port = free_port()
    write_config(config, mosaic.base_url, background=True)
    with serve(config, port) as proc:
        wait_for(lambda: len(children_of(proc.pid)) == 1 and len(children_of(children_of(proc.pid)[0])) == 1)
        [work] = children_of(proc.pid)
        [delivery] = children_of(work)
        assert "--deliver-only" in cmdline(delivery) and "--deliver-only" not in cmdline(work)
        os.kill(delivery, signal.SIGKILL)
        assert post_allocated(port) == 202
        # Processed meanwhile; written once the work process has started its delivery process again.
        wait_for(lambda: len(mosaic.steps) == 1)
        [again] = children_of(work)
        assert again != delivery
        # Its writes reach serve's /metrics through the work process.
        confirmed = 'connector_platform_writes_total{outcome="confirmed",platform="mosaic"} 1.0'
        wait_for(lambda: confirmed in requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    assert ended(work) and ended(again)
    assert mosaic.calls["POST /workflow-steps"] == 1


def test_with_delivery_process_false_the_work_process_delivers_itself(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    mosaic = FakeMosaic(httpserver).install()
    config = tmp_path / "connector.toml"
    port = free_port()
    write_config(config, mosaic.base_url, background=True, service="delivery_process = false")
    with serve(config, port) as proc:
        wait_for(lambda: len(children_of(proc.pid)) == 1)
        [work] = children_of(proc.pid)
        assert post_allocated(port) == 202
        wait_for(lambda: len(mosaic.steps) == 1)
        assert children_of(work) == []
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0


def test_a_work_process_whose_serve_was_killed_before_it_could_follow_it_never_takes_the_worker_lock(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    from connector.store.worker_lock import WorkerLock
    from connector.worker_process import work_command

    database = database_for(tmp_path)
    if not isinstance(database, Path):
        pytest.skip("PostgreSQL shares the background work through leases: there is no worker lock")
    config = tmp_path / "connector.toml"
    write_config(config, FakeMosaic(httpserver).install().base_url, background=True)
    # serve's part, SIGKILLed the moment its child is spawned: before the child has asked the kernel to end it
    # with its parent, so only the child itself can see that nobody follows it any more.
    starter = (
        "import os, signal, subprocess, sys\n"
        "child = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, start_new_session=True)\n"
        "print(child.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    killed = subprocess.run(
        [sys.executable, "-c", starter, *work_command(str(config), "INFO")],
        env=dict(os.environ, TEST_MOSAIC_TOKEN=TOKEN),
        stdout=subprocess.PIPE,
        timeout=30,
    )
    assert killed.returncode == -signal.SIGKILL
    orphan = int(killed.stdout)
    wait_for(lambda: ended(orphan))
    # It ended without taking the lock (a serve started now would not wait for it), and the lock is free.
    lock = WorkerLock(database)
    assert not lock.path.exists()
    lock.acquire()
    lock.release()
