"""The store's engines for the tests that take `store_engine`: each such test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import harness


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    from tests.support.postgres import PostgresServer, unavailable

    why = unavailable()
    if why is not None:
        pytest.skip(why)
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """`postgresql`: the harness's configs (and the `db` fixture) name a fresh database on the session's server."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    server = request.getfixturevalue("postgres_server")
    harness.use_database(server.fresh_database())
    try:
        yield "postgresql"
    finally:
        harness.use_database(None)
