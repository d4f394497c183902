"""`connector sandbox`: what it leaves behind leads to a working `connector serve`, not to dead letters."""

from __future__ import annotations

from pathlib import Path

from connector.config import load_config_file
from connector.sandbox.run import run_sandbox


def test_the_serve_instructions_use_a_config_with_an_empty_database_of_its_own(tmp_path: Path) -> None:
    lines: list[str] = []
    run_sandbox(tmp_path, 0, lines.append)
    output = "\n".join(lines)

    sandbox = load_config_file(tmp_path / "sandbox.toml", environ={})
    serve = load_config_file(tmp_path / "serve.toml", environ={})
    assert sandbox.database.exists()
    # The sandbox's database names steps only the sandbox's simulator held; serve must not start from it.
    assert serve.database != sandbox.database and not serve.database.exists()
    assert f"connector serve --config {tmp_path / 'serve.toml'}" in output
    assert f"rm -f {tmp_path / 'serve.db'}*" in output
    assert "sandbox.toml\n" not in output.split("To run the service yourself")[1]
    assert "/api/workflow-steps" in output
    assert serve.warnings == ()  # written private, as it holds the sandbox's token inline


def test_the_sandbox_shows_a_yos_case_managers_prompts_from_childview(tmp_path: Path) -> None:
    lines: list[str] = []
    run_sandbox(tmp_path, 0, lines.append)
    output = "\n".join(lines)
    assert "Prompts the Youth Offending Service's staff now see in Childview" in output
    rows = [line for line in lines if line.startswith("PR-")]
    assert any("MANAGEMENT_OVERSIGHT_DUE YP-00412      CM-0042  2026-12-18" in row for row in rows), rows
    assert "youth justice disposal YRO since 2 Nov 2026" in output
    assert "connector childview-simulator --port" in output and "/api/prompts" in output
    assert "dead letters 0" in output
    # Least data: the action agreed at the oversight has text in the sample; it never reaches a platform.
    assert "intervention plan" not in output
