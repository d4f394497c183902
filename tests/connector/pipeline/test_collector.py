"""Fewer garbage collections while re-evaluating: raised for the re-evaluation alone, and put back after."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from tests.connector.pipeline.one_case import ALLOCATED
from tests.support.fake_mosaic import FakeMosaic
from tests.support.harness import make_config, start_connector

from connector.pipeline import scheduler
from connector.pipeline.collector import BULK_OLDER, BULK_THRESHOLD, fewer_collections
from connector.pipeline.evaluator import Evaluator, _Facts
from rules.model import Obligation


@pytest.fixture
def default_threshold() -> Iterator[tuple[int, ...]]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*before)


def test_the_threshold_is_raised_inside_and_put_back_after_even_on_an_error(
    default_threshold: tuple[int, ...],
) -> None:
    with fewer_collections():
        assert gc.get_threshold() == (BULK_THRESHOLD, BULK_OLDER, BULK_OLDER)
    assert gc.get_threshold() == default_threshold
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("a slice failed")
    assert gc.get_threshold() == default_threshold
    gc.set_threshold(100_000, 10, 5_000)
    with fewer_collections():
        assert gc.get_threshold() == (100_000, BULK_OLDER, 5_000)  # never lowered


def test_a_whole_re_evaluation_runs_with_fewer_collections(
    tmp_path: Path,
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    default_threshold: tuple[int, ...],
) -> None:
    mosaic = FakeMosaic(httpserver).install()
    running = start_connector(make_config(tmp_path, mosaic.base_url))
    try:
        assert running.post(ALLOCATED).status_code == 202
        running.service.drain()
        seen: list[int] = []
        evaluate = Evaluator.evaluate

        def watched(
            self: Evaluator, facts: _Facts, owner: str, today: date
        ) -> tuple[list[Obligation], date | None]:
            seen.append(gc.get_threshold()[0])
            return evaluate(self, facts, owner, today)

        monkeypatch.setattr(Evaluator, "evaluate", watched)
        running.service.processor.reevaluate_all("lincolnshire", "mosaic")
        assert seen and set(seen) == {BULK_THRESHOLD}
        assert gc.get_threshold() == default_threshold
    finally:
        running.close()


def test_the_daily_tick_runs_with_fewer_collections(
    tmp_path: Path,
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    default_threshold: tuple[int, ...],
) -> None:
    mosaic = FakeMosaic(httpserver).install()
    running = start_connector(make_config(tmp_path, mosaic.base_url))
    try:
        assert running.post(ALLOCATED).status_code == 202
        running.service.drain()
        seen: list[tuple[int, ...]] = []
        decide = scheduler.Scheduler._decide

        def watched(self: scheduler.Scheduler, *args: Any) -> Any:
            seen.append(gc.get_threshold())
            return decide(self, *args)

        monkeypatch.setattr(scheduler.Scheduler, "_decide", watched)
        running.service.tick(date(2026, 11, 23))
        assert seen and set(seen) == {(BULK_THRESHOLD, BULK_OLDER, BULK_OLDER)}
        assert gc.get_threshold() == default_threshold
    finally:
        running.close()
