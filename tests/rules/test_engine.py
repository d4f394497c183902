"""The engine on facts built by hand: the worked example, forms and texts, withdrawal, and purity."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path

from rules.calendar import WorkingCalendar
from rules.engine import Engine
from rules.model import (
    AgreedAction,
    Basis,
    Booking,
    CaseAllocation,
    CaseFacts,
    Session,
    StatusSpell,
    TeamFacts,
    WorkerFacts,
)
from rules.pack import load_pack

LINC = Engine(load_pack("lincolnshire"), WorkingCalendar())
BFC = Engine(load_pack("bracknell-forest"), WorkingCalendar())
TEST_PACK = Path(__file__).parent / "packs" / "test-council.toml"


def case(**changes: object) -> CaseFacts:
    base = CaseFacts(
        case_id="100234",
        known_since=date(2026, 11, 2),
        status=StatusSpell("CP", date(2026, 11, 3)),
        allocations=(CaseAllocation("5521", "310", "ALLWKR", date(2026, 11, 2)),),
        closed_on=None,
        sessions=(),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def session(held: date, kind: str = "case", worker: str = "5521", **changes: object) -> Session:
    base = Session(
        session_id=f"s-{worker}-{held.isoformat()}-{kind}",
        kind=kind,
        worker_id=worker,
        supervisor_id="5500",
        team_id="310",
        case_ids=("100234",) if kind not in ("personal", "agreement") else (),
        held_on=held,
        recorded_on=held,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def worker(**changes: object) -> WorkerFacts:
    base = WorkerFacts(
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
        end_date=None,
        allocated_case_ids=("100234",),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


HELD = session(
    date(2026, 11, 20),
    recorded_on=date(2026, 11, 21),
    actions=(AgreedAction("5521", date(2026, 12, 5)), AgreedAction(None, None)),
)


def test_the_worked_example_before_the_session() -> None:
    [o] = LINC.for_case(case(), {}, date(2026, 11, 10))
    assert (o.kind, o.scope, o.holder, o.cycle, o.assignee_id) == (
        "case_supervision",
        "100234",
        "5521",
        1,
        "5521",
    )
    assert o.due_date == date(2026, 11, 30)
    assert o.rule_ids == ("LINC-CS-ALLOC",)
    assert o.counted_from == Basis("allocation", date(2026, 11, 2))
    assert o.explanation == (
        "Case supervision for person 100234 is due by 30 Nov 2026: every case is discussed in supervision within"
        " four weeks of allocation or transfer (LINC-CS-ALLOC, policy 5.1.1, 5.1.6), counted from the allocation"
        " on 2 Nov 2026."
    )
    assert dict(o.form) == {
        "due_date": "2026-11-30",
        "reason": "LINC-CS-ALLOC (5.1.1, 5.1.6)",
        "counted_from": "allocation on 2026-11-02",
        "previous_actions": "No actions were recorded at the previous case supervision.",
    }


def test_the_worked_example_after_the_session_carries_its_actions_forward() -> None:
    [o] = LINC.for_case(case(sessions=(HELD,)), {}, date(2026, 11, 25))
    assert (o.due_date, o.rule_ids, o.cycle) == (date(2026, 12, 18), ("LINC-CS-CP",), 2)
    assert o.counted_from == Basis("case supervision held", date(2026, 11, 20))
    assert dict(o.form)["previous_actions"] == (
        "Agreed at the case supervision held 2026-11-20: 1. owner 5521, due 2026-12-05; 2. owner not set, due not set"
    )


def test_texts_are_written_only_when_read_and_follow_the_obligation_they_belong_to() -> None:
    [o] = LINC.for_case(case(sessions=(HELD,)), {}, date(2026, 11, 25))
    assert "explanation" not in vars(o) and "form" not in vars(o)  # nothing written by evaluating
    assert o == LINC.for_case(case(sessions=(HELD,)), {}, date(2026, 11, 25))[0]
    assert o.explanation.startswith("Case supervision for person 100234 is due by 18 Dec 2026: ")
    assert "explanation" in vars(o)  # written once, then kept
    moved = dataclasses.replace(o, due_date=date(2026, 12, 21))
    assert moved.explanation.startswith("Case supervision for person 100234 is due by 21 Dec 2026: ")
    assert dict(moved.form)["due_date"] == "2026-12-21"


def test_the_worked_example_after_the_transfer() -> None:
    transferred = case(
        sessions=(HELD,),
        allocations=(CaseAllocation("5522", "310", "ALLWKR", date(2026, 12, 1), transferred=True),),
    )
    [o] = LINC.for_case(transferred, {}, date(2026, 12, 2))
    assert (o.holder, o.assignee_id, o.cycle, o.due_date) == ("5522", "5522", 1, date(2026, 12, 18))
    assert o.rule_ids == ("LINC-CS-CP",)
    # With no session since long ago, the transfer's four weeks are the earlier date.
    old = dataclasses.replace(HELD, held_on=date(2026, 9, 1), recorded_on=date(2026, 9, 1))
    [o] = LINC.for_case(dataclasses.replace(transferred, sessions=(old,)), {}, date(2026, 12, 2))
    assert (o.due_date, o.rule_ids, o.counted_from.fact) == (
        date(2026, 9, 29),
        ("LINC-CS-CP",),
        "case supervision held",
    )


def test_a_closed_case_and_a_worker_who_left_owe_nothing() -> None:
    assert LINC.for_case(case(closed_on=date(2026, 11, 20)), {}, date(2026, 11, 25)) == []
    left = worker(end_date=date(2026, 11, 20))
    assert LINC.for_case(case(), {"5521": left}, date(2026, 11, 25)) == []
    assert LINC.for_worker(left, date(2026, 11, 25)) == []
    # Still there on the day before leaving.
    assert LINC.for_case(case(), {"5521": left}, date(2026, 11, 19)) != []


def test_the_engine_is_pure_and_the_day_does_not_move_a_due_date() -> None:
    facts = case(sessions=(HELD,))
    first = LINC.for_case(facts, {}, date(2026, 11, 25))
    assert LINC.for_case(facts, {}, date(2026, 11, 25)) == first
    # Only the form's "overdue" marks on the previous actions follow the day.
    [later] = LINC.for_case(facts, {}, date(2027, 6, 1))
    assert (later.due_date, later.reasons, later.counted_from) == (
        first[0].due_date,
        first[0].reasons,
        first[0].counted_from,
    )


def test_lincolnshire_personal_supervision_never_names_a_child_and_bracknells_lists_them() -> None:
    w = worker(sessions=(session(date(2026, 11, 10), kind="personal"),), allocated_case_ids=("100234",))
    for engine in (LINC, BFC):
        [o] = [
            o
            for o in engine.for_worker(w, date(2026, 11, 15))
            if o.kind == "personal_supervision" and o.scope == "-"
        ]
        assert o.case_id is None and "100234" not in o.explanation
        named = [name for name, v in o.form if "100234" in v]
        # Lincolnshire 4.5: no child in personal supervision; Bracknell 5 Std (t): each child's record.
        assert named == ([] if engine is LINC else ["children_to_cover"])


def test_bracknell_personal_supervision_form_has_wellbeing_and_leave() -> None:
    w = worker(sessions=(session(date(2026, 11, 10), kind="personal"),))
    [o] = [
        o
        for o in BFC.for_worker(w, date(2026, 11, 15))
        if o.kind == "personal_supervision" and o.scope == "-"
    ]
    form = dict(o.form)
    assert o.due_date == date(2026, 12, 31)
    assert "BFC-WELLBEING" in form["wellbeing"] and "wellbeing" in form["wellbeing"]
    assert "2026-11-10" in form["leave_gap"] and "BFC-LEAVE" in form["leave_gap"]


def test_case_supervision_with_each_personal_supervision_needs_the_workers_facts() -> None:
    facts = case(status=StatusSpell("CIN", date(2026, 11, 2)))
    assert BFC.for_case(facts, {}, date(2026, 11, 10)) == []
    [o] = BFC.for_case(facts, {"5521": worker()}, date(2026, 11, 10))
    assert (o.due_date, o.rule_ids) == (date(2026, 11, 30), ("BFC-CS-EVERY",))
    assert o.counted_from == Basis("worker's personal supervision due", date(2026, 11, 30))


def test_a_recording_deadline_for_a_session_held_without_a_booking() -> None:
    ordinary = session(date(2026, 11, 20))
    significant = dataclasses.replace(ordinary, significant=True)
    due, rule = BFC.record_deadline(ordinary) or (None, None)
    assert (due, rule and rule.id) == (date(2026, 11, 22), "BFC-REC")
    due, rule = BFC.record_deadline(significant) or (None, None)
    assert (due, rule and rule.id) == (date(2026, 11, 21), "BFC-REC")
    due, rule = LINC.record_deadline(dataclasses.replace(ordinary, held_on=date(2026, 12, 24))) or (
        None,
        None,
    )
    assert (due, rule and rule.id) == (date(2026, 12, 31), "LINC-REC")
    yos = case(status=StatusSpell("YRO", date(2026, 11, 2)))
    due, rule = LINC.record_deadline(ordinary, yos) or (None, None)
    assert (due, rule and rule.id) == (date(2026, 11, 25), "LINC-REC-YOS")
    assert LINC.record_deadline(session(date(2026, 11, 20), kind="personal")) is None


def test_a_recording_deadline_is_owed_for_a_booking_and_met_by_its_record() -> None:
    booking = Booking(
        "B1",
        "case_supervision",
        "5521",
        "5500",
        "310",
        ("100234",),
        datetime(2026, 11, 20, 10, tzinfo=UTC),
        60,
    )
    [record] = [
        o
        for o in LINC.for_case(case(bookings=(booking,)), {}, date(2026, 11, 18))
        if o.kind == "supervision_record"
    ]
    assert (record.scope, record.assignee_id, record.due_date) == (
        "booking-B1-100234",
        "5500",
        date(2026, 11, 25),
    )
    done = case(bookings=(booking,), sessions=(session(date(2026, 11, 20), recorded_on=date(2026, 11, 24)),))
    assert [o for o in LINC.for_case(done, {}, date(2026, 11, 25)) if o.kind == "supervision_record"] == []
    earlier = case(bookings=(booking,), sessions=(session(date(2026, 11, 10)),))
    assert [o.kind for o in LINC.for_case(earlier, {}, date(2026, 11, 25))].count("supervision_record") == 1


def test_team_obligations_need_a_team_manager() -> None:
    held = (session(date(2026, 11, 13), kind="group", worker="5500"),)
    member = worker()
    assert (
        LINC.for_team(TeamFacts("310", (member,), held, known_since=date(2026, 11, 1)), date(2026, 11, 20))
        == []
    )
    manager = worker(
        worker_id="5500", job_role="TEAM_MANAGER", case_holding=False, supervises_case_holders=True
    )
    [o] = LINC.for_team(
        TeamFacts("310", (member, manager), held, known_since=date(2026, 11, 1)), date(2026, 11, 20)
    )
    assert (o.kind, o.scope, o.holder, o.assignee_id, o.due_date) == (
        "group_supervision",
        "team-310",
        "-",
        "5500",
        date(2026, 12, 25),
    )
    assert o.explanation.startswith("Group supervision for team 310 is due by 25 Dec 2026: ")


def test_a_pack_with_case_rules_only_asks_for_no_worker_or_team_facts() -> None:
    only_cases = Engine(load_pack(str(TEST_PACK)), WorkingCalendar())
    assert not only_cases.has_worker_rules and not only_cases.has_team_rules
    assert LINC.has_worker_rules and LINC.has_team_rules
    assert only_cases.for_worker(worker(), date(2026, 11, 10)) == []
