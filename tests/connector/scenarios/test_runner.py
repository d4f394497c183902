"""Every scenario beside every shipped pack, one test each (also what `connector rules test` runs)."""

from __future__ import annotations

from typing import Any

import pytest

from connector.scenarios.runner import load_scenarios, run_scenario, scenario_file_for
from rules.pack import load_pack, shipped_pack_names


def scenarios() -> list[Any]:
    cases = []
    for name in shipped_pack_names():
        for scenario in load_scenarios(scenario_file_for(load_pack(name))):
            cases.append(pytest.param(name, scenario, id=f"{name}: {str(scenario.get('name'))[:70]}"))
    return cases


@pytest.mark.parametrize(("pack_name", "scenario"), scenarios())
def test_scenario(pack_name: str, scenario: dict[str, Any]) -> None:
    result = run_scenario(load_pack(pack_name), scenario)
    assert result.passed, result.message
