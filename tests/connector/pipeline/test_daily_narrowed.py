"""The daily run re-evaluates only the subjects the day alone may have changed, and the obligations it leaves
are those of re-evaluating everything, day after day: across 1 April, a booking crossing the three-month
horizon, an agenda's meeting day passing, a worker's end date and an agreed action's due date."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.harness import config_document

from connector.config.load import parse_config
from connector.pipeline import processor as processor_module
from connector.pipeline.processor import Processor
from connector.store.database import Database
from rules.events import (
    Action,
    CaseAllocated,
    Event,
    Relationship,
    SupervisionBooked,
    SupervisionRecorded,
    WorkerUpdated,
)

FIRST = date(2027, 3, 22)  # 1 April falls on day 10
DAYS = 16
WORKERS = ("5521", "5522", "5523")
CASES = ("100234", "100235", "100236", "100237")


def _at(day: int, n: int) -> datetime:
    return datetime.combine(FIRST + timedelta(days=day), time(9), tzinfo=UTC) + timedelta(minutes=n)


def _worker(n: int, day: int, worker_id: str, end_in: int | None) -> WorkerUpdated:
    return WorkerUpdated(
        f"w{n}",
        _at(day, n),
        worker_id=worker_id,
        team_id="310",
        supervisor_id="5500",
        job_role="SOCIAL_WORKER",
        case_holding=True,
        supervises_case_holders=False,
        frontline=True,
        asye=False,
        employment="permanent",
        start_date=date(2026, 1, 5),
        end_date=None if end_in is None else FIRST + timedelta(days=end_in),
    )


def _allocated(n: int, day: int, case_id: str, worker_id: str) -> CaseAllocated:
    at = _at(day, n)
    return CaseAllocated(f"e{n}", at, case_id, worker_id, "310", Relationship.ALLOCATED_WORKER, at.date())


def _case_supervision(n: int, day: int, case_id: str, worker_id: str, due: date) -> SupervisionRecorded:
    """A case supervision whose agreed actions fall due on `due` and two days later."""
    at = _at(day, n)
    return SupervisionRecorded(
        f"e{n}", at, "case", worker_id, "5500", "310", (case_id,), at.date(), at.date(), False,
        actions=(Action(worker_id, due), Action(None, due + timedelta(days=2))),
    )  # fmt: skip


def _booked(n: int, day: int, worker_id: str, meets_on: date) -> SupervisionBooked:
    starts = datetime.combine(meets_on, time(10), tzinfo=UTC)
    return SupervisionBooked(
        f"e{n}", _at(day, n), f"b{n}", "personal_supervision", worker_id, "5500", "310", (), starts, 60, "booked"
    )  # fmt: skip


def _held(n: int, day: int, worker_id: str, kind: str) -> SupervisionRecorded:
    at = _at(day, n)
    return SupervisionRecorded(f"e{n}", at, kind, worker_id, "5500", "310", (), at.date(), at.date(), False)


def _event(n: int, choice: int, day: int, offset: int) -> Event:
    """The n-th event, arriving on `day`; `offset` (0 to DAYS) places the date it names within the days run."""
    kind, w, c = choice % 6, WORKERS[(choice // 6) % 3], CASES[(choice // 18) % 4]
    on = FIRST + timedelta(days=offset)
    if kind == 0:
        return _allocated(n, day, c, w)
    if kind == 1:
        return _case_supervision(n, day, c, w, on)
    if kind == 2:
        # A meeting within the days run (an agenda), or near three months ahead (the booking horizon).
        return _booked(n, day, w, on if n % 2 else on + timedelta(days=88))
    if kind == 3:
        return _held(n, day, w, ("personal", "practice_observation")[n % 2])
    return _worker(n, day, w, offset if kind == 4 and n % 2 == 0 else None)


def _history(events: list[tuple[int, Event]]) -> list[tuple[int, Event]]:
    """Each worker known, and each case allocated, on day 0; then the generated events on their days."""
    found: list[tuple[int, Event]] = [(0, _worker(100 + i, 0, w, None)) for i, w in enumerate(WORKERS)]
    found += [(0, _allocated(200 + i, 0, c, WORKERS[i % 3])) for i, c in enumerate(CASES)]
    return found + events


def _generated(steps: list[tuple[int, int, int]]) -> list[tuple[int, Event]]:
    return _history([(day, _event(n, choice, day, offset)) for n, (choice, day, offset) in enumerate(steps)])


histories = st.lists(
    st.tuples(st.integers(0, 71), st.integers(0, DAYS - 1), st.integers(0, DAYS)), max_size=25
).map(_generated)


class Run:
    """One database and processor whose day is set by the test."""

    def __init__(self, folder: Path, name: str, pack: str) -> None:
        document = config_document(folder, "http://127.0.0.1:9/api")
        document["tenants"][0]["rule_pack"] = pack
        self.config = parse_config(document, base_dir=folder, environ={})
        self.db = Database(folder / f"{name}.db")
        self.db.migrate()
        self.day = FIRST
        self.processor = Processor(self.db, self.config, lambda: self.day)

    def deliver(self, events: list[Event]) -> None:
        for e in events:
            self.processor.inbox.accept("lincolnshire", "mosaic", e.event_id, e)
        self.processor.run_until_idle()

    def open_obligations(self) -> list[tuple[Any, ...]]:
        return [
            tuple(row)
            for row in self.db.conn.execute(
                "SELECT reference, due_date, assignee_id, explanation, form FROM obligations"
                " WHERE status = 'open' ORDER BY reference"
            )
        ]

    def writes(self) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM outbox") or 0)


def _compare(pack: str, history: list[tuple[int, Event]]) -> tuple[int, int]:
    """Run the days on both; the subjects each evaluated in the daily runs (narrowed, full)."""
    evaluated = {"narrowed": 0, "full": 0}
    real = processor_module.Evaluator.obligations
    current = ["full"]

    def counted(self: processor_module.Evaluator, facts: Any, owner: str, today: date) -> Any:
        evaluated[current[0]] += 1
        return real(self, facts, owner, today)

    with tempfile.TemporaryDirectory() as name, pytest.MonkeyPatch.context() as patch:
        folder = Path(name)
        narrowed, full = Run(folder, "narrowed", pack), Run(folder, "full", pack)
        for day in range(DAYS + 1):
            arriving = [e for d, e in history if d == day]
            for run in (narrowed, full):
                run.day = FIRST + timedelta(days=day)
                run.deliver(arriving)
            patch.setattr(processor_module.Evaluator, "obligations", counted)
            current[0] = "narrowed"
            narrowed.processor.reevaluate_all("lincolnshire", "mosaic", only_due=True)
            current[0] = "full"
            full.processor.reevaluate_all("lincolnshire", "mosaic")
            patch.undo()
            assert narrowed.open_obligations() == full.open_obligations(), f"day {run.day}"
            assert narrowed.writes() == full.writes(), f"day {run.day}"
        narrowed.db.close()
        full.db.close()
    return evaluated["narrowed"], evaluated["full"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories, pack=st.sampled_from(["lincolnshire", "bracknell-forest"]))
def test_the_narrowed_daily_run_leaves_the_obligations_of_a_full_one_every_day(
    history: list[tuple[int, Event]], pack: str
) -> None:
    _compare(pack, history)


def _fixed_history() -> list[tuple[int, Event]]:
    """A history with every date-driven change inside the days run."""
    return _history(
        [
            (1, _case_supervision(1, 1, "100235", "5522", FIRST + timedelta(days=3))),  # overdue on days 4, 6
            (2, _booked(2, 2, "5523", FIRST + timedelta(days=97))),  # short of the horizon from day 6
            (2, _booked(3, 2, "5521", FIRST + timedelta(days=6))),  # the agenda goes after the meeting
            (4, _worker(4, 4, "5522", 9)),  # 5522 ends on day 9
            (5, _held(5, 5, "5521", "practice_observation")),  # counts again from 1 April (day 10)
        ]
    )


@pytest.mark.parametrize("pack", ["lincolnshire", "bracknell-forest"])
def test_each_date_driven_change_is_caught_and_most_subjects_are_left_alone(pack: str) -> None:
    narrowed, full = _compare(pack, _fixed_history())
    # The full run evaluates each of about nine subjects on each of 17 days; the narrowed one, a few a day.
    assert full > 140
    assert narrowed < full / 2


def test_the_full_run_of_the_fixed_history_moves_on_the_dates_it_is_built_around() -> None:
    """The fixed history would prove nothing if its dates changed nothing: each pack's obligations change
    on the days of evaluation alone."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        seen: dict[str, set[tuple[Any, ...]]] = {}
        for pack in ("lincolnshire", "bracknell-forest"):
            run = Run(folder, pack, pack)
            history = _fixed_history()
            states = set()
            for day in range(DAYS + 1):
                run.day = FIRST + timedelta(days=day)
                run.deliver([e for d, e in history if d == day])
                if day >= 2:
                    run.processor.reevaluate_all("lincolnshire", "mosaic")
                    states.add(tuple(run.open_obligations()))
            seen[pack] = states
            run.db.close()
        assert len(seen["lincolnshire"]) > 2 and len(seen["bracknell-forest"]) > 2
