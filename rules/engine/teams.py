"""Team obligations: group supervision and team brief, assigned to the team's manager (rule 12)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from rules.engine.build import obligation
from rules.engine.settle import held_sessions, left, strictest
from rules.explain import label
from rules.model import Basis, Obligation, TeamFacts
from rules.schedules.base import new_clock

if TYPE_CHECKING:
    from rules.engine import Engine


def for_team(engine: Engine, team: TeamFacts, as_of: date) -> list[Obligation]:
    pack = engine.pack
    managers = sorted(
        (m for m in team.members if m.job_role == "TEAM_MANAGER" and not left(m, as_of)),
        key=lambda m: m.worker_id,
    )
    if not managers:
        return []
    manager = managers[0]
    known = team.known_since or min(m.known_since for m in team.members)
    start = Basis("first event the connector received about the team", known)
    found = []
    for kind in ("group_supervision", "team_brief"):
        applicable = [r for r in pack.rules_of(kind) if r.applies_to.team_matches(team)]
        if not applicable:
            continue
        sessions = held_sessions(team.sessions, pack.sessions_for(kind), team.held)
        settled = strictest(applicable, new_clock(as_of, engine.calendar, start, sessions))
        if settled is None:
            continue
        found.append(
            obligation(
                pack,
                kind,
                scope=f"team-{team.team_id}",
                holder="-",
                cycle=1 + len(sessions),
                assignee=manager.worker_id,
                team_id=team.team_id,
                settled=settled,
                what=f"{label(kind).capitalize()} for team {team.team_id}",
            )
        )
    return found
