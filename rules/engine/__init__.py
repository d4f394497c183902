"""The rule engine: a pack's rules applied to one subject's facts give its desired open obligations.

Pure and deterministic: plain values in, obligations out, with the day of evaluation passed in. Each obligation
is one "slot" (kind, scope, holder): the rules that can time it are gathered, each rule's schedule gives its
candidate date through one interface (`rules.schedules.base`), a specific rule that applies replaces the
general ones, and the earliest due date wins with every rule that gave it (rule 3, `settle`). The level
modules (`cases`, `workers`, `teams`) say which sessions count and how each obligation is named.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from operator import attrgetter

from rules.calendar import WorkingCalendar
from rules.engine import cases, changes, teams, workers
from rules.model import CaseFacts, Obligation, Session, TeamFacts, WorkerFacts
from rules.pack import Rule, RulePack
from rules.schedules.after_session import record_deadline
from rules.schedules.base import LONDON, booked_on
from rules.schedules.form_content import form_fields

__all__ = ["LONDON", "Engine", "booked_on"]


def _no_facts(worker: WorkerFacts) -> object:
    return ()


def _facts_key(names: tuple[str, ...]) -> Callable[[WorkerFacts], object]:
    """Those facts of a worker as a tuple, read in C: attrgetter of one name gives the bare value, so it is
    named twice (the key only has to tell two workers apart)."""
    if not names:
        return _no_facts
    return attrgetter(*names) if len(names) > 1 else attrgetter(names[0], names[0])


class Engine:
    def __init__(self, pack: RulePack, calendar: WorkingCalendar) -> None:
        self.pack = pack
        self.calendar = calendar
        # Kept across calls: the rules that apply to each combination of codes and flags, and each worker's
        # personal supervision sessions and due date (asked once for every child the worker holds).
        self.applicable: dict[tuple[object, ...], cases.CaseRules] = {}
        self.personal: dict[str, workers.Personal] = {}
        # Asked for every subject the service evaluates: work it out once, not per call.
        self._levels = pack.levels()
        # LINC-CARRY: how many of a case supervision's form fields carry forward the previous one's actions.
        self.carries_actions = sum(
            1 for _, name in form_fields(pack.content_of("case_supervision")) if name == "previous_actions"
        )

        # The worker's facts that decide which case-level rules apply: the key `cases.case_rules` keeps its answer
        # under is made of these alone, so workers who differ only in facts no case rule asks about share one.
        self.case_worker_facts = tuple(
            sorted(
                {
                    name
                    for kind in ("case_supervision", "fsm_group_supervision", "supervision_record")
                    for rule in pack.rules_of(kind)
                    for name in rule.applies_to.worker_attributes
                }
            )
        )
        self.case_worker_key = _facts_key(self.case_worker_facts)
        # The same for the worker-level rules, which every worker asks for each kind (`workers.rules_for`).
        self.worker_rules: dict[tuple[str, object], tuple[Rule, ...]] = {}
        self.worker_key = _facts_key(
            tuple(sorted({name for rule in pack.rules for name in rule.applies_to.worker_attributes}))
        )

        # The rules whose schedules read the day of evaluation (see changes.py).
        self.date_rules = pack.date_rules()

    @property
    def has_worker_rules(self) -> bool:
        """False when the pack owes nothing at worker level, so callers can skip folding workers' histories."""
        return "worker" in self._levels

    @property
    def has_team_rules(self) -> bool:
        return "team" in self._levels

    def for_case(self, case: CaseFacts, workers: Mapping[str, WorkerFacts], as_of: date) -> list[Obligation]:
        """Case-level obligations of each worker allocated to an open case (workers: their facts, when known)."""
        return cases.for_case(self, case, workers, as_of)

    def for_worker(self, worker: WorkerFacts, as_of: date) -> list[Obligation]:
        """Worker-level obligations: personal supervision, its bookings, agenda and dip sample, the supervision
        agreement and practice observations."""
        return workers.for_worker(self, worker, as_of)

    def for_team(self, team: TeamFacts, as_of: date) -> list[Obligation]:
        """Team obligations (group supervision, team brief), assigned to the team's manager (rule 12); none
        while the team has no manager the connector knows of."""
        return teams.for_team(self, team, as_of)

    def case_reads(self, case: CaseFacts, workers: Mapping[str, WorkerFacts], as_of: date) -> frozenset[str]:
        """The ids of the case-level rules whose schedules `for_case` reads for this case, beside whether they
        apply (cases.case_reads)."""
        return cases.case_reads(self, case, workers, as_of)

    def case_changes(self, case: CaseFacts, workers: Mapping[str, WorkerFacts], as_of: date) -> date | None:
        """The first day after `as_of` on which `for_case` could give something else with the same facts (None:
        only a new fact can change it)."""
        return changes.case_changes(self, case, workers, as_of)

    def worker_changes(self, worker: WorkerFacts, as_of: date) -> date | None:
        return changes.worker_changes(self, worker, as_of)

    def team_changes(self, team: TeamFacts, as_of: date) -> date | None:
        return changes.team_changes(self, team, as_of)

    def record_deadline(self, session: Session, case: CaseFacts | None = None) -> tuple[date, Rule] | None:
        """When a session held without a booking should have been recorded: for reports, which measure lateness
        (recorded date against this), since no obligation was open for it (rule 11)."""
        return record_deadline(
            self.pack.rules_of("supervision_record"),
            session,
            case.status if case is not None else None,
            self.pack.sessions_for,
            self.calendar,
        )
