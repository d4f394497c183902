"""A seeded Lincolnshire caseload on Mosaic, as the webhook events its sender would post, for `bench/chaos.py`.

Teams of a manager and case-holding workers; every child allocated in the last three months, most given a
status, some transferred, re-statused, closed or de-allocated; case and personal supervisions recorded, and
personal supervisions booked ahead. Every fact is dated on or before `today`; the events come out in the order
they happened (the reference run's order), and the same seed gives the same events.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

Event = dict[str, Any]
STATUSES = ("CIN", "CP", "LAC", "CIN", "CIN")
TEAM_SIZE = 6


def workload(seed: int, children: int, workers: int, today: date) -> list[Event]:
    rng = random.Random(seed)
    out: list[tuple[datetime, Event]] = []

    def emit(kind: str, on: date, data: dict[str, Any], hour: int = 9) -> None:
        at = datetime.combine(on, time(hour, rng.randrange(60)))
        body = {"id": f"evt_chaos_{seed}_{len(out):05d}", "type": kind, "occurred_at": at.isoformat() + "Z"}
        out.append((at, {**body, "data": data}))

    start = today - timedelta(days=95)
    teams: dict[int, list[int]] = {}
    managers: dict[int, int] = {}
    for n in range(workers):
        team = 400 + n // TEAM_SIZE
        worker = 7000 + n
        if n % TEAM_SIZE == 0:
            managers[team] = worker
            data = _worker(worker, team, 6900, "TEAM_MANAGER", holding=False)
        else:
            teams.setdefault(team, []).append(worker)
            data = _worker(worker, team, managers[team], "SOCIAL_WORKER", holding=True)
        emit("worker.updated", start, data, hour=8)
    holders = [(team, w) for team, ws in teams.items() for w in ws]

    for n in range(children):
        person = 300000 + n
        team, worker = rng.choice(holders)
        on = start + timedelta(days=rng.randrange(5, 80))
        allocation = {"person_id": person, "worker_id": worker, "team_id": team, "relationship": "ALLWKR"}
        emit("case.allocated", on, {**allocation, "start_date": on.isoformat()})
        emit("case.status_changed", on, _status(person, rng.choice(STATUSES), on), hour=10)
        day = on
        for _ in range(rng.randrange(0, 3)):
            day += timedelta(days=rng.randrange(7, 30))
            if day >= today:
                break
            emit("supervision.recorded", day, _session(person, worker, managers[team], team, day), hour=15)
        later = on + timedelta(days=rng.randrange(10, 40))
        fate = rng.random()
        if later >= today:
            continue
        if fate < 0.25:
            to_team, to_worker = rng.choice(holders)
            emit(
                "case.transferred",
                later,
                {
                    "person_id": person,
                    "from_worker_id": worker,
                    "to_worker_id": to_worker,
                    "to_team_id": to_team,
                    "relationship": "ALLWKR",
                    "transfer_date": later.isoformat(),
                },
            )
        elif fate < 0.45:
            emit("case.status_changed", later, _status(person, rng.choice(STATUSES), later), hour=11)
        elif fate < 0.55:
            emit("case.closed", later, {"person_id": person, "end_date": later.isoformat(), "reason": "NFA"})
        elif fate < 0.6:
            emit(
                "case.deallocated",
                later,
                {"person_id": person, "worker_id": worker, "end_date": later.isoformat()},
            )

    for team, members in teams.items():
        for worker in members:
            held = start + timedelta(days=rng.randrange(20, 90))
            if held < today:
                emit("supervision.recorded", held, _personal(worker, managers[team], team, held), hour=14)
            if rng.random() < 0.5:
                booked_on = today - timedelta(days=rng.randrange(1, 10))
                starts = today + timedelta(days=rng.randrange(5, 60))
                emit(
                    "supervision.booked",
                    booked_on,
                    {
                        "booking_id": f"bk-{worker}-{seed}",
                        "kind": "personal_supervision",
                        "worker_id": worker,
                        "supervisor_id": managers[team],
                        "team_id": team,
                        "person_ids": [],
                        "starts_at": f"{starts.isoformat()}T10:00:00+00:00",
                        "duration_minutes": 60,
                        "status": "booked",
                    },
                    hour=12,
                )
    out.sort(key=lambda pair: pair[0])
    return [event for _, event in out]


def _worker(worker: int, team: int, supervisor: int, role: str, holding: bool) -> dict[str, Any]:
    return {
        "worker_id": worker,
        "supervisor_id": supervisor,
        "job_role": role,
        "start_date": "2020-01-06",
        "team_id": team,
        "case_holding": holding,
        "supervises_case_holders": not holding,
        "frontline": True,
        "asye": False,
        "employment": "permanent",
    }


def _status(person: int, status: str, on: date) -> dict[str, Any]:
    return {"person_id": person, "status": status, "start_date": on.isoformat()}


def _session(person: int, worker: int, supervisor: int, team: int, on: date) -> dict[str, Any]:
    return {
        "kind": "case",
        "worker_id": worker,
        "supervisor_id": supervisor,
        "team_id": team,
        "person_ids": [person],
        "held_on": on.isoformat(),
        "recorded_on": on.isoformat(),
        "significant": False,
        "actions": [],
    }


def _personal(worker: int, supervisor: int, team: int, on: date) -> dict[str, Any]:
    return {**_session(0, worker, supervisor, team, on), "kind": "personal", "person_ids": []}


DISPOSALS = {"CIN": "REFERRAL_ORDER", "CP": "YRO", "LAC": "YRO"}


def as_childview(events: list[Event]) -> list[Event]:
    """The same caseload as a Youth Offending Service's on Childview: staff, young people, disposals and
    oversight sessions (Childview has no bookings: those are left out)."""
    out: list[Event] = []
    for event in events:
        d, kind = event["data"], event["type"]
        data: dict[str, Any] | None
        if kind == "worker.updated":
            data = {
                "staff_id": _staff(d["worker_id"]),
                "yot_team": _team(d["team_id"]),
                "manager_id": _staff(d["supervisor_id"]),
                "case_holding": d["case_holding"],
                "supervises_case_holders": d["supervises_case_holders"],
                "asye": False,
                "employment": d["employment"],
                "start_date": d["start_date"],
            }
            kind = "staff.updated"
        elif kind == "case.allocated":
            data = {
                "yp_id": _yp(d["person_id"]),
                "case_manager_id": _staff(d["worker_id"]),
                "yot_team": _team(d["team_id"]),
                "role": "CASE_MANAGER",
                "start_date": d["start_date"],
            }
        elif kind == "case.status_changed":
            data = {
                "yp_id": _yp(d["person_id"]),
                "disposal": DISPOSALS[d["status"]],
                "start_date": d["start_date"],
            }
        elif kind == "case.transferred":
            data = {
                "yp_id": _yp(d["person_id"]),
                "from_case_manager_id": _staff(d["from_worker_id"]),
                "to_case_manager_id": _staff(d["to_worker_id"]),
                "yot_team": _team(d["to_team_id"]),
                "transfer_date": d["transfer_date"],
            }
        elif kind == "case.closed":
            data = {"yp_id": _yp(d["person_id"]), "end_date": d["end_date"], "reason": d["reason"]}
        elif kind == "case.deallocated":
            data = {
                "yp_id": _yp(d["person_id"]),
                "case_manager_id": _staff(d["worker_id"]),
                "end_date": d["end_date"],
            }
        elif kind == "supervision.recorded":
            data = {
                "kind": d["kind"],
                "staff_id": _staff(d["worker_id"]),
                "manager_id": _staff(d["supervisor_id"]),
                "yp_ids": [_yp(p) for p in d["person_ids"]],
                "held_on": d["held_on"],
                "recorded_on": d["recorded_on"],
                "significant": d["significant"],
                "actions": [],
            }
            kind = "oversight.recorded"
        else:
            data = None
        if data is not None:
            out.append(
                {**event, "id": event["id"].replace("evt_chaos", "evt_chaos_cv"), "type": kind, "data": data}
            )
    return out


def _staff(worker: int | None) -> str | None:
    return None if worker is None else f"S-{worker}"


def _team(team: int) -> str:
    return f"YOT-{team}"


def _yp(person: int) -> str:
    return f"YP-{person}"
