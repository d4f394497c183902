"""A requests session whose every request goes through one method: the test doubles of a faulty network.

The platforms' HTTP client hands each request to the transport adapter the session mounts for its URL (requests'
own extension point), so a double is an adapter, not an override of `Session.request`, which the client does
not call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from requests.adapters import HTTPAdapter

Send = Callable[[], requests.Response]


class InterceptedSession(requests.Session):
    """Every request, over http or https, passes through `intercept` with the call that sends it."""

    def __init__(self) -> None:
        super().__init__()
        adapter = _Intercepting(self)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def intercept(self, request: requests.PreparedRequest, send: Send) -> requests.Response:
        return send()


class _Intercepting(HTTPAdapter):
    def __init__(self, session: InterceptedSession) -> None:
        super().__init__()
        self._session = session

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        return self._session.intercept(
            request, lambda: super(_Intercepting, self).send(request, *args, **kwargs)
        )
