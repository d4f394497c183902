import pytest


@pytest.fixture(autouse=True)
def _on_both_engines(store_engine: str) -> str:
    """Every pipeline test runs on SQLite and on PostgreSQL (tests/conftest.py)."""
    return store_engine
