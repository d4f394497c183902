"""The reminder ladder: who each rung of an obligation goes to (its assignee, their supervisor, the supervisor's
supervisor), what it says, and which rungs are current on a given day.
"""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta
from functools import lru_cache

from connector.config import Config
from connector.config.ladder import Rung
from connector.pipeline.facts import fold_worker
from connector.pipeline.inbox import Inbox
from connector.pipeline.kept_state import kept_supervisors

log = logging.getLogger(__name__)
# Obligations per tick transaction: short enough that a webhook waiting for the write lock waits milliseconds.
LABELS = {
    "case_supervision": "Case supervision",
    "personal_supervision": "Personal supervision",
    "group_supervision": "Group supervision",
    "supervision_agreement": "The supervision agreement",
    "practice_observation": "A practice observation",
    "team_brief": "The team brief",
    "fsm_group_supervision": "FSM group supervision",
    "supervision_record": "The supervision record",
    "dip_sample": "A dip sample",
    "agenda": "The supervision agenda",
    "supervision_booking": "Booking supervision sessions to cover the next three months",
}


def describe(kind: str, case_id: str | None) -> str:
    label = LABELS.get(kind, kind.replace("_", " ").capitalize())
    return f"{label} for child {case_id}" if case_id else label


@lru_cache(maxsize=1024)
def why(rules_json: str | None) -> str:
    """The rule ids and policy paragraphs behind a due date, from the ledger's `rules` column (a caseload has a
    few hundred different ones at most, and a tick asks for them hundreds of thousands of times)."""
    rules = json.loads(rules_json or "[]")
    return "; ".join(f"{rule_id}, policy {source}" for rule_id, source, *_ in rules) or "no rule recorded"


def rung_message(rung: Rung, kind: str, case_id: str | None, due: date, assignee: str, because: str) -> str:
    """What a rung says: the kind, the child's id (never a name), the due date, whose it is and why."""
    what = describe(kind, case_id)
    if rung.escalation:
        return (
            f"Overdue: {what[0].lower() + what[1:]} was due on {due.isoformat()} and is not met"
            f" {rung.offset_days} day(s) later (assigned to worker {assignee}; {because})."
        )
    if rung.to == "assignee":
        return f"{what} is due on {due.isoformat()} ({because})."
    return (
        f"{what} is due on {due.isoformat()} (assigned to worker {assignee}, whom you supervise; {because})."
    )


class Chain:
    """Who supervises whom: every kept worker's supervisor read in one query per tenant and platform, once per
    tick (a tick asks for the same few supervisors over and over); a worker with no kept fold yet is folded
    from their events."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self._supervisors: dict[tuple[str, str], dict[str, str | None]] = {}

    def supervisor_of(self, tenant: str, platform: str, worker_id: str) -> str | None:
        known = self._supervisors.get((tenant, platform))
        if known is None:
            known = self._supervisors[(tenant, platform)] = kept_supervisors(
                self.inbox.db.conn, tenant, platform
            )
        if worker_id not in known:
            known[worker_id] = manager_of(self.inbox, tenant, platform, worker_id)
        return known[worker_id]

    def recipient(self, tenant: str, platform: str, to: str, assignee: str) -> str | None:
        """The worker who holds the rung's recipient role for this assignee, or None when nobody does."""
        if to == "assignee":
            return assignee
        supervisor = self.supervisor_of(tenant, platform, assignee)
        if to == "supervisor" or supervisor is None:
            return supervisor
        return self.supervisor_of(tenant, platform, supervisor)


def ladder_plan(
    config: Config, chain: Chain, tenant: str, platform: str, kind: str, assignee: str, due: date
) -> list[dict[str, str | None]]:
    """Each rung an obligation climbs, with its date and who gets it, or why it is skipped (for `explain`)."""
    plan: list[dict[str, str | None]] = []
    for rung in config.ladder(tenant, kind):
        worker = chain.recipient(tenant, platform, rung.to, assignee)
        skipped = None
        if worker is None:
            whose = assignee if rung.to == "supervisor" else chain.supervisor_of(tenant, platform, assignee)
            skipped = f"skipped: no supervisor is known for worker {whose}"
        plan.append(
            {
                "date": (due + timedelta(days=rung.offset_days)).isoformat(),
                "to": rung.to,
                "worker_id": worker,
                "escalation": "yes" if rung.escalation else "no",
                "skipped": skipped,
            }
        )
    return plan


def current_rungs(ladder: tuple[Rung, ...], due: date, as_of: date) -> list[Rung]:
    """The rungs of the latest offset reached by `as_of`: earlier rungs are past and would be stale."""
    reached = [rung for rung in ladder if due + timedelta(days=rung.offset_days) <= as_of]
    if not reached:
        return []
    latest = max(rung.offset_days for rung in reached)
    return [rung for rung in reached if rung.offset_days == latest]


def manager_of(inbox: Inbox, tenant: str, platform: str, holder: str) -> str | None:
    """A worker's current supervisor, if known."""
    if holder == "-":
        return None
    worker = fold_worker(holder, inbox.events_about(tenant, platform, f"worker:{holder}"))
    return None if worker is None else worker.supervisor_id
