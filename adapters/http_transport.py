"""requests' transport adapter for platform calls, sending each request in one write to the socket.

urllib3 writes a request's headers and then its body in two socket writes: two packets, and on the platform's
side two wake-ups to read one request. Writing them together cost both sides less CPU per call (measured on
loopback against the simulated Mosaic: about a tenth of the client's and of the server's). Everything else is
requests' own `HTTPAdapter`: TLS verification and client certificates, proxies (a CONNECT tunnel's own request
is written as before), pooling of kept-alive connections, timeouts.

`use_one_write_transport` mounts it on a session in place of requests' stock adapters only: an adapter a caller
mounted (a test's faulty network, a council's own transport) is left where it is.
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager


class _OneWrite:
    """Holds a request's header block back until its body is sent, then writes the two together."""

    _hold = False
    _held: bytes | None = None

    def request(self, method: str, url: str, body: Any = None, headers: Any = None, **kwargs: Any) -> None:
        # Only a body of bytes is written whole, in one chunk, after the headers; anything else goes as before.
        self._hold = isinstance(body, bytes) and bool(body)
        try:
            super().request(method, url, body=body, headers=headers, **kwargs)  # type: ignore[misc]
            if self._held is not None:  # no body chunk came after all: the headers still go
                held, self._held = self._held, None
                super().send(held)  # type: ignore[misc]
        finally:
            self._hold = False
            self._held = None

    def send(self, data: Any) -> None:
        if self._hold and self._held is None:
            self._held = bytes(data)
            return
        if self._held is not None:
            data, self._held = self._held + bytes(data), None
        super().send(data)  # type: ignore[misc]


class OneWriteHTTPConnection(_OneWrite, HTTPConnection):
    pass


class OneWriteHTTPSConnection(_OneWrite, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = OneWriteHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = OneWriteHTTPSConnection


def _one_write_pools(manager: PoolManager) -> PoolManager:
    manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
    return manager


class OneWriteAdapter(HTTPAdapter):
    """requests' HTTPAdapter whose connections write each request in one go."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _one_write_pools(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager: PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        # A SOCKS proxy's manager has pool classes of its own, which it needs; an HTTP proxy's are urllib3's.
        if manager.pool_classes_by_scheme.get("http") is HTTPConnectionPool:
            _one_write_pools(manager)
        return manager


def use_one_write_transport(session: requests.Session) -> None:
    """Mount OneWriteAdapter for http and https where the session has requests' stock adapter."""
    for prefix in ("http://", "https://"):
        current = session.adapters.get(prefix)
        if type(current) is HTTPAdapter:
            session.mount(prefix, OneWriteAdapter(max_retries=current.max_retries))
