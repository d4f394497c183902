"""Every rule of every shipped pack is tested by a scenario that fails without it."""

from __future__ import annotations

import dataclasses

import pytest

from connector.scenarios.runner import load_scenarios, run_scenario, scenario_file_for
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


# Every rule id of the two councils' policies (as catalogued for the project), each in its council's pack.
POLICY_RULE_IDS = {
    "lincolnshire": {
        "LINC-PS-CH",
        "LINC-PS-NCH",
        "LINC-PS-NF",
        "LINC-PSA",
        "LINC-CS-ALLOC",
        "LINC-CS-CP",
        "LINC-CS-CFP",
        "LINC-CS-LAC",
        "LINC-CS-TAC",
        "LINC-CS-INV",
        "LINC-CS-FLOOR",
        "LINC-REC",
        "LINC-REC-YOS",
        "LINC-GS",
        "LINC-PO",
        "LINC-CARRY",
    },
    "bracknell-forest": {
        "BFC-PS-MONTH",
        "BFC-BOOK",
        "BFC-CONTRACT",
        "BFC-ASYE",
        "BFC-RES-NEW",
        "BFC-RES-SHIFTS",
        "BFC-FSM",
        "BFC-CS-EVERY",
        "BFC-REC",
        "BFC-AGENDA",
        "BFC-DIP",
        "BFC-BRIEF",
        "BFC-LEAVE",
        "BFC-CHILDREN",
        "BFC-WELLBEING",
        "BFC-GCS-ADMIN",
    },
}


@pytest.mark.parametrize("pack_name", sorted(POLICY_RULE_IDS))
def test_every_policy_rule_is_in_its_councils_pack(pack_name: str) -> None:
    assert {r.id for r in load_pack(pack_name).rules} == POLICY_RULE_IDS[pack_name]
