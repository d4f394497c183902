"""The PostgreSQL engine (Psycopg 3): the same SQL as SQLite, `?`/`:name` placeholders translated once per text.

Connections are in autocommit mode and `Database.transaction()` issues BEGIN/COMMIT itself, as on SQLite, so a
read outside a transaction never holds a snapshot open. Migrations run under `pg_advisory_xact_lock`, so
several instances starting together apply them once; the others wait, then find them applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from connector.store.engines.base import Connection, Params
from connector.store.engines.pg_schema import PgMigrationTarget
from connector.store.url import DatabaseUrl

# Any fixed 64-bit number, the same in every instance: the key of the migration lock.
MIGRATION_LOCK = 0x636F6E6E6D696772  # "connmigr"
WRITE_LOCK = 0x636F6E6E77726974  # "connwrit"


class PgRow:
    """A row readable by column name and by index, as sqlite3.Row."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: Mapping[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._index)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __eq__(self, other: object) -> bool:
        return tuple(self._values) == (tuple(other) if isinstance(other, PgRow | tuple) else other)

    def __hash__(self) -> int:
        return hash(tuple(self._values))

    def __repr__(self) -> str:
        return f"PgRow({tuple(self._values)!r})"


def _rows(cursor: Any) -> Callable[[Sequence[Any]], PgRow]:
    index = {column.name: i for i, column in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> PgRow:
        return PgRow(values, index)

    return make


@lru_cache(maxsize=4096)
def to_psycopg(sql: str) -> str:
    """`?` to `%s`, `:name` to `%(name)s`, a literal `%` to `%%`; quoted text and `::` casts left alone."""
    out: list[str] = []
    i, n, quote = 0, len(sql), ""
    while i < n:
        c = sql[i]
        if quote:
            out.append("%%" if c == "%" else c)
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
            out.append(c)
        elif c == "%":
            out.append("%%")
        elif c == "?":
            out.append("%s")
        elif c == ":" and i + 1 < n and sql[i + 1] == ":":
            out.append("::")
            i += 1
        elif c == ":" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            out.append(f"%({sql[i + 1 : j]})s")
            i = j
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


class PgConnection:
    """A psycopg connection presented as engines.base.Connection."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def execute(self, sql: str, parameters: Params = (), /) -> Any:
        cursor = self.raw.cursor()
        if parameters:
            cursor.execute(to_psycopg(sql), parameters)
        else:
            # Without parameters psycopg sends the text as it is: nothing to translate, `%` stays single.
            cursor.execute(sql.encode())
        return cursor

    def executemany(self, sql: str, seq_of_parameters: Iterable[Params], /) -> Any:
        cursor = self.raw.cursor()
        cursor.executemany(to_psycopg(sql), list(seq_of_parameters))
        return cursor

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        self.raw.close()


class PostgresEngine:
    name = "postgresql"
    errors: tuple[type[Exception], ...] = (psycopg.Error,)
    # Threads of one process take turns as they do on SQLite (the pipeline's read-then-write steps assume one
    # writer per process); other processes are kept apart by leases and advisory locks (store/leases.py).
    serialise_writers = True

    def __init__(self, target: DatabaseUrl) -> None:
        self.target = target
        self.label = target.shown

    def connect(self) -> Connection:
        raw = psycopg.connect(
            self.target.url,
            password=self.target.password,
            autocommit=True,
            connect_timeout=10,
            application_name="connector",
            row_factory=_rows,
        )
        return PgConnection(raw)

    def begin(self, conn: Connection) -> None:
        """BEGIN, then the database's write lock, held to COMMIT: one writing transaction at a time across every
        process, as SQLite's BEGIN IMMEDIATE gives, so the pipeline's read-then-write steps stay as safe with
        several instances as with one, and two instances' transactions can never deadlock on each other's rows.
        Transactions are kept short for SQLite already; the slow parts (HTTP, folding, rules) run outside."""
        conn.execute("BEGIN")
        conn.execute("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK,))

    def migration_target(self, conn: Connection) -> PgMigrationTarget:
        return PgMigrationTarget(conn)

    def lock_migrations(self, conn: Connection) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))

    def has_table(self, conn: Connection, name: str) -> bool:
        return conn.execute("SELECT to_regclass(?)", (name,)).fetchone()[0] is not None

    def precheck(self) -> None:
        """Nothing to prepare: the server and database must exist; the connection says why not."""

    def close(self, conn: Any) -> None:
        conn.close()

    def bulk_load_hint(self, conn: Connection, cache_kib: int) -> None:
        """The server's own cache serves a bulk import; nothing to tune per connection."""

    def reason(self, exc: BaseException) -> str:
        lines = str(exc).strip().splitlines()
        return lines[0] if lines else type(exc).__name__
