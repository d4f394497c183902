"""`connector tick --dry-run` prints what a tick would write and writes nothing, to the platform or the database."""

from __future__ import annotations

import copy
from pathlib import Path

from click.testing import CliRunner
from tests.support.fake_mosaic import FakeMosaic
from tests.support.harness import Connector, write_config_file

from connector.cli import main
from connector.store.database import Database
from connector.store.url import DatabaseUrl


def dump(path: Path | DatabaseUrl) -> list[str]:
    """Every row of every table, on either engine."""
    db = Database(path)
    try:
        tables = (
            [
                r[0]
                for r in db.query(
                    "SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = 'public' ORDER BY table_name"
                )
            ]
            if db.dialect == "postgresql"
            else [r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        )
        return [
            f"{table}: {row}"
            for table in tables
            for row in sorted(repr(tuple(r)) for r in db.query(f"SELECT * FROM {table}"))
        ]
    finally:
        db.close()


def test_a_dry_run_prints_the_writes_and_changes_nothing(
    tmp_path: Path, connector: Connector, mosaic: FakeMosaic
) -> None:
    config = str(write_config_file(tmp_path, mosaic.base_url))
    database = connector.service.config.database
    connector.service.db.close()
    before_db = dump(database)
    before_mosaic = (
        copy.deepcopy(mosaic.steps),
        copy.deepcopy(mosaic.notifications),
        sum(mosaic.calls.values()),
    )

    result = CliRunner().invoke(
        main, ["--log-level", "ERROR", "tick", "--config", config, "--now", "2026-12-05", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (
        "dry run as of 2026-12-05: 2 reminder(s), 1 newly overdue, 0 escalation(s); nothing was written"
    )
    [step] = [s for s in mosaic.steps.values() if s["subject_person_id"] == 100234]
    step_id = step["workflow_step_id"]
    reminder = [line for line in lines if line.split()[0] == "reminder"]
    # The due date's rung (to the worker and their supervisor) is the current one; the week-before one is stale.
    assert reminder == [
        f"  reminder       case_supervision       linc:reminder:{step_id}:due-0:20261130:5521  worker 5521"
        "  show 2026-12-05  due 2026-11-30",
        f"  reminder       case_supervision       linc:reminder:{step_id}:due-0-supervisor:20261130:5500"
        "  worker 5500  show 2026-12-05  due 2026-11-30",
    ]
    overdue = [line for line in lines if line.split()[0] == "overdue"]
    assert len(overdue) == 1 and "linc:case_supervision:100234:5521:1" in overdue[0]

    assert dump(database) == before_db
    assert (mosaic.steps, mosaic.notifications, sum(mosaic.calls.values())) == before_mosaic


def test_without_dry_run_the_tick_writes(tmp_path: Path, connector: Connector, mosaic: FakeMosaic) -> None:
    config = str(write_config_file(tmp_path, mosaic.base_url))
    connector.service.db.close()
    result = CliRunner().invoke(
        main, ["--log-level", "ERROR", "tick", "--config", config, "--now", "2026-12-05"]
    )
    assert result.exit_code == 0, result.output
    assert len(mosaic.notifications) == 2  # the due date's rung: to the worker and to their supervisor
