"""What the stored `supervision.recorded` events say: whether each session was recorded within its deadline
(with the gap from held to recorded, which inspectors read for records typed up long after), and the actions
agreed at case supervision that are past their due date with no later case supervision of the child to review
them. Read straight from the inbox with SQLite's JSON functions, so no event is decoded in Python twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from connector.config import TenantConfig
from connector.pipeline.inbox import FOLDED_STATES
from connector.store.database import Database
from connector.store.dialect import json_array_length, json_flag, json_text
from rules.calendar import WorkingCalendar
from rules.model import Session
from rules.schedules.after_session import record_deadline

_SCOPE_ALL = "FROM inbox i WHERE i.tenant = :tenant AND i.event_type = 'supervision.recorded'"
_SCOPE_TEAM = (
    "FROM event_subjects s JOIN inbox i ON i.seq = s.seq WHERE s.tenant = :tenant"
    " AND s.platform IN ({platforms}) AND s.subject = :subject AND i.event_type = 'supervision.recorded'"
)


@dataclass(frozen=True)
class RecordedSession:
    platform: str
    kind: str
    worker_id: str
    supervisor_id: str | None
    team_id: str | None
    held_on: date
    recorded_on: date
    deadline: date | None  # None: no record rule of the pack covers this kind of session
    rule_id: str | None

    @property
    def gap_days(self) -> int:
        return (self.recorded_on - self.held_on).days

    @property
    def within_deadline(self) -> bool | None:
        return None if self.deadline is None else self.recorded_on <= self.deadline

    def as_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "kind": self.kind,
            "worker_id": self.worker_id,
            "supervisor_id": self.supervisor_id,
            "team_id": self.team_id,
            "held_on": self.held_on.isoformat(),
            "recorded_on": self.recorded_on.isoformat(),
            "gap_days": self.gap_days,
            "deadline": None if self.deadline is None else self.deadline.isoformat(),
            "rule_id": self.rule_id,
            "within_deadline": self.within_deadline,
        }


@dataclass(frozen=True)
class OpenAction:
    """An action agreed at case supervision, past its due date, with no later case supervision of the child."""

    platform: str
    case_id: str
    agreed_on: date
    worker_id: str
    team_id: str | None
    owner_worker_id: str | None
    due_date: date
    days_past_due: int

    def as_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "person_id": self.case_id,
            "agreed_on": self.agreed_on.isoformat(),
            "worker_id": self.worker_id,
            "team_id": self.team_id,
            "owner_worker_id": self.owner_worker_id,
            "due_date": self.due_date.isoformat(),
            "days_past_due": self.days_past_due,
        }


def _scope(tenant: TenantConfig, team: str | None) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {"tenant": tenant.id}
    if team is None:
        return _SCOPE_ALL + f" AND i.state IN {FOLDED_STATES}", params
    names = [f":p{n}" for n in range(len(tenant.platforms))]
    params.update({f"p{n}": p for n, p in enumerate(tenant.platforms)}, subject=f"team:{team}")
    return _SCOPE_TEAM.format(platforms=", ".join(names)) + f" AND i.state IN {FOLDED_STATES}", params


def recorded_sessions(
    db: Database, tenant: TenantConfig, start: date, end: date, team: str | None = None
) -> list[RecordedSession]:
    """Every session held from `start` to `end`, with its record's deadline by the pack's record rules."""
    scope, params = _scope(tenant, team)

    def field(key: str) -> str:
        return json_text(db.dialect, "i.event", key)

    sql = (
        f"SELECT i.platform, {field('kind')}, {field('worker_id')}, {field('supervisor_id')}, {field('team_id')},"
        f" {field('held_on')} AS held, {field('recorded_on')}, {json_flag(db.dialect, 'i.event', 'significant')}"
        f" {scope} AND {field('held_on')} BETWEEN :start AND :end ORDER BY held"
    )
    params.update(start=start.isoformat(), end=end.isoformat())
    pack = tenant.rule_pack
    rules = pack.rules_of("supervision_record")
    calendar = WorkingCalendar(tenant.closure_days)
    deadlines: dict[tuple[str, str, bool], tuple[date, str] | None] = {}
    found = []
    for platform, kind, worker, supervisor, team_id, held, recorded, significant in db.conn.execute(
        sql, params
    ):
        key = (kind, held, bool(significant))
        if key not in deadlines:
            # The deadline hangs on the kind, the day and significance only: worked out once for each.
            session = Session(
                "-",
                kind,
                worker,
                supervisor,
                team_id,
                (),
                date.fromisoformat(held),
                date.fromisoformat(recorded),
                bool(significant),
            )
            best = record_deadline(rules, session, None, pack.sessions_for, calendar)
            deadlines[key] = None if best is None else (best[0], best[1].id)
        deadline = deadlines[key]
        found.append(
            RecordedSession(
                platform,
                kind,
                worker,
                supervisor,
                team_id,
                date.fromisoformat(held),
                date.fromisoformat(recorded),
                None if deadline is None else deadline[0],
                None if deadline is None else deadline[1],
            )
        )
    return found


@dataclass(frozen=True)
class RecordTally:
    sessions: int
    with_deadline: int
    within_deadline: int
    gap_days_mean: float | None
    gap_days_max: int

    @property
    def within_percent(self) -> float | None:
        return (
            None if self.with_deadline == 0 else round(100.0 * self.within_deadline / self.with_deadline, 1)
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "sessions": self.sessions,
            "with_deadline": self.with_deadline,
            "within_deadline": self.within_deadline,
            "within_percent": self.within_percent,
            "gap_days_mean": self.gap_days_mean,
            "gap_days_max": self.gap_days_max,
        }


def record_tally(sessions: Sequence[RecordedSession]) -> RecordTally:
    timed = [s for s in sessions if s.deadline is not None]
    gaps = [s.gap_days for s in sessions]
    return RecordTally(
        len(sessions),
        len(timed),
        sum(1 for s in timed if s.within_deadline),
        None if not gaps else round(sum(gaps) / len(gaps), 1),
        max(gaps, default=0),
    )


def open_actions(
    db: Database, tenant: TenantConfig, today: date, team: str | None = None
) -> list[OpenAction]:
    """Actions past their due date, agreed at a case supervision after which the child had none."""
    scope, params = _scope(tenant, team)
    qualifying = sorted(tenant.rule_pack.qualifying_case_sessions)
    kinds = ", ".join(f":k{n}" for n in range(len(qualifying)))
    params.update({f"k{n}": k for n, k in enumerate(qualifying)})
    # One pass over the scope's case supervisions: the latest of each child, and those that agreed actions.
    dialect = db.dialect
    rows = db.conn.execute(
        f"SELECT i.platform, {json_text(dialect, 'i.event', 'case_ids_discussed')},"
        f" {json_text(dialect, 'i.event', 'held_on')},"
        f" CASE WHEN {json_array_length(dialect, 'i.event', 'actions')} > 0 THEN i.event END "
        f"{scope} AND {json_text(dialect, 'i.event', 'kind')} IN ({kinds})",
        params,
    )
    latest: dict[tuple[str, str], str] = {}
    agreed: list[tuple[str, dict[str, Any]]] = []
    for platform, case_ids, held, event in rows:
        for case_id in json.loads(case_ids):
            if held > latest.get((platform, case_id), ""):
                latest[(platform, case_id)] = held
        if event is not None:
            agreed.append((platform, json.loads(event)))
    if team is not None:
        # A later case supervision by another team (after a transfer, say) still reviews the actions.
        cases = {(p, c) for p, e in agreed for c in e["case_ids_discussed"]}
        for (platform, case_id), held in _latest_sessions(db, tenant.id, cases, qualifying).items():
            if held > latest.get((platform, case_id), ""):
                latest[(platform, case_id)] = held
    found = []
    for platform, event in agreed:
        for case_id in event["case_ids_discussed"]:
            if latest.get((platform, case_id), "") > event["held_on"]:
                continue
            for action in event["actions"]:
                due = action.get("due_date")
                if due is None or due >= today.isoformat():
                    continue
                due_day = date.fromisoformat(due)
                found.append(
                    OpenAction(
                        platform,
                        case_id,
                        date.fromisoformat(event["held_on"]),
                        event["worker_id"],
                        event.get("team_id"),
                        action.get("owner_worker_id"),
                        due_day,
                        (today - due_day).days,
                    )
                )
    return sorted(found, key=lambda a: (a.due_date, a.case_id))


def _latest_sessions(
    db: Database, tenant: str, cases: set[tuple[str, str]], qualifying: list[str]
) -> dict[tuple[str, str], str]:
    """The latest case supervision of each of these children, through the subjects index."""
    kinds = ", ".join("?" for _ in qualifying)
    latest: dict[tuple[str, str], str] = {}
    for platform, case_id in sorted(cases):
        held = db.scalar(
            f"SELECT MAX({json_text(db.dialect, 'i.event', 'held_on')}) FROM event_subjects s"
            " JOIN inbox i ON i.seq = s.seq"
            " WHERE s.tenant = ? AND s.platform = ? AND s.subject = ? AND i.event_type = 'supervision.recorded'"
            f" AND i.state IN {FOLDED_STATES} AND {json_text(db.dialect, 'i.event', 'kind')} IN ({kinds})",
            (tenant, platform, f"case:{case_id}", *qualifying),
        )
        if held is not None:
            latest[(platform, case_id)] = str(held)
    return latest
