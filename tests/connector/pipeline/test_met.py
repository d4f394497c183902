"""Met or no longer owed: a session of the holder, of a kind that counts, held after the cycle's start meets it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, overload

from connector.pipeline.met import Held, fold_checks, met_by_sessions
from rules.events import CaseAllocated, Relationship, SupervisionRecorded
from rules.explain import HELD
from rules.model import Session
from rules.pack import COUNTING_SESSIONS

AT = datetime(2026, 11, 20, tzinfo=UTC)


def row(**overrides: Any) -> dict[str, Any]:
    base = {
        "kind": "supervision_agreement",
        "scope": "-",
        "holder": "5521",
        "counted_from_fact": "joining",
        "counted_from_date": "2026-11-02",
    }
    return {**base, **overrides}


def session(kind: str, held_on: date, worker_id: str = "5521") -> SupervisionRecorded:
    return SupervisionRecorded(
        f"evt_{kind}_{held_on}", AT, kind, worker_id, "5500", "310", (), held_on, held_on, False
    )


def counting(kind: str) -> frozenset[str]:
    return COUNTING_SESSIONS.get(kind, frozenset())


def test_an_agreement_made_after_joining_meets_the_agreement() -> None:
    met = met_by_sessions([session("agreement", date(2026, 11, 10))], counting)
    assert met(row())  # type: ignore[arg-type]


def test_other_kinds_other_workers_and_earlier_sessions_do_not() -> None:
    met = met_by_sessions(
        [
            session("personal", date(2026, 11, 10)),
            session("agreement", date(2026, 11, 10), worker_id="6001"),
            session("agreement", date(2026, 10, 1)),
        ],
        counting,
    )
    assert not met(row())  # type: ignore[arg-type]


def test_the_session_a_cycle_counted_from_started_it_rather_than_met_it() -> None:
    met = met_by_sessions([session("personal", date(2026, 11, 2))], counting)
    started = row(kind="personal_supervision", counted_from_fact="personal supervision held")
    assert not met(started)  # type: ignore[arg-type]
    assert met(row(kind="personal_supervision", counted_from_fact="joining"))  # type: ignore[arg-type]


def test_no_sessions_never_meets() -> None:
    allocation = CaseAllocated(
        "evt_a", AT, "100234", "5521", "310", Relationship.ALLOCATED_WORKER, date(2026, 11, 2)
    )
    assert not met_by_sessions([allocation], counting)(row())  # type: ignore[arg-type]


class _Counted(Sequence[Session]):
    """Sessions in held order that count how many of them are looked at."""

    def __init__(self, sessions: list[Session]) -> None:
        self.sessions = sessions
        self.looked_at = 0

    def __len__(self) -> int:
        return len(self.sessions)

    @overload
    def __getitem__(self, at: int) -> Session: ...
    @overload
    def __getitem__(self, at: slice) -> Sequence[Session]: ...
    def __getitem__(self, at: int | slice) -> Session | Sequence[Session]:
        self.looked_at += 1
        return self.sessions[at]


def test_the_session_that_met_a_cycle_is_found_by_halving_not_by_a_pass_over_the_history() -> None:
    start = date(2000, 1, 3)
    history = _Counted(
        [
            Session(f"s{n}", "personal", "5521", "5500", "310", (), start + timedelta(days=n), start, False)
            for n in range(5000)
        ]
    )
    met, found = fold_checks(history, [], counting)
    last = start + timedelta(days=4998)
    cycle = row(kind="personal_supervision", counted_from_fact=HELD["personal"], counted_from_date=str(last))
    assert met(cycle)
    assert found(cycle) == Held("personal", "5521", start + timedelta(days=4999), start, "5500")
    assert history.looked_at < 40


def test_a_folds_checks_look_at_no_session_until_a_row_is_asked_about() -> None:
    history = _Counted(
        [Session("s1", "agreement", "5521", "5500", "310", (), date(2026, 11, 10), date(2026, 11, 10))]
    )
    met, found = fold_checks(history, (), counting)
    assert history.looked_at == 0  # a re-evaluation whose rows all stay desired never looks at the sessions
    assert met(row())  # type: ignore[arg-type]
    held = found(row())  # type: ignore[arg-type]
    assert held is not None and held.held_on == date(2026, 11, 10)
