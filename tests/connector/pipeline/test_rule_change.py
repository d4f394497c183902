"""A pack change re-evaluates whole only the kinds of subject whose rules it changed (and of the others those the
day made due), of the cases only those a changed case-level timing rule applied to (when nothing else a case
reads changed), and leaves exactly the obligations and outbox writes of re-evaluating everything; anything else
than one kind's rules re-evaluates everything."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.connector.pipeline.test_daily_narrowed import CASES, DAYS, FIRST, _fixed_history, histories
from tests.support.harness import config_document

from connector.config.load import parse_config
from connector.pipeline import processor as processor_module
from connector.pipeline.rule_change import case_rules_changed, kinds_changed
from connector.service import Service
from rules.events import CaseStatusChanged, Event
from rules.pack import PACKS_DIR

# (pack, the rule's id, what it said, what it says now, the kinds a change of it is read by). The first two
# change only case-level timing rules' schedules, so of the cases only those the rule applied to are evaluated;
# the next two change who a rule applies to, or a rule a case reads but not only where it applies: every case.
CHANGES = [
    ("lincolnshire", "LINC-CS-CP", "words = \"the keyworker", "words = \"the key worker", {"case"}),
    ("lincolnshire", "LINC-CS-CP", 'statuses = ["CP"]', 'statuses = ["CP", "CIN"]', {"case"}),
    ("lincolnshire", "LINC-CS-CP", "every_days = 28", "every_days = 7", {"case"}),
    ("lincolnshire", "LINC-CS-ALLOC", "days = 28", "days = 3", {"case"}),
    ("lincolnshire", "LINC-CS-LAC", "every_days = 28", "every_days = 14", {"case"}),
    ("lincolnshire", "LINC-PS-CH", "every_days = 28", "every_days = 5", {"case", "worker"}),
    ("lincolnshire", "LINC-PO", "count = 2", "count = 3", {"worker"}),
    ("lincolnshire", "LINC-GS", "every_days = 42", "every_days = 3", {"team"}),
    ("bracknell-forest", "BFC-PS-MONTH", 'type = "calendar_month"', 'type = "interval", every_days = 9', {"case", "worker"}),
    ("bracknell-forest", "BFC-BOOK", "months = 3", "months = 1", {"worker"}),
    ("bracknell-forest", "BFC-REC", "calendar_days = 2", "calendar_days = 6", {"case"}),
    ("bracknell-forest", "BFC-BRIEF", "every_days = 7", "every_days = 2", {"team"}),
]  # fmt: skip


def _changed_pack(folder: Path, pack: str, rule: str, old: str, new: str) -> Path:
    text = (PACKS_DIR / f"{pack}.toml").read_text(encoding="utf-8")
    at = text.index(old, text.index(f'id = "{rule}"'))
    path = folder / f"{pack}-changed.toml"
    path.write_text(text[:at] + new + text[at + len(old) :], encoding="utf-8")
    return path


class Run:
    """A service on a database of its own, its day set by the test."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder, self.name, self.day = folder, name, FIRST
        self.service: Service | None = None

    def start(self, pack: str) -> Service:
        if self.service is not None:
            self.service.close()
        document = config_document(self.folder, "http://127.0.0.1:9/api")
        document["storage"]["database"] = str(self.folder / f"{self.name}.db")  # two stores side by side
        document["tenants"][0]["rule_pack"] = pack
        self.service = Service(
            parse_config(document, base_dir=self.folder, environ={}), today=lambda: self.day
        )
        return self.service

    def state(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        assert self.service is not None
        conn = self.service.db.conn
        return (
            [tuple(r) for r in conn.execute(
                "SELECT reference, status, due_date, assignee_id, explanation, form FROM obligations"
                " ORDER BY reference"
            )],
            [tuple(r) for r in conn.execute(
                "SELECT reference, item, action, payload, version FROM outbox ORDER BY reference"
            )],
            [tuple(r) for r in conn.execute(
                "SELECT owner, on_date, digest, reads FROM reevaluate_on ORDER BY owner"
            )],
        )  # fmt: skip


def _with_statuses(history: list[tuple[int, Event]]) -> list[tuple[int, Event]]:
    """Two cases on a Child Protection plan, one of them coming onto it mid-way, and one Looked After."""

    def status(n: int, day: int, case_id: str, code: str) -> tuple[int, Event]:
        on = FIRST + timedelta(days=day)
        return day, CaseStatusChanged(f"s{n}", datetime.combine(on, time(9), tzinfo=UTC), case_id, code, on)

    return [*history, status(1, 0, CASES[0], "CP"), status(2, 0, CASES[3], "LAC"), status(3, 6, CASES[2], "CP")]


def _compare(history: list[tuple[int, Event]], change: tuple[str, str, str, str, set[str]]) -> Counter[str]:
    """The history delivered day by day (the daily run each day) on two stores, then the pack changed three days
    later: one re-evaluates as the service does, the other everything. The subjects the first evaluated, by kind
    (and, under "reading", the cases whose stored rules read named the changed rule before the change)."""
    pack, rule, old, new, _ = change
    history = _with_statuses(history)
    evaluated: Counter[str] = Counter()
    real = processor_module.Evaluator.obligations

    def counted(self: processor_module.Evaluator, facts: Any, owner: str, today: date) -> Any:
        evaluated[owner.split(":", 1)[0]] += 1
        evaluated[owner] += 1
        return real(self, facts, owner, today)

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        changed = _changed_pack(folder, pack, rule, old, new)
        narrowed, full = Run(folder, "narrowed"), Run(folder, "full")
        for run in (narrowed, full):
            service = run.start(pack)
            assert service.reevaluate_if_rules_changed() == {}  # the first start records the fingerprint
            for day in range(DAYS + 1):
                run.day = FIRST + timedelta(days=day)
                for d, e in history:
                    if d == day:
                        service.inbox.accept("lincolnshire", "mosaic", e.event_id, e)
                service.processor.run_until_idle()
                service.reevaluate_everything(only_due=True)
            run.day = FIRST + timedelta(days=DAYS + 3)
            if run is narrowed:
                reading = [
                    owner for owner, read in service.db.conn.execute("SELECT owner, reads FROM reevaluate_on")
                    if read is not None and rule in read.split()
                ]  # fmt: skip
                evaluated["reading"] = len(reading)
                evaluated.update({f"read {owner}": 1 for owner in reading})
            service = run.start(str(changed))
            if run is full:
                with service.db.transaction() as conn:  # a fingerprint it cannot read: everything
                    conn.execute("UPDATE tenant_state SET fingerprint = 'unknown'")
                full.service.reevaluate_if_rules_changed()  # type: ignore[union-attr]
            else:
                with pytest.MonkeyPatch.context() as patch:
                    patch.setattr(processor_module.Evaluator, "obligations", counted)
                    assert "lincolnshire" in service.reevaluate_if_rules_changed()
        assert narrowed.state() == full.state(), change
        for run in (narrowed, full):
            run.service.close()  # type: ignore[union-attr]
    return evaluated


@pytest.mark.parametrize("change", CHANGES, ids=[c[1] for c in CHANGES])
def test_a_pack_change_leaves_the_ledger_and_outbox_of_a_full_re_evaluation(
    change: tuple[str, str, str, str, set[str]],
) -> None:
    evaluated = _compare(_fixed_history(), change)
    # Every subject of the kinds the change is read by; of the others only the due ones: no team is ever due
    # here (no member leaves), and a case only for an action's "(overdue)" mark.
    kinds = change[4]
    for kind in ("worker", "team"):
        if kind in kinds:
            assert evaluated[kind] > 0, kind
    if "team" not in kinds:
        assert evaluated["team"] == 0
    if "case" not in kinds:
        assert evaluated["case"] < 4
    # Every case the changed rule applied to is evaluated. For a change of only a status rule's schedule or
    # words, only those (two of the four cases) and a due one; for a change of who it applies to, or of a
    # personal supervision rule a case reads whether or not it applies, every case. (No case here has a booking,
    # so none read BFC-REC: a change of it evaluates at most a due case.)
    cases = {key for key in evaluated if key.startswith("case:")}
    assert {key[5:] for key in evaluated if key.startswith("read ")} <= cases
    if change[1] in ("LINC-CS-CP", "LINC-CS-LAC", "LINC-CS-ALLOC"):
        assert evaluated["reading"] > 0
    if change in (CHANGES[0], CHANGES[2], CHANGES[4]):
        assert len(cases) < len(CASES)
    if change is CHANGES[1] or change[1] in ("LINC-PS-CH", "BFC-PS-MONTH"):
        assert len(cases) == len(CASES)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories, change=st.sampled_from(CHANGES))
