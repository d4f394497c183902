"""Who a rule applies to: conditions on the case, the worker or the team, and how a pack spells them."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from rules import codes
from rules.kinds import LEVELS
from rules.model import CaseAllocation, StatusSpell, TeamFacts, WorkerFacts
from rules.pack.reader import Reader

_APPLIES_TO: dict[str, frozenset[str]] = {
    "case": frozenset({"statuses", "relationships", "permanency_plan_agreed", "fsm"}),
    "worker": frozenset(),
    "team": frozenset({"team_tags", "or_team_has_held"}),
}
_WORKER_KEYS = frozenset({*codes.WORKER_FLAGS, "any_of", "job_roles", "employment"})


@dataclass(frozen=True)
class AppliesTo:
    """Conditions that must all hold; a condition left out holds for everyone."""

    statuses: frozenset[str] | None = None
    relationships: frozenset[str] | None = None
    permanency_plan_agreed: bool | None = None
    fsm: bool | None = None
    flags: Mapping[str, bool] = field(default_factory=dict)
    any_of: frozenset[str] | None = None
    job_roles: frozenset[str] | None = None
    employment: frozenset[str] | None = None
    team_tags: frozenset[str] | None = None
    or_team_has_held: frozenset[str] | None = None

    @property
    def names_worker(self) -> bool:
        return bool(self.flags) or any(v is not None for v in (self.any_of, self.job_roles, self.employment))

    @property
    def worker_attributes(self) -> frozenset[str]:
        """The worker's facts `worker_matches` reads (its answer is the same for two workers alike in these)."""
        named = {*self.flags, *(self.any_of or ())}
        if self.job_roles is not None:
            named.add("job_role")
        if self.employment is not None:
            named.add("employment")
        return frozenset(named)

    def canonical(self) -> str:
        """The conditions as text that is the same for the same conditions (sets sorted), for digests. Every
        field, so a condition added later is digested too."""
        return repr([(f.name, _canonical(getattr(self, f.name))) for f in fields(self)])

    def case_matches(
        self, status: StatusSpell | None, allocation: CaseAllocation, counts_as: frozenset[str] = frozenset()
    ) -> bool:
        """`counts_as`: the policy statuses the case's status brings in besides itself (a pack's disposals)."""
        if self.relationships is not None and allocation.relationship not in self.relationships:
            return False
        if self.statuses is not None and (
            status is None or (status.status not in self.statuses and not (counts_as & self.statuses))
        ):
            return False
        agreed = status is not None and status.permanency_plan_agreed
        if self.permanency_plan_agreed is not None and self.permanency_plan_agreed != agreed:
            return False
        fsm = status is not None and status.fsm
        return self.fsm is None or self.fsm == fsm

    def worker_matches(self, worker: WorkerFacts | None) -> bool:
        """Conditions on the worker; a rule that names none applies even when the worker's facts are unknown."""
        if not self.names_worker:
            return True
        if worker is None:
            return False
        if any(getattr(worker, flag) != wanted for flag, wanted in self.flags.items()):
            return False
        if self.any_of is not None and not any(getattr(worker, flag) for flag in self.any_of):
            return False
        if self.job_roles is not None and worker.job_role not in self.job_roles:
            return False
        return self.employment is None or worker.employment in self.employment

    def team_matches(self, team: TeamFacts) -> bool:
        if self.team_tags is None and self.or_team_has_held is None:
            return True
        tagged = self.team_tags is not None and bool({tag(t) for t in team.tags} & self.team_tags)
        kinds = self.or_team_has_held
        held = kinds is not None and (
            team.held.has_kind(kinds)
            if team.held is not None
            else any(s.kind in kinds for s in team.sessions)
        )
        return tagged or held


def _canonical(value: object) -> object:
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, Mapping):
        return sorted(value.items())
    return value


def tag(text: str) -> str:
    """Tenants write team tags as they like: "Referral and Assessment" matches REFERRAL_AND_ASSESSMENT."""
    return re.sub(r"[\s-]+", "_", text.strip()).upper()


def read_applies_to(reader: Reader, value: Any, kind: str) -> AppliesTo:
    """The `applies_to` table of a rule of `kind`: only the conditions its level has, each code known."""
    table = reader.table(value, "'applies_to'")
    level = LEVELS[kind]
    allowed = set(_APPLIES_TO[level]) | (set(_WORKER_KEYS) if level != "team" else set())
    everywhere = _WORKER_KEYS.union(*_APPLIES_TO.values())
    for key in table:
        if key not in allowed and key in everywhere:
            raise reader.fail(f"'applies_to.{key}' does not apply to {kind}, a {level}-level obligation")
    reader.keys(table, "'applies_to'", set(), allowed)

    def listed(key: str, known: Collection[str] | None) -> frozenset[str] | None:
        return reader.codes(table[key], key, known) if key in table else None

    def flag(key: str) -> bool | None:
        return reader.flag(table[key], key) if key in table else None

    team_tags = listed("team_tags", None)
    return AppliesTo(
        statuses=listed("statuses", codes.CASE_STATUSES),
        relationships=listed("relationships", codes.RELATIONSHIPS),
        permanency_plan_agreed=flag("permanency_plan_agreed"),
        fsm=flag("fsm"),
        flags={f: reader.flag(table[f], f) for f in codes.WORKER_FLAGS if f in table},
        any_of=listed("any_of", codes.WORKER_FLAGS),
        job_roles=listed("job_roles", codes.JOB_ROLES),
        employment=listed("employment", codes.EMPLOYMENT_TYPES),
        team_tags=None if team_tags is None else frozenset(tag(t) for t in team_tags),
        or_team_has_held=listed("or_team_has_held", codes.SESSION_KINDS),
    )
