"""Operator commands say exactly what happened."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from pytest_httpserver import HTTPServer
from tests.connector.pipeline.one_case import ALLOCATED
from tests.support.fake_mosaic import FakeMosaic
from tests.support.harness import Connector, make_config, start_connector, write_config_file

from connector.cli import main


def run(args: list[str]) -> Result:
    # Quiet logs: the fake Mosaic's request log would otherwise share stderr with the command's one line.
    return CliRunner().invoke(main, ["--log-level", "ERROR", *args])


@pytest.fixture
def mosaic(httpserver: HTTPServer) -> FakeMosaic:
    return FakeMosaic(httpserver).install()


@pytest.fixture
def parked(tmp_path: Path, mosaic: FakeMosaic) -> Iterator[tuple[Connector, int, str]]:
    """A step create Mosaic refused (400), parked as a dead letter; with the config file to run commands on."""
    running = start_connector(make_config(tmp_path, mosaic.base_url))
    assert running.post(ALLOCATED).status_code == 202
    mosaic.fail_next(400)
    running.service.drain()
    [dead] = running.service.outbox.dead_letters()
    yield running, dead.id, str(write_config_file(tmp_path, mosaic.base_url))
    running.close()


def test_retry_says_delivered_with_the_platform_record_id(
    parked: tuple[Connector, int, str], mosaic: FakeMosaic
) -> None:
    _, dead_id, config = parked
    result = run(["retry", "--config", config, str(dead_id)])
    assert result.exit_code == 0, result.output
    [step] = mosaic.open_steps()
    # The answer is stdout; the log lines (the CLI's handler on the root logger) go to stderr.
    assert (
        result.stdout.strip()
        == f"dead letter {dead_id} delivered (platform record {step['workflow_step_id']})"
    )


def test_retry_says_failed_again_and_parked_with_the_reason(
    parked: tuple[Connector, int, str], mosaic: FakeMosaic
) -> None:
    connector, dead_id, config = parked
    mosaic.fail_next(400)
    result = run(["retry", "--config", config, str(dead_id)])
    assert result.exit_code == 2
    error = result.stderr.splitlines()[-1]  # after the log lines, the one error line
    assert error.startswith(f"connector: error: dead letter {dead_id} failed again and is parked: ")
    assert "400" in error
    assert [r.id for r in connector.service.outbox.dead_letters()] == [dead_id]


def test_retry_says_when_a_retryable_failure_is_tried_again(
    parked: tuple[Connector, int, str], mosaic: FakeMosaic
) -> None:
    connector, dead_id, config = parked
    mosaic.fail_next(503, times=20)
    result = run(["retry", "--config", config, str(dead_id)])
    mosaic.faults.clear()
    assert result.exit_code == 0, result.output
    assert f"dead letter {dead_id} failed retryably" in result.output
    [row] = connector.service.db.query("SELECT state, next_attempt_at FROM outbox WHERE id = ?", (dead_id,))
    assert row["state"] == "pending"
    assert result.output.strip().endswith(
        f"queued for another attempt at {row['next_attempt_at'][:19]}+00:00"
    )


def test_retry_of_an_unknown_id_names_it(parked: tuple[Connector, int, str]) -> None:
    _, _, config = parked
    result = run(["retry", "--config", config, "999"])
    assert result.exit_code == 2
    assert result.output.startswith("connector: error: ID: there is no dead letter with id 999")
