"""`connector serve`: the app on waitress, the background work beside it, and a clean stop on SIGTERM.

waitress is a production WSGI server in pure Python: it runs on any machine a council has (no compiler, no
Unix-only pre-fork model), serves with a thread pool in one process, and stops cleanly when asked. The
background work runs in a child `connector work` process (`connector/worker_process.py`), woken the moment an
event is accepted; with `service.worker_process = false`, as threads of this process.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from types import FrameType

from flask import Flask
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from connector.config import Config, ServiceConfig
from connector.service import Service
from connector.store.worker_lock import WorkerLock, WorkerLockError
from connector.web.app import create_app
from connector.worker_process import WorkerProcess, metrics_reports, work_command
from webhooks.edge import MAX_BODY_BYTES

log = logging.getLogger(__name__)
# How long a start waits for a killed predecessor's worker process to let go of the worker lock.
LOCK_WAIT_SECONDS = 3.0


def build_server(
    app: Flask, settings: ServiceConfig, host: str, port: int
) -> BaseWSGIServer | MultiSocketServer:
    """waitress with the connector's limits, so a sender cannot hold its connections or fill its disk."""
    # waitress warns "Task queue depth is N" for every request that finds all threads busy: under any burst that
    # is a log line per webhook, costing intake about a tenth of its CPU and saying nothing a sender's retry or
    # the request metrics do not; its errors still show.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    return create_server(
        app,
        host=host,
        port=port,
        threads=settings.threads,
        ident="connector",
        # waitress would otherwise buffer (and spool to disk) up to 1 GiB of an unsigned body before the app
        # sees it; at the connector's own limit it answers 413 as soon as the body passes 64 KiB.
        max_request_body_size=MAX_BODY_BYTES,
        connection_limit=settings.connection_limit,
        channel_timeout=settings.channel_timeout_seconds,
        # Idle connections are only closed when waitress looks for them, so look at least as often.
        cleanup_interval=min(30, settings.channel_timeout_seconds),
    )


def free_worker_lock(lock: WorkerLock) -> None:
    """Refuse here, in one line, as the threads would be refused, rather than start a child refused in a loop.
    A moment's wait first: the child of a server killed just before dies with it, but not at the same instant."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            lock.acquire()
        except WorkerLockError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)
        else:
            lock.release()
            return


def run_server(config: Config, host: str, port: int, config_path: str | None = None) -> None:
    """Serve until SIGTERM or SIGINT; the background work in a child process when `config_path` names the
    config it can be started with (and `service.worker_process`), else as threads of this process."""
    for warning in config.warnings:
        log.warning("%s", warning)
    service = Service(config)
    child: WorkerProcess | None = None
    if config.service.background and config.service.worker_process and config_path is not None:
        level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
        child = WorkerProcess(work_command(config_path, level), on_report=metrics_reports(service.metrics))
    app = create_app(service, wake=child)
    server = build_server(app, config.service, host, port)

    def stop(signum: int, frame: FrameType | None) -> None:
        # Raised inside waitress's loop, which then shuts its task threads down.
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if config.service.background:
        try:
            if child is None:
                service.start_background()
            else:
                free_worker_lock(service.worker_lock)
                child.start()
        except Exception:
            # Refused (another process runs this database's background work) or failed: nothing is served.
            server.close()
            service.close()
            raise
    log.info("listening on http://%s:%s", host, port)
    try:
        server.run()
    finally:
        log.info("stopping")
        server.close()
        if child is not None:
            child.stop()
        service.close()
        log.info("stopped")
    sys.exit(0)
