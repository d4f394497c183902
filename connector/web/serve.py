"""`connector serve`: the app on waitress, the background work beside it, and a clean stop on SIGTERM.

waitress is a production WSGI server in pure Python: it runs on any machine a council has (no compiler, no
Unix-only pre-fork model), serves with a thread pool in one process, so the processing and delivery threads
share the process and wake the moment an event is accepted, and it stops cleanly when asked.
"""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

from flask import Flask
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from connector.config import Config, ServiceConfig
from connector.service import Service
from connector.web.app import create_app
from webhooks.edge import MAX_BODY_BYTES

log = logging.getLogger(__name__)


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


def run_server(config: Config, host: str, port: int) -> None:
    for warning in config.warnings:
        log.warning("%s", warning)
    service = Service(config)
    app = create_app(service)
    server = build_server(app, config.service, host, port)

    def stop(signum: int, frame: FrameType | None) -> None:
        # Raised inside waitress's loop, which then shuts its task threads down.
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if config.service.background:
        try:
            service.start_background()
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
        service.close()
        log.info("stopped")
    sys.exit(0)
