from pathlib import Path

import pytest

from connector.store.database import Database


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(tmp_path / "connector.db")
    database.migrate()
    yield database
    database.close()
