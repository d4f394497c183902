"""Loading rule packs: the shipped ones, and a precise error for each way a pack can be wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import main
from connector.scenarios.runner import run_pack_tests
from rules.pack import (
    Interval,
    OnceAfter,
    PackError,
    Phased,
    load_pack,
    shipped_pack_names,
)

TEST_PACK = Path(__file__).parent / "packs" / "test-council.toml"
HEAD = """\
[pack]
name = "testshire"
council = "Testshire"
policy = "Supervision policy"
qualifying_case_sessions = ["case"]
"""

RULE = """
[[rules]]
id = "T-CS"
source = "1.1"
kind = "case_supervision"
words = "every case is supervised four weekly"
schedule = { type = "interval", every_days = 28 }
"""


def write(tmp_path: Path, text: str, name: str = "testshire.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def error(tmp_path: Path, text: str) -> str:
    with pytest.raises(PackError) as caught:
        load_pack(write(tmp_path, text))
    return str(caught.value)


def test_the_shipped_packs() -> None:
    assert shipped_pack_names() == ["bracknell-forest", "lincolnshire"]
    linc = load_pack("lincolnshire")
    assert linc.name == "lincolnshire" and "Lincolnshire" in linc.council
    assert linc.kinds == {
        "case_supervision",
        "personal_supervision",
        "supervision_agreement",
        "supervision_record",
        "group_supervision",
        "practice_observation",
    }
    assert linc.qualifying_case_sessions == {
        "case",
        "ad_hoc",
        "allocation_discussion",
        "ten_twenty_day_discussion",
    }
    ids = [r.id for r in linc.rules]
    assert "LINC-CS-FLOOR" in ids and "LINC-CARRY" in ids
    bfc = load_pack("bracknell-forest")
    assert bfc.kinds == {
        "case_supervision",
        "personal_supervision",
        "supervision_booking",
        "supervision_agreement",
        "supervision_record",
        "fsm_group_supervision",
        "team_brief",
        "agenda",
        "dip_sample",
    }
    asye = next(r for r in bfc.rules if r.id == "BFC-ASYE")
    assert isinstance(asye.schedule, Phased) and [p.every_days for p in asye.schedule.phases] == [7, 14]


def test_a_pack_by_path_and_its_fingerprint(tmp_path: Path) -> None:
    pack = load_pack(write(tmp_path, HEAD + RULE))
    again = load_pack(write(tmp_path, HEAD + RULE, "copy.toml"))
    changed = load_pack(write(tmp_path, HEAD + RULE.replace("28", "21"), "changed.toml"))
    assert pack.fingerprint == again.fingerprint != changed.fingerprint
    assert pack.kinds == {"case_supervision"}
    [rule] = pack.rules
    assert isinstance(rule.schedule, Interval) and rule.schedule.every_days == 28
    assert (rule.precedence, rule.assignee) == ("always", "worker")


def test_an_unknown_shipped_name_lists_the_shipped_packs() -> None:
    with pytest.raises(PackError, match=r"no shipped rule pack named 'atlantis'.*lincolnshire"):
        load_pack("atlantis")


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PackError, match="cannot be read"):
        load_pack(str(tmp_path / "nowhere.toml"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[pack\n", "testshire.toml: not valid TOML"),
        (HEAD, "testshire.toml: the file is missing 'rules'"),
        (HEAD + "colour = 1\n" + RULE, "[pack] has unknown key(s) 'colour'"),
        (
            HEAD.replace('name = "testshire"', 'name = "Test Shire"') + RULE,
            "name 'Test Shire' must be lower case",
        ),
        (HEAD.replace('["case"]', '["chat"]') + RULE, "'qualifying_case_sessions' has unknown code(s) chat"),
        (
            HEAD + RULE.replace("every_days = 28", "every_days = 0"),
            "testshire.toml: rule T-CS: 'every_days' must be a positive whole number, not 0",
        ),
        (
            HEAD + RULE.replace("every_days = 28", "every_days = 2.5"),
            "rule T-CS: 'every_days' must be a positive whole number, not 2.5",
        ),
        (
            HEAD + RULE.replace("every_days = 28", "every_dayz = 28"),
            "rule T-CS: the interval schedule has unknown key(s) 'every_dayz'",
        ),
        (HEAD + RULE + RULE, "rule T-CS: the id is used by another rule too"),
        (
            HEAD + RULE.replace('words = "every case is supervised four weekly"\n', ""),
            "rule T-CS: the rule is missing 'words'",
        ),
        (HEAD + RULE.replace('source = "1.1"', 'source = " "'), "rule T-CS: 'source' must be non-empty text"),
        (
            HEAD + RULE.replace('"case_supervision"', '"coffee"'),
            "rule T-CS: unknown obligation kind 'coffee'",
        ),
        (
            HEAD + RULE.replace('type = "interval"', 'type = "fortnightly"'),
            "rule T-CS: 'schedule' needs a 'type'",
        ),
        (
            HEAD + RULE + 'applies_to = { statuses = ["XX"] }\n',
            "rule T-CS: 'statuses' has unknown code(s) XX",
        ),
        (
            HEAD + RULE + 'applies_to = { relationships = ["BOSS"] }\n',
            "'relationships' has unknown code(s) BOSS",
        ),
        (HEAD + RULE + 'applies_to = { job_roles = ["WIZARD"] }\n', "'job_roles' has unknown code(s) WIZARD"),
        (HEAD + RULE + 'applies_to = { case_holding = "yes" }\n', "'case_holding' must be true or false"),
        (
            HEAD + RULE + 'applies_to = { team_tags = ["MASH"] }\n',
            "'applies_to.team_tags' does not apply to case_supervision",
        ),
        (HEAD + RULE + 'applies_to = { colour = "red" }\n', "'applies_to' has unknown key(s) 'colour'"),
        (HEAD + RULE + 'precedence = "urgent"\n', "'precedence' must be one of specific, general, always"),
        (
            HEAD + RULE + 'assignee = "team_manager"\n',
            "'assignee' for case_supervision must be one of worker, supervisor",
        ),
        (HEAD + RULE + "colour = 1\n", "rule T-CS: the rule has unknown key(s) 'colour'"),
        (HEAD + RULE.replace('id = "T-CS"', 'id = "T CS"'), "the id 'T CS' may hold only"),
        (
            HEAD
            + RULE.replace('kind = "case_supervision"', 'kind = "team_brief"').replace(
                'type = "interval", every_days = 28', 'type = "shifts", every_shifts = 8'
            ),
            "a shifts schedule cannot time team_brief",
        ),
        (
            HEAD
            + RULE.replace(
                'type = "interval", every_days = 28', 'type = "once_after", after = "supervisor", days = 28'
            ),
            "'after' for case_supervision must be allocation",
        ),
        (
            HEAD
            + RULE.replace(
                'type = "interval", every_days = 28', 'type = "form_content", field = "wellbeing"'
            ),
            "the form field 'wellbeing' belongs on personal_supervision, not case_supervision",
        ),
        (
            HEAD
            + RULE.replace('kind = "case_supervision"', 'kind = "personal_supervision"').replace(
                'type = "interval", every_days = 28', 'type = "form_content", field = "previous_actions"'
            ),
            "'previous_actions' belongs on case_supervision, not personal_supervision",
        ),
        (
            HEAD
            + RULE.replace('kind = "case_supervision"', 'kind = "personal_supervision"').replace(
                'type = "interval", every_days = 28',
                'type = "phased", phases = [{ every_days = 7, for_days = 42 }, { every_days = 14, for_days = 30 }]',
            ),
            "each phase must end after the phase before it",
        ),
        (
            HEAD
            + RULE.replace('kind = "case_supervision"', 'kind = "personal_supervision"').replace(
                'type = "interval", every_days = 28', 'type = "phased", phases = [{ every_days = 7 }]'
            ),
            "phase 1 needs exactly one of 'for_days' and 'until_months'",
        ),
        (
            HEAD
            + RULE.replace('kind = "case_supervision"', 'kind = "practice_observation"').replace(
                'type = "interval", every_days = 28',
                'type = "yearly_count", count = 2, year_starts = "02-29"',
            ),
            "'year_starts' is not a day of every year",
        ),
        (
            HEAD
            + RULE.replace('kind = "case_supervision"', 'kind = "supervision_record"').replace(
                'type = "interval", every_days = 28',
                'type = "after_session", after = "booking", booking_kinds = ["case_supervision"]',
            ),
            "needs exactly one of 'working_days' and 'calendar_days'",
        ),
        (
            HEAD + RULE.replace("every_days = 28", "every_days_by_relationship = { BOSS = 28 }"),
            "has unknown code(s) BOSS",
        ),
    ],
)
def test_a_bad_pack_is_refused_with_the_file_the_rule_and_the_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    refused = error(tmp_path, text)
    assert refused.startswith("testshire.toml: ")
    assert message in refused


def test_a_third_council_needs_only_a_data_file() -> None:
    results = run_pack_tests(str(TEST_PACK))
    assert len(results) == 2
    assert all(r.passed for r in results), [r.message for r in results]


def test_rules_test_command_runs_the_shipped_scenarios() -> None:
    result = CliRunner().invoke(main, ["rules", "test"])
    assert result.exit_code == 0, result.output
    assert "lincolnshire:" in result.output and "bracknell-forest:" in result.output
    assert "0 failed" in result.output


def test_rules_test_command_fails_on_a_broken_pack(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["rules", "test", write(tmp_path, HEAD + RULE.replace("28", "-1"))])
    assert result.exit_code == 2
    assert result.output.startswith("connector: error: testshire.toml: rule T-CS:")


def test_once_after_a_new_supervisor_is_read_with_its_window(tmp_path: Path) -> None:
    rule = RULE.replace('kind = "case_supervision"', 'kind = "supervision_agreement"').replace(
        'type = "interval", every_days = 28',
        'type = "once_after", after = "supervisor", days = 28, seen_within_days = 28',
    )
    [parsed] = load_pack(write(tmp_path, HEAD + rule)).rules
    assert parsed.schedule == OnceAfter(after="supervisor", days=28, seen_within_days=28)


def test_vocabulary_is_the_councils_own_words() -> None:
    bfc = load_pack("bracknell-forest")
    assert bfc.words("Support for children looked after and those leaving care") == (
        "Support for children and those care experienced"
    )
    assert bfc.words("Children Looked After prefer it") == "Children prefer it"
    assert bfc.words("Leaving care service") == "Care experienced service"
    assert load_pack("lincolnshire").words("children looked after") == "children looked after"


def test_team_tags_are_matched_however_the_tenant_wrote_them() -> None:
    from rules.model import TeamFacts

    brief = next(r for r in load_pack("bracknell-forest").rules if r.id == "BFC-BRIEF")
    assert brief.applies_to.team_matches(TeamFacts("1", (), tags=frozenset({"Referral and Assessment"})))
    assert brief.applies_to.team_matches(TeamFacts("1", (), tags=frozenset({"mash"})))
    assert not brief.applies_to.team_matches(TeamFacts("1", (), tags=frozenset({"Fostering"})))


def test_disposals_map_to_the_policys_statuses_as_data(tmp_path: Path) -> None:
    pack = load_pack(write(tmp_path, HEAD + '[pack.disposals]\nlooked_after = ["LAC"]\nYRO = ["CIN"]\n' + RULE))
    assert pack.disposals == {"looked_after": frozenset({"LAC"}), "YRO": frozenset({"CIN"})}
    assert load_pack("lincolnshire").disposals == {"looked_after": frozenset({"LAC"})}


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('SMITH = ["LAC"]', "[pack.disposals] has unknown key(s) SMITH"),
        ('YRO = ["NOT_A_STATUS"]', "'disposals.YRO' has unknown code(s) NOT_A_STATUS"),
        ('YRO = ["YRO"]', "'disposals.YRO' has unknown code(s) YRO"),
        ("YRO = []", "'disposals.YRO' must be a non-empty list of codes"),
    ],
)
def test_a_bad_disposal_mapping_is_refused(tmp_path: Path, table: str, problem: str) -> None:
    assert problem in error(tmp_path, HEAD + f"[pack.disposals]\n{table}\n" + RULE)
