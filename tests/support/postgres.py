"""A PostgreSQL server for the test session: started once from the system's binaries, one database per test.

pytest-postgresql's process fixture runs `pg_ctl` as the current user, and PostgreSQL refuses to run as root
(as CI does here): this starts the server as the `postgres` user when run as root, on a private socket folder
and a free port, with durability off (a test server's data dies with it). Each test gets a copy of a template
database already migrated, so a test pays a `CREATE DATABASE` and no migrations.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

from connector.store.database import Database
from connector.store.url import DatabaseUrl

TEMPLATE = "connector_template"


def _bin_dir() -> Path | None:
    given = os.environ.get("CONNECTOR_PG_BIN")
    if given:
        return Path(given)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def unavailable() -> str | None:
    """Why the PostgreSQL tests cannot run here, or None."""
    bin_dir = _bin_dir()
    if bin_dir is None or not (bin_dir / "pg_ctl").exists():
        return "PostgreSQL is not installed (apt-get install postgresql; .ci/run does)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self) -> None:
        bin_dir = _bin_dir()
        assert bin_dir is not None
        self.bin_dir = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="connector-pg-"))
        self.port = _free_port()
        self._names = itertools.count(1)
        as_root = os.geteuid() == 0
        if as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        self._as = ["runuser", "-u", "postgres", "--"] if as_root else []
        data = self.folder / "data"
        self._run("initdb", "-D", str(data), "-U", "connector", "-A", "trust", "-E", "UTF8", "--no-sync")
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._run("pg_ctl", "-D", str(data), "-o", options, "-l", str(self.folder / "log"), "-w", "start")
        self.admin_url = f"postgresql://connector@127.0.0.1:{self.port}/postgres"
        self._admin("CREATE DATABASE " + TEMPLATE)
        template = Database(DatabaseUrl(self.url_of(TEMPLATE)))
        template.migrate()
        template.close()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self._as, str(self.bin_dir / tool), *args], check=True, capture_output=True, cwd="/")

    def _admin(self, sql: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.encode())

    def url_of(self, name: str) -> str:
        return f"postgresql://connector@127.0.0.1:{self.port}/{name}"

    def fresh_database(self) -> DatabaseUrl:
        """An empty, migrated database of its own (a copy of the template)."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        self._admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE} STRATEGY FILE_COPY")
        return DatabaseUrl(self.url_of(name))

    def empty_database(self) -> DatabaseUrl:
        """A database with no schema at all, for the migrations' own tests."""
        name = f"empty_{os.getpid()}_{next(self._names)}"
        self._admin(f"CREATE DATABASE {name}")
        return DatabaseUrl(self.url_of(name))

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
