"""A worker's personal supervision, kept by the engine per worker's facts and day."""

from __future__ import annotations

import dataclasses
from datetime import date

from tests.rules.test_engine import case, session, worker

from rules.calendar import WorkingCalendar
from rules.engine import Engine
from rules.pack import load_pack


def test_a_workers_new_facts_or_another_day_are_worked_out_again() -> None:
    # BFC-CS-EVERY: a child's case supervision is due with the worker's personal supervision, kept per worker.
    engine = Engine(load_pack("bracknell-forest"), WorkingCalendar())
    before = worker(sessions=(session(date(2026, 10, 1), kind="personal"),))
    after = dataclasses.replace(
        before, sessions=(*before.sessions, session(date(2026, 11, 3), kind="personal"))
    )
    child = case(allocations=(dataclasses.replace(case().allocations[0], start_date=date(2026, 10, 15)),))
    for facts, day in (
        (before, date(2026, 11, 22)),
        (after, date(2026, 11, 22)),
        (after, date(2026, 12, 20)),
    ):
        fresh = Engine(load_pack("bracknell-forest"), WorkingCalendar())
        kept = [(o.key, o.due_date, o.counted_from) for o in engine.for_case(child, {"5521": facts}, day)]
        assert kept == [
            (o.key, o.due_date, o.counted_from) for o in fresh.for_case(child, {"5521": facts}, day)
        ]
        assert kept  # something is owed each time
    assert engine.for_case(child, {"5521": before}, date(2026, 11, 22)) != engine.for_case(
        child, {"5521": after}, date(2026, 11, 22)
    )
