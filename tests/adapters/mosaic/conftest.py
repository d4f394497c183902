"""The `mosaic` fixture: a harness around pytest-httpserver (see support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer
from tests.adapters.mosaic.support import TOKEN, Harness


@pytest.fixture
def mosaic(httpserver: HTTPServer) -> Iterator[Harness]:
    harness = Harness(httpserver)
    yield harness
    # A request no handler expected is answered 500, which the client would retry: fail loudly instead.
    httpserver.check_assertions()
    for request, _ in httpserver.log:
        assert request.headers.get("Authorization") == f"Bearer {TOKEN}"
