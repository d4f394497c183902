"""The running connector's shared state: the last tick is in the database, so every process sees it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from tests.support.fake_mosaic import FakeMosaic
from tests.support.harness import make_config, write_config_file

from connector.cli import main
from connector.service import Service


def test_the_last_tick_is_seen_by_another_service_and_by_connector_status(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    mosaic = FakeMosaic(httpserver).install()
    config = make_config(tmp_path, mosaic.base_url)
    first = Service(config, today=lambda: date(2026, 12, 1))
    first.tick(date(2026, 12, 1))
    assert first.status()["last_tick"] == "2026-12-01"
    first.close()

    other = Service(config, today=lambda: date(2026, 12, 1))
    assert other.status()["last_tick"] == "2026-12-01"
    other.close()
    result = CliRunner().invoke(
        main,
        ["--log-level", "ERROR", "status", "--config", str(write_config_file(tmp_path, mosaic.base_url))],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["last_tick"] == "2026-12-01"


def test_a_restart_on_the_same_day_does_not_redo_the_days_reevaluation(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    mosaic = FakeMosaic(httpserver).install()
    config = make_config(tmp_path, mosaic.base_url)
    first = Service(config, today=lambda: date(2026, 12, 1))
    assert first.daily(date(2026, 12, 1))[0] is True
    first.close()
    restarted = Service(config, today=lambda: date(2026, 12, 1))
    assert restarted.daily(date(2026, 12, 1))[0] is False
    assert restarted.daily(date(2026, 12, 2))[0] is True  # a new day re-evaluates again
    restarted.close()
