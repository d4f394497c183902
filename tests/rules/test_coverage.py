"""Every rule of every shipped pack is tested by a scenario that fails without it."""

from __future__ import annotations

import dataclasses

import pytest

from connector.scenarios import load_scenarios, run_scenario, scenario_file_for
from rules.pack import load_pack, shipped_pack_names


@pytest.mark.parametrize("pack_name", shipped_pack_names())
def test_every_rule_is_needed_by_some_scenario(pack_name: str) -> None:
    pack = load_pack(pack_name)
    scenarios = load_scenarios(scenario_file_for(pack))
    assert all(run_scenario(pack, s).passed for s in scenarios)
    untested = []
    for rule in pack.rules:
        without = dataclasses.replace(pack, rules=tuple(r for r in pack.rules if r is not rule))
        if all(run_scenario(without, s).passed for s in scenarios):
            untested.append(rule.id)
    assert untested == [], f"no scenario fails without {', '.join(untested)}"
