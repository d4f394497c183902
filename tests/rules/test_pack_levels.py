"""Each kind of subject's digest of a pack changes exactly when a rule it reads, or anything every kind reads,
changes; a pack whose rules' entries are not known has none."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from rules.pack import PACKS_DIR, load_pack, with_assignees
from rules.pack.levels import kind_digests, reads


def _changed(tmp_path: Path, pack: str, old: str, new: str, after: str = "") -> dict[str, str] | None:
    """The kinds' digests of a shipped pack with the first `old` after `after` written as `new`."""
    text = (PACKS_DIR / f"{pack}.toml").read_text(encoding="utf-8")
    at = text.index(old, text.index(after))
    path = tmp_path / f"{pack}.toml"
    path.write_text(text[:at] + new + text[at + len(old) :], encoding="utf-8")
    return kind_digests(load_pack(str(path)))


def _differ(before: dict[str, str] | None, after: dict[str, str] | None) -> set[str]:
    assert before is not None and after is not None
    return {kind for kind in before if before[kind] != after[kind]}


@pytest.mark.parametrize(
    ("pack", "after", "old", "new", "kinds"),
    [
        # A case rule: only the cases read it.
        ("lincolnshire", 'id = "LINC-CS-CP"', "every_days = 28", "every_days = 21", {"case"}),
        ("lincolnshire", 'id = "LINC-REC"', "working_days = 3", "working_days = 5", {"case"}),
        # Personal supervision: the workers, and the cases whose rules read it (Clock.personal).
        ("lincolnshire", 'id = "LINC-PS-CH"', "every_days = 28", "every_days = 21", {"case", "worker"}),
        ("bracknell-forest", 'id = "BFC-PS-MONTH"', 'type = "calendar_month"', 'type = "interval", every_days = 30', {"case", "worker"}),
        # Other worker rules, one of them read by the day (practice observations' year).
        ("bracknell-forest", 'id = "BFC-BOOK"', "months = 3", "months = 2", {"worker"}),
        ("lincolnshire", 'id = "LINC-PO"', "count = 2", "count = 3", {"worker"}),
        # A team rule.
        ("lincolnshire", 'id = "LINC-GS"', "every_days = 42", "every_days = 28", {"team"}),
        ("bracknell-forest", 'id = "BFC-BRIEF"', "every_days = 7", "every_days = 14", {"team"}),
        # Words every kind's texts use, and the sessions that count.
        ("lincolnshire", "", 'council = "', 'council = "The ', {"case", "worker", "team"}),
        ("lincolnshire", 'id = "LINC-GS"', 'id = "LINC-GS"', 'id = "LINC-GS2"', {"case", "worker", "team"}),
    ],
)  # fmt: skip
def test_a_rule_changes_the_digests_of_the_kinds_that_read_it(
    tmp_path: Path, pack: str, after: str, old: str, new: str, kinds: set[str]
) -> None:
    before = kind_digests(load_pack(pack))
    assert _differ(before, _changed(tmp_path, pack, old, new, after)) == kinds


def test_a_comment_changes_no_digest(tmp_path: Path) -> None:
    before = kind_digests(load_pack("lincolnshire"))
    after = _changed(tmp_path, "lincolnshire", 'id = "LINC-GS"', '# a note\nid = "LINC-GS"')
    assert _differ(before, after) == set()


def test_a_rule_whose_schedule_reads_the_day_is_read_by_workers_whatever_its_level() -> None:
    pack = load_pack("lincolnshire")
    dated = [rule for rule in pack.rules if rule.schedule.depends_on_date]
    assert dated, "the shipped pack has a rule read by the day"
    assert all(reads("worker", rule) for rule in dated)


def test_an_assignee_chosen_by_the_tenant_changes_its_rules_kind_only() -> None:
    pack = load_pack("bracknell-forest")
    chosen = with_assignees(pack, {"BFC-REC": "worker"})
    assert _differ(kind_digests(pack), kind_digests(chosen)) == {"case"}


def test_a_pack_whose_rules_were_not_loaded_from_its_file_has_no_digests() -> None:
    pack = load_pack("lincolnshire")
    rule = pack.rules[0]
    assert kind_digests(replace(pack, rules=(replace(rule, words="other"), *pack.rules[1:]))) is None
    assert kind_digests(replace(pack, sources=())) is None
