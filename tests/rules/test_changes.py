"""The days on which a subject's obligations can change with the day alone: every schedule that reads the day
says so, and no day whose evaluation differs from the day before's is missed (a day named may change nothing)."""

from __future__ import annotations

import inspect
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.calendar import WorkingCalendar
from rules.engine import Engine
from rules.model import Booking, Session, WorkerFacts
from rules.pack import load_pack
from rules.schedules import registry

FIRST = date(2027, 3, 20)
DAYS = 20


def test_every_schedule_that_reads_the_day_of_evaluation_says_so() -> None:
    for cls in registry.SCHEDULES.values():
        reads = "as_of" in inspect.getsource(cls)
        assert cls.depends_on_date == reads, cls.type


def test_each_pack_names_its_rules_that_depend_on_the_date() -> None:
    assert [r.id for r in load_pack("lincolnshire").date_rules()] == ["LINC-PO"]
    assert [r.id for r in load_pack("bracknell-forest").date_rules()] == ["BFC-BOOK"]


def _worker(bookings: list[tuple[int, bool]], end_in: int | None, observed: int | None) -> WorkerFacts:
    return WorkerFacts(
        worker_id="5521",
        known_since=date(2026, 11, 1),
        team_id="310",
        supervisor_id="5500",
        supervisor_since=None,
        job_role="SOCIAL_WORKER",
        case_holding=True,
        supervises_case_holders=False,
        frontline=True,
        asye=False,
        employment="permanent",
        start_date=date(2021, 9, 1),
        end_date=None if end_in is None else FIRST + timedelta(days=end_in),
        sessions=()
        if observed is None
        else (
            Session(
                "s1",
                "practice_observation",
                "5521",
                "5500",
                "310",
                (),
                FIRST - timedelta(days=observed),
                FIRST - timedelta(days=observed),
            ),
        ),
        bookings=tuple(
            Booking(
                f"b{n}",
                "personal_supervision",
                "5521",
                "5500",
                "310",
                (),
                datetime.combine(FIRST + timedelta(days=day), time(10), tzinfo=UTC),
                60,
                cancelled,
            )
            for n, (day, cancelled) in enumerate(bookings)
        ),
    )


def _seen(engine: Engine, worker: WorkerFacts, day: date) -> list[tuple[object, ...]]:
    return [(o.key, o.due_date, o.assignee_id, o.explanation, o.form) for o in engine.for_worker(worker, day)]


@settings(max_examples=60, deadline=None)
@given(
    pack=st.sampled_from(["lincolnshire", "bracknell-forest"]),
    bookings=st.lists(st.tuples(st.integers(-5, 115), st.booleans()), max_size=4),
    end_in=st.none() | st.integers(0, DAYS),
    observed=st.none() | st.integers(1, 200),
)
def test_no_day_that_changes_a_workers_obligations_is_missed(
    pack: str, bookings: list[tuple[int, bool]], end_in: int | None, observed: int | None
) -> None:
    engine = Engine(load_pack(pack), WorkingCalendar())
    worker = _worker(bookings, end_in, observed)
    evaluated = FIRST
    before = _seen(engine, worker, evaluated)
    for n in range(1, DAYS + 1):
        day = FIRST + timedelta(days=n)
        now = _seen(engine, worker, day)
        if now != before:
            named = engine.worker_changes(worker, evaluated)
            assert named is not None and named <= day, (day, named)
        # The daily run evaluates on the day named (or never), so ask from there on.
        named = engine.worker_changes(worker, evaluated)
        if named is not None and named <= day:
            evaluated, before = day, now