def test_any_history_and_pack_change_leave_the_state_of_a_full_re_evaluation(
    history: list[tuple[int, Event]], change: tuple[str, str, str, str, set[str]]
) -> None:
    _compare(history, change)


def _fingerprint(**parts: Any) -> str:
    base: dict[str, Any] = {
        "pack": "p1", "kinds": {"case": "c1", "worker": "w1", "team": "t1"},
        "closures": [], "tags": {}, "prefix": "linc", "engine": "e1",
    }  # fmt: skip
    return json.dumps(base | parts, sort_keys=True)


def test_the_kinds_changed_are_those_whose_digest_differs_and_anything_else_is_everything() -> None:
    before = _fingerprint()
    assert kinds_changed(
        before, _fingerprint(pack="p2", kinds={"case": "c2", "worker": "w1", "team": "t1"})
    ) == {"case"}
    both = {"case": "c2", "worker": "w2", "team": "t1"}
    assert kinds_changed(before, _fingerprint(pack="p2", kinds=both)) == {"case", "worker"}
    # Closure days, tags, prefix, the engine: every subject.
    assert kinds_changed(before, _fingerprint(closures=["2026-12-25"])) is None
    assert kinds_changed(before, _fingerprint(engine="e2", kinds=both)) is None
    # A pack with no digests, either side, or a fingerprint it cannot read: every subject.
    assert kinds_changed(before, _fingerprint(pack="p2", kinds=None)) is None
    assert kinds_changed("unknown", before) is None
    # The file changed, nothing any subject reads did (a comment): every subject, to be safe.
    assert kinds_changed(before, _fingerprint(pack="p2")) is None
    # A fingerprint stored before the digests, of the same pack and settings: nothing to re-evaluate.
    old = json.loads(before)
    del old["kinds"]
    assert kinds_changed(json.dumps(old), before) == frozenset()


