"""The CLI and the database file: unusable paths are one line, and a config holding secrets is checked."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tests.support.harness import config_document

from connector.cli import main
from rules.pack import PACKS_DIR


def toml_text(document: dict[str, Any]) -> str:
    """Enough TOML for a config document: tables, arrays of tables, strings, numbers and lists."""
    lines: list[str] = []

    def table(name: str, values: dict[str, Any], array: bool = False) -> None:
        lines.append(f"[[{name}]]" if array else f"[{name}]")
        nested = []
        for key, value in values.items():
            if isinstance(value, dict):
                nested.append((key, value))
            else:
                lines.append(f"{key} = {json.dumps(value)}")
        for key, value in nested:
            table(f"{name}.{key}", value)

    for key, value in document.items():
        if isinstance(value, list):
            for item in value:
                table(key, item, array=True)
        else:
            table(key, value)
    return "\n".join(lines) + "\n"


def write_config(tmp_path: Path, database: str | None = None, mode: int = 0o600) -> Path:
    document = config_document(tmp_path, "http://127.0.0.1:9/api")
    if database is not None:
        document["storage"]["database"] = database
    path = tmp_path / "connector.toml"
    path.write_text(toml_text(document), encoding="utf-8")
    path.chmod(mode)
    return path


@pytest.mark.parametrize("command", [["status"], ["tick", "--now", "2026-11-02"], ["serve", "--port", "1"]])
def test_a_database_path_that_is_a_directory_is_named_as_such(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "db-dir").mkdir()
    path = write_config(tmp_path, database=str(tmp_path / "db-dir"))
    result = CliRunner().invoke(main, [command[0], "--config", str(path), *command[1:]])
    assert result.exit_code == 2
    assert result.stderr == (
        f"connector: error: storage.database: cannot open {tmp_path / 'db-dir'}: it is a directory\n"
    )


def test_a_database_path_under_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x")
    path = write_config(tmp_path, database=str(tmp_path / "plain" / "c.db"))
    result = CliRunner().invoke(main, ["work", "--config", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"connector: error: storage.database: cannot open {tmp_path / 'plain' / 'c.db'}: "
    )
    assert result.stderr.count("\n") == 1


def test_check_config_warns_when_others_may_read_inline_secrets(tmp_path: Path) -> None:
    path = write_config(tmp_path, mode=0o644)
    result = CliRunner().invoke(main, ["check-config", "--config", str(path)])
    assert result.exit_code == 0
    assert "connector: warning:" in result.stderr
    assert "api_token, webhook_secrets" in result.stderr and "chmod 600" in result.stderr
    assert "test-token" not in result.stderr  # the warning names the keys, never the values

    os.chmod(path, 0o600)
    result = CliRunner().invoke(main, ["check-config", "--config", str(path)])
    assert result.exit_code == 0
    assert "warning" not in result.stderr


def test_a_copied_pack_is_reported_by_its_own_file_name(tmp_path: Path) -> None:
    copy = tmp_path / "my-council.toml"
    copy.write_bytes((PACKS_DIR / "lincolnshire.toml").read_bytes())
    document = config_document(tmp_path, "http://127.0.0.1:9/api")
    document["tenants"][0]["rule_pack"] = "my-council.toml"
    path = tmp_path / "connector.toml"
    path.write_text(toml_text(document), encoding="utf-8")
    path.chmod(0o600)

    result = CliRunner().invoke(main, ["check-config", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert (
        "tenant lincolnshire: rule pack my-council ([pack] name lincolnshire), platforms mosaic"
        in result.output
    )

    shipped = CliRunner().invoke(main, ["check-config", "--config", str(write_config(tmp_path))])
    assert "rule pack lincolnshire, platforms mosaic" in shipped.output
