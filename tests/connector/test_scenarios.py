"""Every scenario beside every shipped pack, one test each (also what `connector rules test` runs)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from connector.scenarios import run_scenario, scenario_file_for
from rules.pack import load_pack, shipped_pack_names


def scenarios() -> list[tuple[str, dict[str, object]]]:
    cases = []
    for name in shipped_pack_names():
        pack = load_pack(name)
        document = yaml.safe_load(Path(scenario_file_for(pack)).read_text(encoding="utf-8"))
        cases += [(name, scenario) for scenario in document["scenarios"]]
    return cases


@pytest.mark.parametrize(
    ("pack_name", "scenario"), scenarios(), ids=lambda v: v if isinstance(v, str) else str(v["name"])[:60]
)
def test_scenario(pack_name: str, scenario: dict[str, object]) -> None:
    result = run_scenario(load_pack(pack_name), scenario)
    assert result.passed, result.message
