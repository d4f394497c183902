from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import harness

from connector.store.database import Database


@pytest.fixture
def db(tmp_path: Path, store_engine: str) -> Iterator[Database]:
    database = Database(harness.database_for(tmp_path))
    database.migrate()
    yield database
    database.close()
