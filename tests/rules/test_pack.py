"""Loading packs: the shipped ones, a third council's as data only, and precise refusals of broken ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import main
from connector.scenarios import run_pack_tests
from rules.pack import PackError, load_pack, shipped_pack_names

HERE = Path(__file__).parent
TEST_PACK = HERE / "packs" / "test-council.toml"
GOOD_RULE = """
[[rules]]
id = "X-1"
source = "1.1"
kind = "case_supervision"
words = "every case monthly"
schedule = { type = "interval", days = 28 }
"""


def write_pack(tmp_path: Path, rules: str, head: str | None = None) -> Path:
    path = tmp_path / "broken.toml"
    path.write_text(
        (head or '[pack]\nname = "b"\ncouncil = "B"\npolicy = "P"\nqualifying_case_sessions = ["case"]\n')
        + rules
    )
    return path


def test_every_rule_id_in_rules_md_for_lincolnshire_case_supervision_is_shipped() -> None:
    pack = load_pack("lincolnshire")
    ids = {r.id for r in pack.rules}
    assert {
        "LINC-CS-ALLOC",
        "LINC-CS-CP",
        "LINC-CS-CFP",
        "LINC-CS-LAC",
        "LINC-CS-TAC",
        "LINC-CS-INV",
        "LINC-CS-FLOOR",
        "LINC-CARRY",
    } <= ids
    assert all(r.source and r.words for r in pack.rules)
    assert pack.kinds == {"case_supervision"}
    assert "lincolnshire" in shipped_pack_names()


def test_fingerprint_changes_with_the_content(tmp_path: Path) -> None:
    first = load_pack(str(write_pack(tmp_path, GOOD_RULE))).fingerprint
    second = load_pack(str(write_pack(tmp_path, GOOD_RULE.replace("28", "21")))).fingerprint
    assert first != second


def test_a_third_council_needs_only_a_data_file() -> None:
    results = run_pack_tests(str(TEST_PACK))
    assert [r.passed for r in results] == [True, True], [r.message for r in results]


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            GOOD_RULE.replace("days = 28", "days = 0"),
            "rule X-1: 'days' must be a positive whole number of days, not 0",
        ),
        (GOOD_RULE.replace('"case_supervision"', '"lunch"'), "rule X-1: unknown obligation kind 'lunch'"),
        (
            GOOD_RULE.replace('type = "interval"', 'type = "whenever"'),
            "rule X-1: unknown schedule type 'whenever'",
        ),
        (GOOD_RULE + GOOD_RULE, "rule X-1: the id is used by another rule too"),
        (GOOD_RULE.replace('words = "every case monthly"\n', ""), "rule X-1: the rule is missing 'words'"),
        (
            GOOD_RULE + 'applies_to = { statuses = ["NOPE"] }\n',
            "rule X-1: 'statuses' has unknown code(s) NOPE",
        ),
        (GOOD_RULE + 'colour = "blue"\n', "rule X-1: the rule has unknown key(s) 'colour'"),
        (
            GOOD_RULE.replace("precedence", "x") + 'precedence = "first"\n',
            "rule X-1: 'precedence' must be one of",
        ),
        (GOOD_RULE.replace('{ type = "interval", days = 28 }', '{ type = "interval" }'), "needs 'days'"),
        ("", "the file is missing 'rules'"),
    ],
)
def test_a_broken_pack_is_refused_with_the_file_the_rule_and_the_problem(
    tmp_path: Path, rules: str, message: str
) -> None:
    with pytest.raises(PackError) as caught:
        load_pack(str(write_pack(tmp_path, rules)))
    assert str(caught.value).startswith("broken.toml: ")
    assert message in str(caught.value)


def test_not_toml_and_unknown_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PackError, match="not valid TOML"):
        load_pack(str(write_pack(tmp_path, "[[rules]\n")))
    with pytest.raises(PackError, match="no shipped rule pack named 'atlantis'"):
        load_pack("atlantis")


def test_rules_test_command_runs_the_shipped_scenarios() -> None:
    result = CliRunner().invoke(main, ["rules", "test"])
    assert result.exit_code == 0, result.output
    assert "lincolnshire:" in result.output and "0 failed" in result.output


def test_rules_test_command_fails_on_a_broken_pack(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["rules", "test", str(write_pack(tmp_path, GOOD_RULE.replace("28", "-1")))]
    )
    assert result.exit_code == 2
    assert result.output.startswith("connector: error: broken.toml: rule X-1:")