def _tenant_fingerprint(folder: Path, pack: str) -> str:
    from connector.pipeline.rule_change import fingerprint

    document = config_document(folder, "http://127.0.0.1:9/api")
    document["tenants"][0]["rule_pack"] = pack
    return fingerprint(parse_config(document, base_dir=folder, environ={}).tenants["lincolnshire"])


@pytest.mark.parametrize(
    ("change", "narrowed"),
    [
        (CHANGES[0], {"LINC-CS-CP"}),  # its words
        (CHANGES[2], {"LINC-CS-CP"}),  # its schedule
        (CHANGES[3], {"LINC-CS-ALLOC"}),
        (CHANGES[10], {"BFC-REC"}),  # a record rule
        (CHANGES[1], None),  # who it applies to
        (CHANGES[5], None),  # a personal supervision rule, which a case reads through its clock
        (CHANGES[8], None),
    ],
    ids=["words", "schedule", "allocation", "record", "applies_to", "personal", "personal-bfc"],
)
def test_a_change_of_only_case_timing_rules_but_not_whom_they_apply_to_narrows_the_cases(
    tmp_path: Path, change: tuple[str, str, str, str, set[str]], narrowed: set[str] | None
) -> None:
    pack, rule, old, new, _ = change
    before = _tenant_fingerprint(tmp_path, pack)
    after = _tenant_fingerprint(tmp_path, str(_changed_pack(tmp_path, pack, rule, old, new)))
    kinds = kinds_changed(before, after)
    assert kinds is not None and "case" in kinds
    assert case_rules_changed(before, after) == narrowed
    # Two changes at once narrow to both; anything else in the fingerprint changed, or one without the split
    # (stored before it), narrows nothing.
    both = json.loads(after)
    other = next(r for r in sorted(both["case_rules"]["rules"]) if r != rule)
    both["case_rules"]["rules"][other] = "changed too"
    if narrowed is not None:
        assert case_rules_changed(before, json.dumps(both)) == {*narrowed, other}
    old_style = json.loads(before)
    del old_style["case_rules"]
    assert case_rules_changed(json.dumps(old_style), after) is None
    assert case_rules_changed("unknown", after) is None
    # Adding the split to the fingerprint is not itself a change of the rules.
    assert kinds_changed(json.dumps(old_style), before) == frozenset()
