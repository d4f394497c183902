"""A second background worker on the same SQLite database is refused with a clear error, never left to race."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from connector.store.worker_lock import WorkerLock, WorkerLockError


def test_a_second_lock_on_the_same_database_is_refused_naming_the_holder(tmp_path: Path) -> None:
    first = WorkerLock(tmp_path / "connector.db")
    first.acquire()
    try:
        with pytest.raises(WorkerLockError, match=r"already run by process \d+.*one `connector serve`"):
            WorkerLock(tmp_path / "connector.db").acquire()
        WorkerLock(tmp_path / "other.db").acquire()  # another database is another worker's
    finally:
        first.release()
    again = WorkerLock(tmp_path / "connector.db")
    again.acquire()  # released: free again
    again.release()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    database = tmp_path / "connector.db"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from connector.store.worker_lock import WorkerLock
                lock = WorkerLock({str(database)!r})
                lock.acquire()
                print("held", flush=True)
                time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(WorkerLockError):
            WorkerLock(database).acquire()
    finally:
        holder.kill()
        holder.wait(10)
    lock = WorkerLock(database)
    lock.acquire()  # the operating system dropped the dead process's lock
    lock.release()


def test_connector_work_beside_a_running_worker_says_so_in_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from tests.support.harness import write_config_file

    from connector.cli import main
    from connector.config import load_config_file

    config_path = write_config_file(tmp_path, "http://127.0.0.1:9/api")
    running = WorkerLock(load_config_file(config_path, environ={}).database)
    running.acquire()
    try:
        result = CliRunner().invoke(main, ["work", "--config", str(config_path)])
    finally:
        running.release()
    assert result.exit_code == 2
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("connector: error: the background work on ") and "already run by process" in last


def test_connector_serve_beside_a_running_worker_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    from click.testing import CliRunner
    from tests.support.harness import write_config_file

    from connector.cli import main
    from connector.config import load_config_file
    from connector.web import serve

    # Its background work would run in a child process; the refusal still comes from serve, at once.
    monkeypatch.setattr(serve, "LOCK_WAIT_SECONDS", 0.2)
    config_path = write_config_file(tmp_path, "http://127.0.0.1:9/api")
    assert load_config_file(config_path, environ={}).service.worker_process
    running = WorkerLock(load_config_file(config_path, environ={}).database)
    running.acquire()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    try:
        result = CliRunner().invoke(main, ["serve", "--config", str(config_path), "--port", str(port)])
    finally:
        running.release()
    assert result.exit_code == 2
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("connector: error: the background work on ") and "already run by process" in last
