"""Met or no longer owed: a session of the holder, of a kind that counts, held after the cycle's start meets it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from connector.pipeline.met import fold_checks, met_by_sessions
from rules.events import CaseAllocated, Relationship, SupervisionRecorded
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


def test_a_folds_checks_read_its_sessions_only_when_a_row_is_asked_about() -> None:
    read: list[str] = []

    def sessions() -> Iterator[Session]:
        read.append("read")
        yield Session("s1", "agreement", "5521", "5500", "310", (), date(2026, 11, 10), date(2026, 11, 10))

    met, found = fold_checks(sessions(), (), counting)
    assert read == []  # a re-evaluation whose rows all stay desired never sorts the fold's sessions
    assert met(row())  # type: ignore[arg-type]
    held = found(row())  # type: ignore[arg-type]
    assert held is not None and held.held_on == date(2026, 11, 10)
    assert read == ["read"]  # made once, for both questions
