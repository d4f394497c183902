"""`connector serve`'s background work in a child process: `connector work`, started with the server, woken by
each accepted webhook, started again whenever it ends, stopped with the server; what it counts for `/metrics`
(platform writes, the time-driven work's duration) it reports to the server, whose `/metrics` shows it.

Why a process and not threads: intake (waitress, HMAC, JSON, the commit) and the background work (the rules,
the ledger, delivery) are all Python, so as threads of one process they take turns on one GIL. Measured during
a 16-sender burst, the background threads held about 40% of it and intake's CPU per webhook went from 0.8 ms
(background off) to 1.3 ms. In a child process each has a core's worth of its own.

Nothing answered 202 depends on the child: every accepted event is committed before its answer, and the child
takes pending events from the inbox whenever it starts, so a child that dies (or is killed) loses nothing; the
next one processes what it left. The child's stdin is a pipe from this process: a byte wakes it at once (as the
in-process thread's event did), and end-of-file stops it. The pipe closes whenever this process ends, SIGKILL
included, so a child never outlives its server.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from connector.observability.metrics import Metrics

log = logging.getLogger(__name__)

# The wait before starting a child that ended, doubled on each quick end up to the most, so a child that cannot
# start (a lock held elsewhere, a database that is down) is tried again without a busy loop of starts.
FIRST_RESTART_SECONDS = 1.0
MOST_RESTART_SECONDS = 30.0
# A child that ran this long had started well: when it ends, the next one waits only the first delay.
STEADY_SECONDS = 60.0
# How long a child is given to finish its current step after its stdin closes, before SIGTERM, then SIGKILL.
STOP_SECONDS = 10.0


def work_command(config_path: str, log_level: str) -> list[str]:
    """The child's command line: this interpreter's `connector work`, following its parent through stdin."""
    return [
        sys.executable,
        "-m",
        "connector.cli",
        "--log-level",
        log_level,
        "work",
        "--config",
        str(Path(config_path).resolve()),
        "--follow-parent",
    ]


Report = list[Any]


class WorkerProcess:
    """The child and its keeper: `start()`, then `set()` after each accepted event, `stop()` at the end.
    With `on_report`, the child is given `--report-fd N`, and each line it writes there is handed to it."""

    def __init__(
        self,
        command: Sequence[str],
        on_report: Callable[[Report], None] | None = None,
        first_delay: float = FIRST_RESTART_SECONDS,
        most_delay: float = MOST_RESTART_SECONDS,
        steady: float = STEADY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.command = list(command)
        self.on_report = on_report
        self.first_delay = first_delay
        self.most_delay = most_delay
        self.steady = steady
        self.clock = clock
        self.restarts = 0
        # Held while the child (and so its pipe's descriptor) is replaced: a wake-up must never write to a
        # descriptor number that has been closed and given to another file meanwhile.
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._started_at = 0.0
        self._stopping = threading.Event()
        self._keeper: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return None if proc is None else proc.pid

    def start(self) -> None:
        with self._lock:
            self._spawn()
        self._keeper = threading.Thread(target=self._keep, name="connector-worker-keeper", daemon=True)
        self._keeper.start()

    def set(self) -> None:
        """Wake the child (called for every accepted event). A full pipe already holds a wake-up it has not
        read, and a child between lives reads the inbox when it starts, so a byte that cannot be written is
        not needed."""
        with self._lock:
            proc = self._proc
            if proc is None or proc.stdin is None or proc.stdin.closed:
                return
            # BlockingIOError (the pipe is full), BrokenPipeError (the child has ended).
            with contextlib.suppress(OSError):
                os.write(proc.stdin.fileno(), b"w")

    def stop(self, timeout: float = STOP_SECONDS) -> int | None:
        """Close the child's stdin (it finishes its current step and exits), wait for it, and end it if it does
        not; returns its exit status (None: it was never started)."""
        self._stopping.set()
        with self._lock:
            proc = self._proc
            if proc is None:
                return None
            _close(proc)
        try:
            status = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning(
                "the background work process %d did not stop in %g s; terminating it", proc.pid, timeout
            )
            proc.terminate()
            try:
                status = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                status = proc.wait()
        if self._keeper is not None:
            self._keeper.join(timeout)
        return status

    def _spawn(self) -> None:
        command: list[str] = self.command
        passed: tuple[int, ...] = ()
        if self.on_report is not None:
            reports, writer = os.pipe()
            command, passed = [*command, "--report-fd", str(writer)], (writer,)
        try:
            # Its own session: a Ctrl-C at the terminal stops the server, which then stops the child in order.
            proc = subprocess.Popen(command, stdin=subprocess.PIPE, start_new_session=True, pass_fds=passed)
        except BaseException:
            if passed:
                os.close(reports)
            raise
        finally:
            for fd in passed:
                os.close(fd)
        assert proc.stdin is not None
        os.set_blocking(proc.stdin.fileno(), False)
        self._proc, self._started_at = proc, self.clock()
        if self.on_report is not None:
            threading.Thread(
                target=_read_reports,
                args=(reports, self.on_report),
                name="connector-worker-reports",
                daemon=True,
            ).start()

    def _keep(self) -> None:
        delay = self.first_delay
        while True:
            proc = self._proc
            assert proc is not None
            status = proc.wait()
            if self.clock() - self._started_at >= self.steady:
                delay = self.first_delay
            if self._stopping.wait(delay):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                _close(proc)
                self._spawn()
                self.restarts += 1
            log.warning(
                "the background work process %d ended (exit status %s); started it again as process %d",
                proc.pid,
                status,
                self.pid,
            )
            delay = min(delay * 2, self.most_delay)


def _read_reports(fd: int, on_report: Callable[[Report], None]) -> None:
    """Until the child ends: each line it reports, handed on; one that cannot be read is logged and skipped."""
    with os.fdopen(fd, "rb") as lines:
        for line in lines:
            try:
                report = json.loads(line)
                if not isinstance(report, list) or not report:
                    raise ValueError("not a report")
                on_report(report)
            except (ValueError, TypeError, IndexError, KeyError):
                log.warning("the background work process reported a line that is not a report; skipped")


class ReportsToParent:
    """In the child: what `/metrics` counts, written to the server as JSON lines (see `metrics_reports`)."""

    def __init__(self, fd: int) -> None:
        self._file = os.fdopen(fd, "w", encoding="utf-8", buffering=1)
        self._lock = threading.Lock()

    def write(self, platform: str, outcome: str, seconds: float) -> None:
        self._send(["write", platform, outcome, seconds])

    def relay(self, report: Report) -> None:
        """A report of this process's own child (its delivery process), passed on to the server as it is."""
        self._send(report)

    def tick(self, seconds: float) -> None:
        self._send(["tick", seconds])

    def _send(self, report: Report) -> None:
        with (
            self._lock,
            contextlib.suppress(OSError, ValueError),
        ):  # the parent has gone: so will this process
            self._file.write(json.dumps(report) + "\n")


