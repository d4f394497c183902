"""What every module may rely on from a database connection, whichever engine is behind it.

SQL is written once with `?` (or `:name`) placeholders and read back by column name or by index; the SQLite
connection is passed through untouched (nothing in the hot paths pays for the abstraction), the PostgreSQL one
is a thin wrapper that translates the placeholders.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

Params = Sequence[Any] | Mapping[str, Any]


class Row(Protocol):
    """A result row: `row["column"]` or `row[0]`, as `sqlite3.Row` gives."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def keys(self) -> list[str]: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """The part of a DB-API connection the connector uses; transactions go through `Database.transaction()`."""

    def execute(self, sql: str, parameters: Params = (), /) -> Cursor: ...

    def executemany(self, sql: str, seq_of_parameters: Iterable[Params], /) -> Cursor: ...

    @property
    def in_transaction(self) -> bool: ...
