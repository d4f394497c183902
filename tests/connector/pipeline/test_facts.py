"""The fold from domain events to facts: any delivery order and any duplicates give the same facts."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime

from connector.pipeline.facts import fold_case, fold_team, fold_worker
from rules.events import (
    Action,
    CaseAllocated,
    CaseClosed,
    CaseDeallocated,
    CaseStatusChanged,
    CaseTransferred,
    Event,
    Relationship,
    ShiftWorked,
    SupervisionBooked,
    SupervisionRecorded,
    WorkerUpdated,
)
from rules.model import AgreedAction, CaseAllocation, StatusSpell


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def allocated(
    eid: str, when: str, worker: str = "5521", rel: str = "ALLWKR", start: str = "2026-11-02"
) -> Event:
    return CaseAllocated(eid, at(when), "100234", worker, "310", Relationship(rel), date.fromisoformat(start))


def status(eid: str, when: str, code: str, start: str, **flags: bool) -> Event:
    return CaseStatusChanged(
        eid,
        at(when),
        "100234",
        code,
        date.fromisoformat(start),
        flags.get("permanency_plan_agreed"),
        flags.get("fsm"),
    )


def recorded(eid: str, when: str, held: str, kind: str = "case", worker: str = "5521") -> SupervisionRecorded:
    return SupervisionRecorded(
        eid,
        at(when),
        kind=kind,
        worker_id=worker,
        supervisor_id="5500",
        team_id="310",
        case_ids_discussed=("100234",) if kind != "personal" else (),
        held_on=date.fromisoformat(held),
        recorded_on=at(when).date(),
        significant=False,
        actions=(Action("5521", date(2026, 12, 5)),),
    )


def worker_updated(eid: str, when: str, supervisor: str | None = "5500", start: str = "2026-10-01") -> Event:
    return WorkerUpdated(
        eid,
        at(when),
        worker_id="5521",
        team_id="310",
        supervisor_id=supervisor,
        job_role="SOCIAL_WORKER",
        case_holding=True,
        supervises_case_holders=False,
        frontline=True,
        asye=False,
        employment="permanent",
        start_date=date.fromisoformat(start),
    )


def booked(eid: str, when: str, booking: str, state: str = "booked") -> Event:
    return SupervisionBooked(
        eid,
        at(when),
        booking_id=booking,
        kind="personal_supervision",
        worker_id="5521",
        supervisor_id="5500",
        team_id="310",
        case_ids_discussed=("100234",),
        starts_at=at("2026-12-01T10:00:00"),
        duration_minutes=60,
        status=state,
    )


CASE_HISTORY: list[Event] = [
    allocated("e1", "2026-11-02T09:30:00"),
    status("e2", "2026-11-03T10:00:00", "CP", "2026-11-03"),
    recorded("e3", "2026-11-21T16:00:00", "2026-11-20"),
    CaseTransferred(
        "e4",
        at("2026-12-01T09:00:00"),
        "100234",
        "5521",
        "5522",
        "311",
        Relationship.ALLOCATED_WORKER,
        date(2026, 12, 1),
    ),
    allocated("e5", "2026-12-02T09:00:00", worker="5523", rel="INVWKR", start="2026-12-02"),
]


def test_the_case_as_the_events_tell_it() -> None:
    case = fold_case("100234", CASE_HISTORY)
    assert case is not None
    assert case.known_since == date(2026, 11, 2)
    assert case.status == StatusSpell("CP", date(2026, 11, 3))
    assert case.allocations == (
        CaseAllocation("5522", "311", "ALLWKR", date(2026, 12, 1), transferred=True),
        CaseAllocation("5523", "310", "INVWKR", date(2026, 12, 2)),
    )
    [session] = case.sessions
    assert (session.session_id, session.held_on, session.recorded_on) == (
        "e3",
        date(2026, 11, 20),
        date(2026, 11, 21),
    )
    assert session.actions == (AgreedAction("5521", date(2026, 12, 5)),)
    assert case.closed_on is None


def test_every_delivery_order_and_duplicates_give_the_same_case() -> None:
    expected = fold_case("100234", CASE_HISTORY)
    for order in itertools.permutations(CASE_HISTORY):
        assert fold_case("100234", list(order) + list(order[:2])) == expected


def test_a_case_no_event_mentions_is_none() -> None:
    assert fold_case("999", CASE_HISTORY) is None


def test_the_status_that_happened_last_wins_whatever_arrived_last() -> None:
    events = [
        allocated("a", "2026-09-01T09:00:00"),
        status("late", "2026-10-01T09:00:00", "LAC", "2026-10-01", permanency_plan_agreed=True),
        status("early", "2026-09-01T09:00:00", "CP", "2026-09-01"),
    ]
    case = fold_case("100234", events)
    assert case is not None and case.status == StatusSpell(
        "LAC", date(2026, 10, 1), permanency_plan_agreed=True
    )


def test_a_status_sent_again_keeps_its_start_and_flags_left_out_are_kept() -> None:
    events = [
        allocated("a", "2026-09-01T09:00:00"),
        status("s1", "2026-09-02T09:00:00", "LAC", "2026-09-02", fsm=True),
        status("s2", "2026-10-20T09:00:00", "LAC", "2026-10-20", permanency_plan_agreed=True),
    ]
    case = fold_case("100234", events)
    assert case is not None
    assert case.status == StatusSpell("LAC", date(2026, 9, 2), permanency_plan_agreed=True, fsm=True)
    # A new status starts afresh: a permanency plan belongs to Looked After only.
    case = fold_case("100234", [*events, status("s3", "2026-11-01T09:00:00", "CP", "2026-11-01")])
    assert case is not None and case.status == StatusSpell("CP", date(2026, 11, 1), fsm=True)


def test_closure_and_deallocation_end_allocations_in_the_order_they_happened() -> None:
    events = [
        allocated("a", "2026-09-01T09:00:00"),
        allocated("b", "2026-09-01T09:05:00", worker="5523", rel="INVWKR"),
        CaseDeallocated("c", at("2026-09-10T09:00:00"), "100234", "5523", date(2026, 9, 10)),
    ]
    case = fold_case("100234", events)
    assert case is not None and [a.worker_id for a in case.allocations] == ["5521"]
    closed = fold_case(
        "100234", [*events, CaseClosed("d", at("2026-09-20T09:00:00"), "100234", date(2026, 9, 20))]
    )
    assert closed is not None and closed.closed_on == date(2026, 9, 20) and closed.allocations == ()
    # A re-allocation after the closure reopens the case.
    reopened = fold_case(
        "100234",
        [
            *events,
            CaseClosed("d", at("2026-09-20T09:00:00"), "100234", date(2026, 9, 20)),
            allocated("e", "2026-10-01T09:00:00", start="2026-10-01"),
        ],
    )
    assert reopened is not None and reopened.closed_on is None and len(reopened.allocations) == 1


def test_bookings_keep_their_latest_state() -> None:
    events = [
        booked("b1", "2026-11-01T09:00:00", "77"),
        booked("b2", "2026-11-05T09:00:00", "77", "cancelled"),
    ]
    case = fold_case("100234", events)
    worker = fold_worker("5521", [*events, worker_updated("w", "2026-10-01T08:00:00")])
    assert case is not None and worker is not None
    assert [(b.booking_id, b.cancelled) for b in case.bookings] == [("77", True)]
    assert [(b.booking_id, b.cancelled) for b in worker.bookings] == [("77", True)]


def test_no_worker_facts_until_a_worker_update_was_seen() -> None:
    assert fold_worker("5521", [allocated("a", "2026-09-01T09:00:00")]) is None


def test_the_worker_as_the_events_tell_it() -> None:
    events = [
        worker_updated("w1", "2026-10-05T08:00:00"),
        allocated("a", "2026-11-02T09:30:00"),
        recorded("p", "2026-11-10T16:00:00", "2026-11-09", kind="personal"),
        recorded("c", "2026-11-10T16:00:00", "2026-11-09", kind="case", worker="5522"),
        ShiftWorked("s1", at("2026-11-11T20:00:00"), "5521", date(2026, 11, 11)),
        ShiftWorked("s2", at("2026-11-11T21:00:00"), "5521", date(2026, 11, 11)),
        ShiftWorked("s3", at("2026-11-12T21:00:00"), "5521", date(2026, 11, 12)),
    ]
    worker = fold_worker("5521", events)
    assert worker is not None
    assert worker.known_since == date(2026, 10, 5)
    assert worker.supervisor_since == date(2026, 10, 1)  # joined 1 Oct, heard of on 5 Oct: joining seen
    assert [s.session_id for s in worker.sessions] == ["p"]
    assert worker.shifts == (date(2026, 11, 11), date(2026, 11, 12))
    assert worker.allocated_case_ids == ("100234",)
    for order in itertools.permutations(events):
        assert fold_worker("5521", order) == worker


def test_a_supervisor_from_before_the_connector_heard_of_the_worker_has_no_known_start() -> None:
    worker = fold_worker("5521", [worker_updated("w1", "2026-11-01T08:00:00", start="2019-04-01")])
    assert worker is not None and worker.supervisor_since is None


def test_a_change_of_supervisor_starts_a_new_relationship_when_it_happened() -> None:
    events = [
        worker_updated("w1", "2026-11-01T08:00:00", start="2019-04-01"),
        worker_updated("w2", "2026-11-15T08:00:00", supervisor="5501", start="2019-04-01"),
        worker_updated("w3", "2026-11-20T08:00:00", supervisor="5501", start="2019-04-01"),
    ]
    shuffled = list(events)
    random.Random(4).shuffle(shuffled)
    worker = fold_worker("5521", shuffled)
    assert worker is not None
    assert (worker.supervisor_id, worker.supervisor_since) == ("5501", date(2026, 11, 15))


def test_the_team_with_its_sessions_tags_and_first_mention() -> None:
    events = [
        worker_updated("w1", "2026-10-05T08:00:00"),
        recorded("g", "2026-11-13T15:00:00", "2026-11-13", kind="group", worker="5500"),
        recorded("x", "2026-11-14T15:00:00", "2026-11-14", kind="group", worker="5600"),
    ]
    other_team = SupervisionRecorded(
        "y",
        at("2026-11-14T15:00:00"),
        "group",
        "5600",
        None,
        "999",
        (),
        date(2026, 11, 14),
        date(2026, 11, 14),
        False,
    )
    worker = fold_worker("5521", events)
    assert worker is not None
    team = fold_team("310", [worker], [*events, other_team], frozenset({"MASH"}))
    assert [s.session_id for s in team.sessions] == ["g", "x"]
    assert team.members == (worker,)
    assert team.tags == frozenset({"MASH"})
    assert team.known_since == date(2026, 10, 5)