def metrics_reports(metrics: Metrics) -> Callable[[Report], None]:
    """In the server: a child's reports counted in the server's own metrics, as if it had done the work."""

    def count(report: Report) -> None:
        if report[0] == "write":
            metrics.write(str(report[1]), str(report[2]), float(report[3]))
        elif report[0] == "tick":
            metrics.tick_seconds.observe(float(report[1]))
        else:
            raise ValueError("an unknown report")

    return count


def _close(proc: subprocess.Popen[bytes]) -> None:
    if proc.stdin is not None and not proc.stdin.closed:
        with contextlib.suppress(OSError):
            proc.stdin.close()


def die_with_parent(fd: int) -> None:
    """In the child, on Linux: the kernel SIGKILLs it the moment its parent ends, so a server killed and started
    again at once finds the worker lock free (waiting for end-of-file, the old child would still hold it while
    it finished its step). Killing it is safe: its transactions roll back, and a write it was sending is looked up
    by its reference before it is created again, as after any crash.

    A parent that ended before this was asked (killed while the child's interpreter started) is never signalled
    for: its pipe (`fd`, the child's stdin) has no writer left, so the child ends here, before it opens the
    database or takes the worker lock, which it would otherwise hold through a first step nobody waits for."""
    killed_with_parent()
    if parent_gone(fd):
        raise SystemExit("connector work: the process that started it has ended; not starting")


def killed_with_parent() -> None:
    """Ask the kernel (Linux only) to SIGKILL this process the moment its parent ends."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def parent_gone(fd: int) -> bool:
    """Whether the pipe from the parent has lost its writer (hung up), without reading the wake-ups in it."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP)
    return any(events & (select.POLLHUP | select.POLLERR) for _, events in poller.poll(0))


def follow_parent(fd: int, wake: threading.Event, stopping: threading.Event) -> threading.Thread:
    """In the child: each byte on `fd` (its stdin) wakes the processing; end-of-file (the parent closed the
    pipe or ended) stops the work."""

    def read() -> None:
        while True:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if not data:
                stopping.set()
                wake.set()
                return
            wake.set()

    thread = threading.Thread(target=read, name="connector-parent", daemon=True)
    thread.start()
    return thread
