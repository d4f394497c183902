"""A whole re-evaluation split across processes leaves exactly the ledger, outbox and days of one process doing it
all; a child that dies has its part done by the parent; the parts and their number are as configured."""

from __future__ import annotations

import logging
import multiprocessing
import os
import tempfile
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.connector.pipeline.test_daily_narrowed import DAYS, FIRST, _fixed_history
from tests.connector.pipeline.test_rule_change import CHANGES, Run, _changed_pack

from connector.config import Config
from connector.pipeline import reevaluation_processes
from connector.pipeline.reevaluation_processes import processes_for, split


def _pack_change(processes: int, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    """The fixed history delivered day by day, then a pack change that cases and workers read, re-evaluated in
    `processes` processes (every owner worth a process of its own): the counts and the state it leaves."""
    pack, rule, old, new, _ = CHANGES[2]  # LINC-PS-CH
    monkeypatch.setattr(reevaluation_processes, "PART_AT_LEAST", 1)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        changed = _changed_pack(folder, pack, rule, old, new)
        run = Run(folder, f"in-{processes}")
        service = run.start(pack)
        service.reevaluate_if_rules_changed()
        for day in range(DAYS + 1):
            run.day = FIRST + timedelta(days=day)
            for d, e in _fixed_history():
                if d == day:
                    service.inbox.accept("lincolnshire", "mosaic", e.event_id, e)
            service.processor.run_until_idle()
        run.day = FIRST + timedelta(days=DAYS + 3)
        service = run.start(str(changed))
        service.config = service.processor.config = _in(service.config, processes)
        counts = service.reevaluate_if_rules_changed()["lincolnshire"]
        state = run.state()
        service.close()
    return (counts, *state)


def _in(config: Config, processes: int) -> Config:
    return replace(config, service=replace(config.service, reevaluation_processes=processes))


def test_a_pack_change_in_three_processes_leaves_the_state_of_one(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    one = _pack_change(1, monkeypatch)
    with caplog.at_level(logging.INFO, logger=reevaluation_processes.__name__):
        three = _pack_change(3, monkeypatch)
    assert "in 3 processes" in caplog.text
    assert one[0].moved + one[0].created > 0  # the change moved something: not a comparison of nothing
    assert three == one


def test_a_child_that_dies_has_its_part_re_evaluated_by_the_parent(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    one = _pack_change(1, monkeypatch)
    # Each child runs os.abort instead (given the child's arguments, it fails at once and sends nothing).
    monkeypatch.setattr(reevaluation_processes, "child_main", os.abort)
    with caplog.at_level(logging.INFO, logger=reevaluation_processes.__name__):
        dead = _pack_change(2, monkeypatch)
    assert "ended (exit code 1) before its part was done" in caplog.text
    assert dead == one


def test_a_child_whose_parent_ended_before_it_started_does_not_start(tmp_path: Path) -> None:
    spawn = multiprocessing.get_context("spawn")
    mine, theirs = spawn.Pipe(duplex=False)
    locks = (spawn.Lock(), spawn.Lock())
    not_its_parent = os.getpid() + 1_000_000  # no process has this id: as if its parent had ended
    config = reevaluation_processes._pickled(Config(database=tmp_path / "never-opened.db", tenants={}))
    args = (not_its_parent, config, tmp_path / "never-opened.db", "t", "mosaic", ["case:1"], date(2027, 1, 4), set())
    child = spawn.Process(target=reevaluation_processes.child_main, args=(*args, locks, theirs))
    child.start()
    theirs.close()
    child.join(60)
    assert child.exitcode == 1  # SystemExit with its reason
    with pytest.raises(EOFError):  # nothing sent
        mine.recv()
    assert not (tmp_path / "never-opened.db").exists()


def test_the_owners_are_cut_into_contiguous_parts_of_nearly_one_size() -> None:
    owners = [f"case:{n}" for n in range(11)]
    parts = split(owners, 3)
    assert [len(p) for p in parts] == [4, 4, 3]
    assert [o for p in parts for o in p] == owners
    assert split(owners[:2], 3) == [owners[:1], owners[1:2]]
    assert split([], 2) == [[]]


def test_processes_are_as_configured_one_per_core_by_default_and_each_worth_starting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = Config(database=Path("x.db"), tenants={})
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert processes_for(config, 1_000_000) == 4  # one per core, at most four
    assert processes_for(_in(config, 6), 1_000_000) == 6
    assert processes_for(_in(config, 6), 25_000) == 2  # 10,000 owners at least for each
    assert processes_for(config, 9_999) == 1
    assert processes_for(_in(config, 1), 1_000_000) == 1
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert processes_for(config, 1_000_000) == 1
