"""waitress as `connector serve` runs it: a real server on a free port, in a thread."""

from __future__ import annotations

import logging
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from tests.support.harness import event, make_config, signed
from waitress import wasyncore
from waitress.server import BaseWSGIServer

from connector.service import Service
from connector.web import serve
from connector.web.app import create_app
from connector.web.serve import build_server


@contextmanager
def running(tmp_path: Path, **service: int) -> Iterator[tuple[int, Service, BaseWSGIServer]]:
    config = make_config(tmp_path, "http://127.0.0.1:9/api")
    config = replace(config, service=replace(config.service, **service))
    connector = Service(config)
    server = build_server(create_app(connector), config.service, "127.0.0.1", 0)
    assert isinstance(server, BaseWSGIServer)
    stop = threading.Event()

    def loop() -> None:
        # server.run() has no stop but a signal; one turn at a time lets the test end it cleanly.
        while not stop.is_set():
            wasyncore.loop(timeout=0.05, map=server._map, count=1)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield server.effective_port, connector, server
    finally:
        stop.set()
        thread.join(5)
        server.task_dispatcher.shutdown()
        wasyncore.close_all(server._map)
        connector.close()


def answer_to(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_a_chunked_body_over_64_kib_is_refused_before_it_ends(tmp_path: Path) -> None:
    with running(tmp_path) as (port, connector, _), socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(3)
        sock.sendall(
            b"POST /webhooks/lincolnshire/mosaic HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"x" * 8192
        started = time.monotonic()
        # Up to 128 KiB and no final chunk: waitress must answer from the limit, not wait for the rest. Stop
        # sending once it has answered, so that its close does not reset the connection under the answer.
        for _ in range(16):
            if select.select([sock], [], [], 0.05)[0]:
                break
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                break
        answer = answer_to(sock)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
        assert time.monotonic() - started < 2
        assert connector.db.scalar("SELECT COUNT(*) FROM inbox") == 0


def test_idle_connections_are_closed_so_healthz_still_answers(tmp_path: Path) -> None:
    limit = 20
    with running(tmp_path, connection_limit=limit, channel_timeout_seconds=1) as (port, _, _):
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(limit + 20)]
        try:
            started = time.monotonic()
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.settimeout(10)
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                assert answer_to(sock).startswith(b"HTTP/1.1 200")
            assert time.monotonic() - started < 10
            # The first idle ones were closed by the server, not left to hold a connection slot.
            idle[0].settimeout(1)
            assert idle[0].recv(1) == b""
        finally:
            for sock in idle:
                sock.close()


def test_serve_logs_the_configs_warnings_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(tmp_path, "http://127.0.0.1:9/api")
    config = replace(
        config, service=replace(config.service, background=False), warnings=("readable by others",)
    )

    class Stopped:
        def run(self) -> None:
            raise SystemExit(0)

        def close(self) -> None:
            pass

    monkeypatch.setattr(serve, "build_server", lambda *args: Stopped())
    with caplog.at_level(logging.WARNING, logger="connector.web.serve"), pytest.raises(SystemExit):
        serve.run_server(config, "127.0.0.1", 0)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == ["readable by others"]


def test_requests_queued_behind_busy_threads_are_not_logged_one_by_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    documents = [
        event(
            f"evt_q{n}",
            "case.allocated",
            "2026-11-02T09:30:00Z",
            person_id=100_234 + n,
            worker_id=5521,
            team_id=310,
            relationship="ALLWKR",
            start_date="2026-11-02",
        )
        for n in range(3)
    ]
    with caplog.at_level(logging.INFO), running(tmp_path, threads=1) as (port, connector, server):
        sockets = [socket.create_connection(("127.0.0.1", port)) for _ in documents]
        try:
            # The one thread waits for the write lock with the first webhook; the other two queue behind it.
            with connector.db._write_lock:
                for sock, document in zip(sockets, documents, strict=True):
                    body, headers = signed(document, timestamp=int(time.time()))
                    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                    sock.sendall(
                        f"POST /webhooks/lincolnshire/mosaic HTTP/1.1\r\nHost: x\r\n{head}"
                        f"Content-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                deadline = time.monotonic() + 5
                # Until the thread has taken the first: on a loaded machine all three can sit queued for a while.
                while len(server.task_dispatcher.queue) != 2 and time.monotonic() < deadline:
                    time.sleep(0.01)
                assert len(server.task_dispatcher.queue) == 2
            for sock in sockets:
                sock.settimeout(5)
                assert answer_to(sock).startswith(b"HTTP/1.1 202")
        finally:
            for sock in sockets:
                sock.close()
    assert [r.getMessage() for r in caplog.records if r.name == "waitress.queue"] == []
