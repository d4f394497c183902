from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from tests.connector.pipeline.one_case import ALLOCATED, WORKER, running_with
from tests.support.fake_mosaic import FakeMosaic
from tests.support.harness import Connector


@pytest.fixture(autouse=True)
def _on_both_engines(store_engine: str) -> str:
    """Every pipeline test runs on SQLite and on PostgreSQL (tests/conftest.py)."""
    return store_engine


@pytest.fixture
def mosaic(httpserver: HTTPServer) -> FakeMosaic:
    return FakeMosaic(httpserver).install()


@pytest.fixture
def connector(tmp_path: Path, mosaic: FakeMosaic) -> Iterator[Connector]:
    """Worker 5521 given child 100234 (one_case.py), processed and its step written to the fake Mosaic."""
    yield from running_with(tmp_path, mosaic.base_url, WORKER, ALLOCATED)
