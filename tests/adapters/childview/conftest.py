"""The `childview` fixture: the simulated Childview over real HTTP (see support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.adapters.childview.support import Served, served


@pytest.fixture
def childview() -> Iterator[Served]:
    with served() as running:
        yield running
