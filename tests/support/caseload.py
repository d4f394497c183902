"""A small deterministic caseload with every kind of fact the engine reads, for checking its output whole.

Wider than the bench's caseload on purpose: bookings on cases and workers (cancelled too), closed cases,
workers who left or whose facts are unknown, youth justice disposals, FSM and permanency flags, transfers,
involved workers, new supervisors, leave, shifts, team tags and team sessions, so every path of every level
module is taken by some subject.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from rules.codes import JOB_ROLES, MOSAIC_STATUSES, YOUTH_JUSTICE_DISPOSALS
from rules.model import (
    AgreedAction,
    Booking,
    CaseAllocation,
    CaseFacts,
    Leave,
    Session,
    StatusSpell,
    TeamFacts,
    WorkerFacts,
)

AS_OF = date(2026, 11, 22)
CASE_KINDS = (
    "case",
    "case",
    "case",
    "ad_hoc",
    "allocation_discussion",
    "ten_twenty_day_discussion",
    "fsm_group",
)
WORKER_KINDS = ("personal", "personal", "personal", "practice_observation", "agreement", "dip_sample")


@dataclass(frozen=True)
class Caseload:
    cases: tuple[tuple[CaseFacts, dict[str, WorkerFacts]], ...]
    workers: tuple[WorkerFacts, ...]
    teams: tuple[TeamFacts, ...]


def _day(rng: random.Random, back: int, ahead: int = 0) -> date:
    return AS_OF + timedelta(days=rng.randint(-back, ahead))


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 30, tzinfo=UTC)


def _booking(
    rng: random.Random, n: str, worker: str, team: str, kind: str, case_ids: tuple[str, ...]
) -> Booking:
    day = _day(rng, 60, 60)
    return Booking(
        n, kind, worker, "w0", team, case_ids, _at(day, rng.choice((0, 9, 23))), 60, rng.random() < 0.15
    )


def _sessions(
    rng: random.Random, prefix: str, kinds: tuple[str, ...], worker: str, team: str, case_ids: tuple[str, ...]
) -> tuple[Session, ...]:
    found = []
    for k in range(rng.randint(0, 9)):
        held = _day(rng, 400)
        actions = tuple(
            AgreedAction(rng.choice((worker, None)), rng.choice((held + timedelta(days=20), None)))
            for _ in range(rng.randint(0, 2))
        )
        found.append(
            Session(
                f"{prefix}-{k}",
                rng.choice(kinds),
                worker,
                rng.choice(("w0", None)),
                team,
                case_ids,
                held,
                held + timedelta(days=rng.randint(0, 9)),
                rng.random() < 0.1,
                None,
                actions,
            )
        )
    return tuple(found)


def make_caseload(cases: int = 400, workers: int = 60, seed: int = 14) -> Caseload:
    rng = random.Random(seed)
    people: dict[str, WorkerFacts] = {}
    for n in range(workers):
        worker_id, team = f"w{n}", f"t{n // 8}"
        manager = f"w{(n // 8) * 8}"
        start = _day(rng, 3000) if rng.random() < 0.8 else _day(rng, 150)
        bookings = tuple(
            _booking(
                rng,
                f"wb-{n}-{k}",
                worker_id,
                team,
                rng.choice(("personal_supervision", "group_supervision")),
                (),
            )
            for k in range(rng.randint(0, 3))
        )
        leave = tuple(
            Leave(
                f"l-{n}-{k}",
                rng.choice(("annual", "sickness", "other")),
                d,
                d + timedelta(days=rng.randint(0, 20)),
            )
            for k, d in enumerate(_day(rng, 200) for _ in range(rng.randint(0, 2)))
        )
        people[worker_id] = WorkerFacts(
            worker_id=worker_id,
            known_since=_day(rng, 500),
            team_id=team if rng.random() < 0.95 else None,
            supervisor_id=None if worker_id == manager else rng.choice((manager, manager, None)),
            supervisor_since=rng.choice((None, start, _day(rng, 200))),
            job_role="TEAM_MANAGER" if worker_id == manager else rng.choice(JOB_ROLES),
            case_holding=rng.random() < 0.8,
            supervises_case_holders=worker_id == manager or rng.random() < 0.1,
            frontline=rng.random() < 0.9,
            asye=rng.random() < 0.15,
            employment=rng.choice(("permanent", "permanent", "temporary", "agency", "relief")),
            start_date=start,
            end_date=None if rng.random() < 0.92 else _day(rng, 30, 30),
            sessions=_sessions(rng, f"ws-{n}", WORKER_KINDS, worker_id, team, ()),
            shifts=tuple(sorted({_day(rng, 90) for _ in range(rng.randint(0, 4))})),
            bookings=bookings,
            allocated_case_ids=tuple(f"c{k}" for k in range(rng.randint(0, 3))),
            leave=leave,
        )
    ids = list(people)
    made = []
    for n in range(cases):
        case_id = f"c{n}"
        keyworker = rng.choice(ids)
        allocated = _day(rng, 400)
        allocations = [
            CaseAllocation(
                keyworker,
                people[keyworker].team_id,
                rng.choice(("ALLWKR", "LEADPROF")),
                allocated,
                rng.random() < 0.2,
            )
        ]
        for _ in range(rng.choice((0, 0, 1, 2))):
            other = rng.choice(ids)
            if other not in {a.worker_id for a in allocations}:
                allocations.append(CaseAllocation(other, rng.choice((None, "t1")), "INVWKR", _day(rng, 300)))
        status = rng.choice(MOSAIC_STATUSES + YOUTH_JUSTICE_DISPOSALS + (None,))
        spell = (
            None
            if status is None
            else StatusSpell(
                status, _day(rng, 400), rng.random() < 0.3, rng.random() < 0.2, rng.random() < 0.3
            )
        )
        bookings = tuple(
            _booking(rng, f"cb-{n}-{k}", a.worker_id, "t0", "case_supervision", (case_id,))
            for k, a in enumerate(allocations)
            if rng.random() < 0.3
        )
        sessions = tuple(
            s
            for a in allocations
            for s in _sessions(rng, f"cs-{n}-{a.worker_id}", CASE_KINDS, a.worker_id, "t0", (case_id,))
        )
        facts = CaseFacts(
            case_id=case_id,
            known_since=_day(rng, 500),
            status=spell,
            allocations=tuple(allocations),
            closed_on=None if rng.random() < 0.95 else _day(rng, 30),
            sessions=sessions,
            bookings=bookings,
        )
        # Some workers' facts are unknown to the connector (never sent a worker.updated).
        known = {a.worker_id: people[a.worker_id] for a in allocations if rng.random() < 0.9}
        made.append((facts, known))
    teams = []
    for t in range(workers // 8 + 1):
        members = tuple(w for w in people.values() if w.team_id == f"t{t}")
        team_sessions = tuple(
            Session(f"ts-{t}-{k}", rng.choice(("group", "team_brief")), f"w{t * 8}", None, f"t{t}", (), d, d)
            for k, d in enumerate(_day(rng, 200) for _ in range(rng.randint(0, 4)))
        )
        tags = frozenset(rng.sample(["Referral and Assessment", "fostering", "YOS"], rng.randint(0, 2)))
        teams.append(TeamFacts(f"t{t}", members, team_sessions, tags, rng.choice((None, _day(rng, 300)))))
    return Caseload(tuple(made), tuple(people.values()), tuple(teams))
