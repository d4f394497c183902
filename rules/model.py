"""The rule engine's plain values: facts in, obligations out.

These are the engine's own types so that `rules` depends on nothing but the standard library and its date
helpers; the connector builds them from its store. Ids are strings; dates are local dates (Europe/London).
Relationship codes are the Mosaic vocabulary the rules use: ALLWKR (allocated worker), LEADPROF (lead
professional), INVWKR (involved worker). ALLWKR and LEADPROF are keyworkers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import TYPE_CHECKING

# Re-exported (the `as` form): callers import them from here.
from rules.codes import KEYWORKER_RELATIONSHIPS as KEYWORKER_RELATIONSHIPS
from rules.codes import OBLIGATION_KINDS as OBLIGATION_KINDS

if TYPE_CHECKING:
    from rules.held import HeldIndex


@dataclass(frozen=True)
class AgreedAction:
    """An action agreed at a supervision (its text is never kept)."""

    owner_worker_id: str | None
    due_date: date | None


@dataclass(frozen=True)
class Session:
    """A supervision that was held and recorded. Counts on `held_on` (computation rule 7)."""

    session_id: str
    kind: str
    worker_id: str
    supervisor_id: str | None
    team_id: str | None
    case_ids: tuple[str, ...]
    held_on: date
    recorded_on: date
    significant: bool = False
    step_ref: str | None = None
    actions: tuple[AgreedAction, ...] = ()


@dataclass(frozen=True)
class Booking:
    """A supervision booked ahead (`supervision.booked`); a cancelled booking stays here with cancelled=True."""

    booking_id: str
    kind: str
    worker_id: str
    supervisor_id: str | None
    team_id: str | None
    case_ids: tuple[str, ...]
    starts_at: datetime
    duration_minutes: int
    cancelled: bool = False


@dataclass(frozen=True)
class Leave:
    """Leave a worker recorded (`worker.leave` / `staff.leave`), not cancelled: `reason` is annual, sickness or
    other; `end_date` is the last day away."""

    leave_id: str
    reason: str
    start_date: date
    end_date: date


@dataclass(frozen=True)
class StatusSpell:
    """The case's current status, since `start_date`."""

    status: str
    start_date: date
    permanency_plan_agreed: bool = False
    fsm: bool = False
    # Childview's youth justice disposals say nothing of care; it says apart whether the young person is looked
    # after. A pack's `[pack.disposals]` says which of the policy's statuses that brings in.
    looked_after: bool = False


@dataclass(frozen=True)
class CaseAllocation:
    """An open allocation of a worker to a case. `transferred` is True when it began with a transfer."""

    worker_id: str
    team_id: str | None
    relationship: str
    start_date: date
    transferred: bool = False

    @property
    def is_keyworker(self) -> bool:
        return self.relationship in KEYWORKER_RELATIONSHIPS


@dataclass(frozen=True)
class CaseFacts:
    """Everything the rules may know about one case, as of now.

    `known_since` is the date of the earliest event that told the connector about the case (rule 13).
    `allocations` holds the open allocations only; `sessions` every recorded session that discussed the case;
    `bookings` every booked session that names the case (recording deadlines start from them, rule 11).
    """

    case_id: str
    known_since: date
    status: StatusSpell | None
    allocations: tuple[CaseAllocation, ...]
    closed_on: date | None
    sessions: Sequence[Session]
    bookings: tuple[Booking, ...] = ()
    held: HeldIndex | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class WorkerFacts:
    """Everything the rules may know about one worker.

    `sessions` are the sessions where the worker was the supervisee (or facilitator for group kinds);
    `supervisor_since` is when the current supervisor relationship began, as far as the connector saw it: None
    when it began before the connector heard of the worker (or there is no supervisor), so no one is made to
    owe an agreement for a relationship years old (rule 13).
    """

    worker_id: str
    known_since: date
    team_id: str | None
    supervisor_id: str | None
    supervisor_since: date | None
    job_role: str
    case_holding: bool
    supervises_case_holders: bool
    frontline: bool
    asye: bool
    employment: str
    start_date: date
    end_date: date | None
    sessions: Sequence[Session] = ()
    shifts: tuple[date, ...] = ()
    bookings: tuple[Booking, ...] = ()
    allocated_case_ids: tuple[str, ...] = ()
    leave: tuple[Leave, ...] = ()
    # `sessions` indexed (rules/held.py), when whoever built the facts kept one; the same sessions, so left out of
    # comparisons.
    held: HeldIndex | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class TeamFacts:
    """A team, its current members, the team-level sessions held, and the tags its tenant gave it.

    `known_since` is the date of the earliest event that mentioned the team (rule 13), when known.
    """

    team_id: str
    members: tuple[WorkerFacts, ...]
    sessions: Sequence[Session] = ()
    tags: frozenset[str] = frozenset()
    known_since: date | None = None
    held: HeldIndex | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Reason:
    """One rule that produced an obligation's due date."""

    rule_id: str
    source: str
    words: str


@dataclass(frozen=True)
class Basis:
    """The fact a due date counted from, e.g. ("allocation", 2026-11-02) or ("case supervision held", ...)."""

    fact: str
    on: date


class Wording:
    """What an obligation's explanation sentence and form are made from.

    Writing the texts is a good part of the engine's cost, and a re-evaluation that changes nothing never reads
    them: an obligation keeps this and writes its texts the first time something reads them.
    """

    def explanation(self, obligation: Obligation) -> str:
        raise NotImplementedError

    def form(self, obligation: Obligation) -> tuple[tuple[str, str], ...]:
        raise NotImplementedError


@dataclass(frozen=True)
class Written(Wording):
    """Texts given as they are (read back, or made by hand in a test)."""

    text: str
    fields: tuple[tuple[str, str], ...] = ()

    def explanation(self, obligation: Obligation) -> str:
        return self.text

    def form(self, obligation: Obligation) -> tuple[tuple[str, str], ...]:
        return self.fields


@dataclass(frozen=True)
class Obligation:
    """Something that must happen by `due_date`, with every rule that set that date.

    Identity (what the connector diffs on) is `key`: kind, scope (the case id, "team-<id>", "-" for the worker
    themselves, or for one booked session "booking-<id>" or "booking-<id>-<case id>"; "booking-ahead" for the
    prompt to book ahead), holder (the worker whose clock it is, or "-" for a team) and cycle. Assignee, team, due date and text may change
    within one identity; a new cycle is a new obligation. `explanation` and `form` are written from `wording`
    (with this obligation's due date, reasons and basis) when first read.
    """

    kind: str
    scope: str
    holder: str
    cycle: int
    assignee_id: str
    case_id: str | None
    team_id: str | None
    due_date: date
    reasons: tuple[Reason, ...]
    counted_from: Basis
    wording: Wording
    # The supervisor of the worker whose clock it is, when known: a platform whose form stub names the manager
    # (Childview's oversight record) writes it there. Not part of the identity.
    supervisor_id: str | None = None

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.kind, self.scope, self.holder, self.cycle)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(r.rule_id for r in self.reasons)

    # A frozen dataclass without slots may still cache: cached_property writes the instance's __dict__ directly.
    @cached_property
    def explanation(self) -> str:
        return self.wording.explanation(self)

    @cached_property
    def form(self) -> tuple[tuple[str, str], ...]:
        return self.wording.form(self)
