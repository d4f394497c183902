"""Raw socket servers that misbehave as no HTTP test server can: accept and never answer, or trickle an answer.

Each serves on 127.0.0.1 in a daemon thread until closed; a test sets its client's timeout short, so it waits
no longer than that timeout, never a sleep of its own.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType


class BadServer:
    """`mode`: "silent" reads the request and never answers; "trickle" sends a 200's headers, then one byte of
    its body every `every` seconds; "truncated" promises a longer body than it sends, then closes."""

    def __init__(self, mode: str, every: float = 0.05) -> None:
        self.mode = mode
        self.every = every
        self.accepted = 0
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/api"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            self._open.append(conn)
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            if self.mode == "silent":
                self._stop.wait()
            elif self.mode == "truncated":
                conn.sendall(
                    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                    b'{"workflow_step_id": 88'
                )
                conn.close()
            else:
                body = b'{"workflow_step_id": 880012, "padding": "' + b"x" * 200 + b'"}'
                conn.sendall(
                    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                )
                for byte in body:
                    if self._stop.wait(self.every):
                        return
                    conn.sendall(bytes([byte]))
        except OSError:
            return  # the client gave up and closed: what these servers exist to prove

    def close(self) -> None:
        self._stop.set()
        for conn in self._open:
            conn.close()
        self._thread.join(timeout=1)
        self._listener.close()

    def __enter__(self) -> BadServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def elapsed(since: float) -> float:
    return time.monotonic() - since
