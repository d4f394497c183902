"""The keeper of `connector serve`'s background work process, with a stand-in child: woken through its stdin,
started again when it dies, stopped by closing its stdin (or ended when it does not stop)."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from connector.observability.metrics import Metrics
from connector.store.database import Database
from connector.worker_process import (
    ReportsToParent,
    WorkerProcess,
    follow_parent,
    metrics_reports,
    work_command,
)

# A stand-in for `connector work --follow-parent`: notes each wake-up and its end in a file named by argv[1].
CHILD = """
import os, sys
out = open(sys.argv[1], "a", buffering=1)
out.write(f"started {os.getpid()}\\n")
while True:
    data = os.read(0, 4096)
    if not data:
        out.write("stopped\\n")
        break
    out.write(f"woken {len(data)}\\n")
"""
# One that pays its stdin no attention, as a child stuck in a long step would not.
DEAF_CHILD = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(60)\n"


def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has ended; only its parent's wait is missing.
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_a_wake_up_reaches_the_child_and_closing_its_stdin_stops_it(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    child = WorkerProcess([sys.executable, "-c", CHILD, str(notes)])
    child.start()
    eventually(lambda: lines(notes)[:1] == [f"started {child.pid}"])
    child.set()
    eventually(lambda: any(line.startswith("woken") for line in lines(notes)))
    assert child.stop() == 0
    assert lines(notes)[-1] == "stopped"
    assert child.restarts == 0
    child.set()  # after the end: nothing to wake, and no error


def test_a_child_that_dies_is_started_again_and_still_woken(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    child = WorkerProcess([sys.executable, "-c", CHILD, str(notes)], first_delay=0.01)
    child.start()
    try:
        eventually(lambda: len(lines(notes)) == 1)
        first = child.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        eventually(lambda: child.restarts == 1 and child.pid != first)
        eventually(lambda: lines(notes)[-1] == f"started {child.pid}")
        child.set()
        eventually(lambda: lines(notes)[-1].startswith("woken"))
    finally:
        assert child.stop() == 0
    assert not alive(first)
    assert lines(notes)[-1] == "stopped"


def test_restarts_back_off_while_the_child_keeps_failing_and_stop_ends_the_wait(tmp_path: Path) -> None:
    now = [0.0]
    child = WorkerProcess(
        [sys.executable, "-c", "raise SystemExit(2)"], first_delay=0.01, most_delay=0.04, clock=lambda: now[0]
    )
    child.start()
    eventually(lambda: child.restarts >= 4)
    # The waits went 0.01, 0.02, 0.04, 0.04...: a child that cannot start is no busy loop of starts.
    assert child.stop() == 2
    restarts = child.restarts
    time.sleep(0.1)
    assert child.restarts == restarts


def test_a_child_that_does_not_stop_is_ended(tmp_path: Path) -> None:
    child = WorkerProcess([sys.executable, "-c", DEAF_CHILD])
    child.start()
    pid = child.pid
    assert pid is not None
    started = time.monotonic()
    assert child.stop(timeout=0.5) == -signal.SIGKILL
    assert time.monotonic() - started < 5
    assert not alive(pid)


def test_the_child_follows_its_parent_through_stdin() -> None:
    read_end, write_end = os.pipe()
    wake, stopping = threading.Event(), threading.Event()
    reader = follow_parent(read_end, wake, stopping)
    try:
        os.write(write_end, b"w")
        assert wake.wait(5)
        assert not stopping.is_set()
        wake.clear()
    finally:
        os.close(write_end)
    reader.join(5)
    assert stopping.is_set() and wake.is_set()
    os.close(read_end)


def test_the_child_is_this_interpreters_connector_work_on_the_same_config(tmp_path: Path) -> None:
    command = work_command("connector.toml", "WARNING")
    assert command[:3] == [sys.executable, "-m", "connector.cli"]
    assert command[3:] == [
        "--log-level",
        "WARNING",
        "work",
        "--config",
        str(Path("connector.toml").resolve()),
        "--follow-parent",
    ]


# A stand-in that reports one write, one line that is no report, and one tick to the descriptor it is given.
REPORTING_CHILD = """
import os, sys
fd = int(sys.argv[sys.argv.index("--report-fd") + 1])
os.write(fd, b'["write", "mosaic", "confirmed", 0.25]\\n{"not": "a report"}\\n["tick", 1.5]\\n')
os.read(0, 1)
"""


def test_the_childs_reports_are_handed_to_the_server_and_a_bad_line_is_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    got: list[list[Any]] = []
    child = WorkerProcess([sys.executable, "-c", REPORTING_CHILD], on_report=got.append)
    with caplog.at_level(logging.WARNING, logger="connector.worker_process"):
        child.start()
        try:
            eventually(lambda: len(got) == 2)
        finally:
            child.stop()
    assert got == [["write", "mosaic", "confirmed", 0.25], ["tick", 1.5]]
    assert "not a report; skipped" in caplog.text


def test_reports_count_in_the_servers_metrics_as_if_it_had_done_the_work(tmp_path: Path) -> None:
    db = Database(tmp_path / "connector.db")
    db.migrate()
    metrics = Metrics(db, lambda: date(2026, 12, 1), {"lincolnshire": ("mosaic",)})
    read_end, write_end = os.pipe()
    reports = ReportsToParent(write_end)
    reports.write("mosaic", "confirmed", 0.25)
    reports.tick(1.5)
    count = metrics_reports(metrics)
    with os.fdopen(read_end, "rb") as lines:
        for _ in range(2):
            count(json.loads(lines.readline()))
    registry = metrics.registry
    labels = {"platform": "mosaic", "outcome": "confirmed"}
    assert registry.get_sample_value("connector_platform_writes_total", labels) == 1
    assert registry.get_sample_value("connector_platform_write_seconds_sum", {"platform": "mosaic"}) == 0.25
    assert registry.get_sample_value("connector_tick_seconds_sum") == 1.5
    with pytest.raises(ValueError):
        count(["surprise"])
    db.close()
