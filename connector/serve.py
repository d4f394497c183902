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

from waitress.server import create_server

from connector.app import create_app
from connector.config import Config
from connector.service import Service

log = logging.getLogger(__name__)


def run_server(config: Config, host: str, port: int) -> None:
    service = Service(config)
    app = create_app(service)
    server = create_server(app, host=host, port=port, threads=config.service.threads, ident="connector")

    def stop(signum: int, frame: FrameType | None) -> None:
        # Raised inside waitress's loop, which then shuts its task threads down.
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if config.service.background:
        service.start_background()
    log.info("listening on http://%s:%s", host, port)
    try:
        server.run()
    finally:
        log.info("stopping")
        server.close()
        service.close()
        log.info("stopped")
    sys.exit(0)
