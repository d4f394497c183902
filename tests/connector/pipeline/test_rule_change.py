"""A pack change re-evaluates whole only the kinds of subject whose rules it changed (and of the others those the
day made due), and leaves exactly the obligations and outbox writes of re-evaluating everything; anything else
than one kind's rules re-evaluates everything."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.connector.pipeline.test_daily_narrowed import DAYS, FIRST, _fixed_history, histories
from tests.support.harness import config_document

from connector.config.load import parse_config
from connector.pipeline import processor as processor_module
from connector.pipeline.rule_change import kinds_changed
from connector.service import Service
from rules.events import Event
from rules.pack import PACKS_DIR

# (pack, the rule's id, what it said, what it says now, the kinds a change of it is read by)
CHANGES = [
    ("lincolnshire", "LINC-CS-CP", "every_days = 28", "every_days = 7", {"case"}),
    ("lincolnshire", "LINC-CS-ALLOC", "days = 28", "days = 3", {"case"}),
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
            [tuple(r) for r in conn.execute("SELECT owner, on_date, digest FROM reevaluate_on ORDER BY owner")],
        )  # fmt: skip


def _compare(history: list[tuple[int, Event]], change: tuple[str, str, str, str, set[str]]) -> Counter[str]:
    """The history delivered day by day (the daily run each day) on two stores, then the pack changed three days
    later: one re-evaluates as the service does, the other everything. The subjects the first evaluated, by kind."""
    pack, rule, old, new, _ = change
    evaluated: Counter[str] = Counter()
    real = processor_module.Evaluator.obligations

    def counted(self: processor_module.Evaluator, facts: Any, owner: str, today: date) -> Any:
        evaluated[owner.split(":", 1)[0]] += 1
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
    for kind in ("case", "worker", "team"):
        if kind in kinds:
            assert evaluated[kind] > 0, kind
    if "team" not in kinds:
        assert evaluated["team"] == 0
    if "case" not in kinds:
        assert evaluated["case"] < 4


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
