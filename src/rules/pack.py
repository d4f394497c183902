"""Rule packs: one TOML file per council, each rule with its id, policy paragraph, scope, schedule and words.

Everything is checked when a pack is loaded; a bad pack is refused with the file, the rule and the problem, so
`connector check-config` and start-up catch it before any due date is computed. FORMAT.md beside the packs
explains the format to a council's system administrator.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from rules import codes
from rules.codes import OBLIGATION_KINDS
from rules.dates import add_days, add_months
from rules.model import (
    CaseAllocation,
    StatusSpell,
    TeamFacts,
    WorkerFacts,
)

PACKS_DIR = Path(__file__).resolve().parent / "packs"

STATUSES = codes.CASE_STATUSES
RELATIONSHIPS = frozenset(codes.RELATIONSHIPS)
JOB_ROLES = frozenset(codes.JOB_ROLES)
EMPLOYMENT = frozenset(codes.EMPLOYMENT_TYPES)
WORKER_FLAGS = codes.WORKER_FLAGS
SESSION_KINDS = frozenset(codes.SESSION_KINDS)
PRECEDENCE = ("specific", "general", "always")

# Which subject an obligation kind belongs to: the engine evaluates it with that subject's facts.
LEVELS: dict[str, str] = {
    "case_supervision": "case",
    "fsm_group_supervision": "case",
    "supervision_record": "case",
    "personal_supervision": "worker",
    "supervision_agreement": "worker",
    "practice_observation": "worker",
    "agenda": "worker",
    "dip_sample": "worker",
    "group_supervision": "team",
    "team_brief": "team",
}
# The recorded session kinds that meet an obligation of each kind (case supervision: the pack says, rule 6).
COUNTING_SESSIONS: dict[str, frozenset[str]] = {
    "personal_supervision": frozenset({"personal"}),
    "group_supervision": frozenset({"group"}),
    "team_brief": frozenset({"team_brief"}),
    "fsm_group_supervision": frozenset({"fsm_group"}),
    "supervision_agreement": frozenset({"agreement"}),
    "practice_observation": frozenset({"practice_observation"}),
    "dip_sample": frozenset({"dip_sample"}),
}
ASSIGNEES: dict[str, tuple[str, ...]] = {
    "case": ("worker", "supervisor"),
    "worker": ("worker", "supervisor"),
    "team": ("team_manager",),
}
DEFAULT_ASSIGNEE = {
    "supervision_record": "supervisor",
    "dip_sample": "supervisor",
    "practice_observation": "supervisor",
    "group_supervision": "team_manager",
    "team_brief": "team_manager",
}
# Form fields a form_content rule may fill, and the obligation kinds whose form has them. A personal supervision
# form never carries a case's actions (Lincolnshire §4.5: no child is named in personal supervision notes).
FORM_FIELDS: dict[str, frozenset[str]] = {
    "previous_actions": frozenset({"case_supervision"}),
    "wellbeing": frozenset({"personal_supervision"}),
    "leave_gap": frozenset({"personal_supervision"}),
}
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
MONTH_DAY = re.compile(r"^(\d\d)-(\d\d)$")


class PackError(Exception):
    """A pack that cannot be used: the message names the file, the rule (if any) and the problem."""


# --- who a rule applies to ------------------------------------------------------------------------------------


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

    def case_matches(self, status: StatusSpell | None, allocation: CaseAllocation) -> bool:
        if self.relationships is not None and allocation.relationship not in self.relationships:
            return False
        if self.statuses is not None and (status is None or status.status not in self.statuses):
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
        tagged = self.team_tags is not None and bool({_tag(t) for t in team.tags} & self.team_tags)
        held = self.or_team_has_held is not None and any(
            s.kind in self.or_team_has_held for s in team.sessions
        )
        return tagged or held


def _tag(text: str) -> str:
    """Tenants write team tags as they like: "Referral and Assessment" matches REFERRAL_AND_ASSESSMENT."""
    return re.sub(r"[\s-]+", "_", text.strip()).upper()


# --- schedules --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """Every N days from the last qualifying session; with none yet, N days from the start (rule 1)."""

    type: ClassVar[str] = "interval"
    every_days: int | None = None
    every_days_by_relationship: Mapping[str, int] = field(default_factory=dict)
    every_days_once_permanency_agreed: int | None = None

    def days_for(self, relationship: str | None, permanency_plan_agreed: bool) -> int | None:
        if permanency_plan_agreed and self.every_days_once_permanency_agreed is not None:
            return self.every_days_once_permanency_agreed
        if relationship is not None and relationship in self.every_days_by_relationship:
            return self.every_days_by_relationship[relationship]
        return self.every_days


@dataclass(frozen=True)
class CalendarMonth:
    """At least once in each calendar month (rule 2)."""

    type: ClassVar[str] = "calendar_month"


@dataclass(frozen=True)
class Phase:
    every_days: int
    for_days: int | None = None
    until_months: int | None = None

    def ends(self, start: date) -> date:
        """The first day after the phase: "the first six weeks" are the 42 days from the start date."""
        if self.for_days is not None:
            return add_days(start, self.for_days)
        return add_months(start, self.until_months or 0)


@dataclass(frozen=True)
class Phased:
    """Intervals that change with time since the start date (rule 9); after the last phase the rule ends."""

    type: ClassVar[str] = "phased"
    phases: tuple[Phase, ...] = ()

    def in_force(self, start: date, day: date) -> Phase | None:
        return next((p for p in self.phases if start <= day < p.ends(start)), None)


@dataclass(frozen=True)
class Shifts:
    """Due on the date of the Nth shift worked since the last session (rule 10)."""

    type: ClassVar[str] = "shifts"
    every_shifts: int = 8


@dataclass(frozen=True)
class OnceAfter:
    """Once, N days after an allocation or transfer, or after a supervisory relationship begins."""

    type: ClassVar[str] = "once_after"
    after: str = "allocation"
    days: int = 28
    seen_within_days: int | None = None


@dataclass(frozen=True)
class AfterSession:
    """A deadline after a booked session (met when it is recorded, rule 11) or after a held one."""

    type: ClassVar[str] = "after_session"
    after: str = "booking"
    kinds: frozenset[str] = frozenset()
    working_days: int | None = None
    calendar_days: int | None = None
    significant_calendar_days: int | None = None


@dataclass(frozen=True)
class BeforeBooking:
    """N hours before a booked session starts."""

    type: ClassVar[str] = "before_booking"
    booking_kinds: frozenset[str] = frozenset()
    hours: int = 24


@dataclass(frozen=True)
class BookedAhead:
    """Sessions booked at least N calendar months ahead: owed when bookings stop reaching that far."""

    type: ClassVar[str] = "booked_ahead"
    booking_kinds: frozenset[str] = frozenset()
    months: int = 3


@dataclass(frozen=True)
class YearlyCount:
    """N sessions in each year from `year_starts`, due by its last day; a reminder date if none is done."""

    type: ClassVar[str] = "yearly_count"
    count: int = 1
    year_starts: tuple[int, int] = (4, 1)
    reminder: tuple[int, int] | None = None


@dataclass(frozen=True)
class WithPersonalSupervision:
    """Due when the worker's personal supervision is due: each child is recorded at every session."""

    type: ClassVar[str] = "with_personal_supervision"


@dataclass(frozen=True)
class FormContent:
    """Not a due date: what the obligation's pre-filled form carries."""

    type: ClassVar[str] = "form_content"
    field: str = ""


@dataclass(frozen=True)
class Assignment:
    """Not a due date: who records the obligation's session (a job role in the team)."""

    type: ClassVar[str] = "assignment"
    role: str = "ADMINISTRATOR"


Schedule = (
    Interval
    | CalendarMonth
    | Phased
    | Shifts
    | OnceAfter
    | AfterSession
    | BeforeBooking
    | BookedAhead
    | YearlyCount
    | WithPersonalSupervision
    | FormContent
    | Assignment
)

# Each schedule type: the obligation kinds it can time, and the keys it needs and allows besides `type`.
_CLOCKED = frozenset(
    {"case_supervision", "fsm_group_supervision", "personal_supervision", "group_supervision", "team_brief"}
)
SCHEDULES: dict[str, tuple[frozenset[str], frozenset[str], frozenset[str]]] = {
    "interval": (
        _CLOCKED,
        frozenset(),
        frozenset({"every_days", "every_days_by_relationship", "every_days_once_permanency_agreed"}),
    ),
    "calendar_month": (_CLOCKED, frozenset(), frozenset()),
    "phased": (frozenset({"personal_supervision"}), frozenset({"phases"}), frozenset()),
    "shifts": (frozenset({"personal_supervision"}), frozenset({"every_shifts"}), frozenset()),
    "once_after": (
        frozenset({"case_supervision", "supervision_agreement"}),
        frozenset({"after", "days"}),
        frozenset({"seen_within_days"}),
    ),
    "after_session": (
        frozenset({"supervision_record", "dip_sample"}),
        frozenset({"after"}),
        frozenset(
            {"booking_kinds", "session_kinds", "working_days", "calendar_days", "significant_calendar_days"}
        ),
    ),
    "before_booking": (frozenset({"agenda"}), frozenset({"booking_kinds", "hours"}), frozenset()),
    "booked_ahead": (
        frozenset({"personal_supervision"}),
        frozenset({"booking_kinds", "months"}),
        frozenset(),
    ),
    "yearly_count": (
        frozenset({"practice_observation"}),
        frozenset({"count", "year_starts"}),
        frozenset({"reminder"}),
    ),
    "with_personal_supervision": (frozenset({"case_supervision"}), frozenset(), frozenset()),
    "form_content": (frozenset(OBLIGATION_KINDS), frozenset({"field"}), frozenset()),
    "assignment": (frozenset({"fsm_group_supervision"}), frozenset({"role"}), frozenset()),
}
ONCE_AFTER = {"allocation": "case_supervision", "supervisor": "supervision_agreement"}
NOT_TIMED = frozenset({"form_content", "assignment"})

_APPLIES_TO: dict[str, frozenset[str]] = {
    "case": frozenset({"statuses", "relationships", "permanency_plan_agreed", "fsm"}),
    "worker": frozenset(),
    "team": frozenset({"team_tags", "or_team_has_held"}),
}
_WORKER_KEYS = frozenset({*WORKER_FLAGS, "any_of", "job_roles", "employment"})


# --- rules and packs ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    id: str
    source: str
    kind: str
    words: str
    applies_to: AppliesTo
    schedule: Schedule
    precedence: str = "always"
    assignee: str = "worker"

    @property
    def level(self) -> str:
        return LEVELS[self.kind]

    @property
    def sets_due_dates(self) -> bool:
        return self.schedule.type not in NOT_TIMED


@dataclass(frozen=True)
class RulePack:
    name: str
    council: str
    policy: str
    qualifying_case_sessions: frozenset[str]
    vocabulary: Mapping[str, str]
    rules: tuple[Rule, ...]
    path: Path
    fingerprint: str

    @property
    def kinds(self) -> frozenset[str]:
        """The obligation kinds this pack's rules can produce (form content and assignment rules produce none)."""
        return frozenset(r.kind for r in self.rules if r.sets_due_dates)

    def levels(self) -> frozenset[str]:
        return frozenset(LEVELS[k] for k in self.kinds)

    # Re-evaluating a national caseload asks these for every case: work them out once per pack.
    @cached_property
    def _timed_by_kind(self) -> dict[str, tuple[Rule, ...]]:
        by_kind: dict[str, list[Rule]] = {}
        for rule in self.rules:
            if rule.sets_due_dates:
                by_kind.setdefault(rule.kind, []).append(rule)
        return {kind: tuple(rules) for kind, rules in by_kind.items()}

    @cached_property
    def _content_by_kind(self) -> dict[str, tuple[Rule, ...]]:
        by_kind: dict[str, list[Rule]] = {}
        for rule in self.rules:
            if not rule.sets_due_dates:
                by_kind.setdefault(rule.kind, []).append(rule)
        return {kind: tuple(rules) for kind, rules in by_kind.items()}

    def rules_of(self, kind: str) -> tuple[Rule, ...]:
        """The rules that set due dates for obligations of `kind`."""
        return self._timed_by_kind.get(kind, ())

    def content_of(self, kind: str) -> tuple[Rule, ...]:
        """The form content and assignment rules for obligations of `kind`."""
        return self._content_by_kind.get(kind, ())

    def sessions_for(self, kind: str) -> frozenset[str]:
        """The recorded session kinds that meet (or restart the clock of) an obligation of `kind`."""
        if kind == "case_supervision":
            return self.qualifying_case_sessions
        return COUNTING_SESSIONS.get(kind, frozenset())

    @cached_property
    def _vocabulary_pattern(self) -> re.Pattern[str] | None:
        if not self.vocabulary:
            return None
        # Longest first, so a phrase inside a longer one never wins over it.
        phrases = sorted(self.vocabulary, key=len, reverse=True)
        return re.compile("|".join(re.escape(p) for p in phrases), re.IGNORECASE)

    @cached_property
    def _replacements(self) -> dict[str, tuple[str, str]]:
        return {phrase.lower(): (phrase, replacement) for phrase, replacement in self.vocabulary.items()}

    def words(self, text: str) -> str:
        """The council's own words (e.g. Bracknell's "children" for "children looked after"), found whatever
        their case."""
        pattern = self._vocabulary_pattern
        if pattern is None:
            return text
        replacements = self._replacements

        def swap(match: re.Match[str]) -> str:
            phrase, replacement = replacements[match.group(0).lower()]
            # A phrase written in lower case but found starting a sentence keeps its capital.
            if match.group(0)[:1].isupper() and not phrase[:1].isupper():
                return replacement[:1].upper() + replacement[1:]
            return replacement

        return pattern.sub(swap, text)


def shipped_pack_names() -> list[str]:
    return sorted(p.stem for p in PACKS_DIR.glob("*.toml"))


def pack_path(name_or_path: str) -> Path:
    if name_or_path.endswith(".toml") or "/" in name_or_path or "\\" in name_or_path:
        return Path(name_or_path)
    path = PACKS_DIR / f"{name_or_path}.toml"
    if not path.exists():
        shipped = ", ".join(shipped_pack_names())
        raise PackError(
            f"no shipped rule pack named {name_or_path!r} (shipped: {shipped}); or give a path to a pack file"
        )
    return path


def load_pack(name_or_path: str) -> RulePack:
    """A shipped pack by name (`lincolnshire`) or a pack file by path, checked through; PackError if bad."""
    path = pack_path(name_or_path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PackError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PackError(f"{path.name}: not valid TOML: {exc}") from None
    return _Parser(path).pack(document, hashlib.sha256(raw).hexdigest())


# --- the parser -------------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.rule_id: str | None = None

    def fail(self, problem: str) -> PackError:
        where = f"{self.path.name}: rule {self.rule_id}: " if self.rule_id else f"{self.path.name}: "
        return PackError(where + problem)

    def keys(self, table: Mapping[str, Any], where: str, required: set[str], allowed: set[str]) -> None:
        missing = sorted(required - set(table))
        if missing:
            raise self.fail(f"{where} is missing {', '.join(repr(m) for m in missing)}")
        unknown = sorted(set(table) - required - allowed)
        if unknown:
            known = ", ".join(sorted(required | allowed)) or "none"
            raise self.fail(
                f"{where} has unknown key(s) {', '.join(repr(u) for u in unknown)} (known: {known})"
            )

    def table(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"{where} must be a table")
        return value

    def text(self, table: Mapping[str, Any], key: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"'{key}' must be non-empty text")
        return " ".join(value.split())

    def positive(self, value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.fail(f"'{key}' must be a positive whole number, not {value!r}")
        return value

    def flag(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(f"'{key}' must be true or false, not {value!r}")
        return value

    def codes(self, value: Any, key: str, known: frozenset[str] | None) -> frozenset[str]:
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            raise self.fail(f"'{key}' must be a non-empty list of codes")
        if known is None:
            return frozenset(value)
        unknown = sorted(set(value) - known)
        if unknown:
            raise self.fail(
                f"'{key}' has unknown code(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            )
        return frozenset(value)

    def month_day(self, value: Any, key: str) -> tuple[int, int]:
        match = MONTH_DAY.match(value) if isinstance(value, str) else None
        if match is None:
            raise self.fail(f"'{key}' must be a month and day as \"MM-DD\", not {value!r}")
        month, day = int(match.group(1)), int(match.group(2))
        try:
            date(2027, month, day)  # not a leap year: 29 February cannot start a year every year
        except ValueError:
            raise self.fail(f"'{key}' is not a day of every year: {value!r}") from None
        return month, day

    def pack(self, document: Mapping[str, Any], fingerprint: str) -> RulePack:
        self.keys(document, "the file", {"pack", "rules"}, set())
        head = self.table(document["pack"], "[pack]")
        self.keys(head, "[pack]", {"name", "council", "policy", "qualifying_case_sessions"}, {"vocabulary"})
        name = self.text(head, "name")
        if not NAME_PATTERN.match(name):
            raise self.fail(f"[pack] name {name!r} must be lower case letters, digits, '-' or '_'")
        vocabulary = head.get("vocabulary", {})
        if not isinstance(vocabulary, dict) or not all(
            isinstance(k, str) and k.strip() and isinstance(v, str) for k, v in vocabulary.items()
        ):
            raise self.fail("[pack] vocabulary must map phrases to the council's own words")
        qualifying = self.codes(head["qualifying_case_sessions"], "qualifying_case_sessions", SESSION_KINDS)
        raw_rules = document["rules"]
        if not isinstance(raw_rules, list) or not raw_rules:
            raise self.fail("a pack needs at least one [[rules]] entry")
        rules: list[Rule] = []
        seen: set[str] = set()
        fields_seen: set[tuple[str, str]] = set()
        for number, entry in enumerate(raw_rules, start=1):
            given = entry.get("id") if isinstance(entry, dict) else None
            self.rule_id = given.strip() if isinstance(given, str) and given.strip() else f"number {number}"
            rule = self.rule(entry)
            if rule.id in seen:
                raise self.fail("the id is used by another rule too")
            seen.add(rule.id)
            if isinstance(rule.schedule, FormContent):
                if (rule.kind, rule.schedule.field) in fields_seen:
                    raise self.fail(
                        f"another rule already fills the {rule.kind} form's {rule.schedule.field!r}"
                    )
                fields_seen.add((rule.kind, rule.schedule.field))
            rules.append(rule)
        self.rule_id = None
        return RulePack(
            name=name,
            council=self.text(head, "council"),
            policy=self.text(head, "policy"),
            qualifying_case_sessions=qualifying,
            vocabulary={k.strip(): v for k, v in vocabulary.items()},
            rules=tuple(rules),
            path=self.path,
            fingerprint=fingerprint,
        )

    def rule(self, entry: Any) -> Rule:
        entry = self.table(entry, "each [[rules]] entry")
        self.keys(
            entry,
            "the rule",
            {"id", "source", "kind", "words", "schedule"},
            {"applies_to", "precedence", "assignee"},
        )
        rule_id = self.text(entry, "id")
        if not ID_PATTERN.match(rule_id):
            raise self.fail(f"the id {rule_id!r} may hold only letters, digits, '-', '_' and '.'")
        kind = self.text(entry, "kind")
        if kind not in OBLIGATION_KINDS:
            raise self.fail(f"unknown obligation kind {kind!r} (known: {', '.join(OBLIGATION_KINDS)})")
        level = LEVELS[kind]
        schedule = self.schedule(entry["schedule"], kind)
        precedence = entry.get("precedence", "always")
        if precedence not in PRECEDENCE:
            raise self.fail(f"'precedence' must be one of {', '.join(PRECEDENCE)}, not {precedence!r}")
        assignee = entry.get("assignee", DEFAULT_ASSIGNEE.get(kind, "worker"))
        if assignee not in ASSIGNEES[level]:
            raise self.fail(
                f"'assignee' for {kind} must be one of {', '.join(ASSIGNEES[level])}, not {assignee!r}"
            )
        return Rule(
            id=rule_id,
            source=self.text(entry, "source"),
            kind=kind,
            words=self.text(entry, "words"),
            applies_to=self.applies_to(entry.get("applies_to", {}), kind),
            schedule=schedule,
            precedence=precedence,
            assignee=assignee,
        )

    def applies_to(self, value: Any, kind: str) -> AppliesTo:
        table = self.table(value, "'applies_to'")
        level = LEVELS[kind]
        allowed = set(_APPLIES_TO[level]) | (set(_WORKER_KEYS) if level != "team" else set())
        everywhere = _WORKER_KEYS.union(*_APPLIES_TO.values())
        for key in table:
            if key not in allowed and key in everywhere:
                raise self.fail(f"'applies_to.{key}' does not apply to {kind}, a {level}-level obligation")
        self.keys(table, "'applies_to'", set(), allowed)

        def codes(key: str, known: frozenset[str] | None) -> frozenset[str] | None:
            return self.codes(table[key], key, known) if key in table else None

        def flag(key: str) -> bool | None:
            return self.flag(table[key], key) if key in table else None

        team_tags = codes("team_tags", None)
        return AppliesTo(
            statuses=codes("statuses", STATUSES),
            relationships=codes("relationships", RELATIONSHIPS),
            permanency_plan_agreed=flag("permanency_plan_agreed"),
            fsm=flag("fsm"),
            flags={f: self.flag(table[f], f) for f in WORKER_FLAGS if f in table},
            any_of=codes("any_of", frozenset(WORKER_FLAGS)),
            job_roles=codes("job_roles", JOB_ROLES),
            employment=codes("employment", EMPLOYMENT),
            team_tags=None if team_tags is None else frozenset(_tag(t) for t in team_tags),
            or_team_has_held=codes("or_team_has_held", SESSION_KINDS),
        )

    def schedule(self, value: Any, kind: str) -> Schedule:
        table = self.table(value, "'schedule'")
        name = table.get("type")
        if not isinstance(name, str) or name not in SCHEDULES:
            raise self.fail(f"'schedule' needs a 'type', one of {', '.join(SCHEDULES)}; not {name!r}")
        kinds, required, allowed = SCHEDULES[name]
        if kind not in kinds:
            raise self.fail(f"a {name} schedule cannot time {kind} (it times {', '.join(sorted(kinds))})")
        self.keys(table, f"the {name} schedule", set(required) | {"type"}, set(allowed))
        build = getattr(self, f"_{name}")
        schedule: Schedule = build(table, kind)
        return schedule

    def _interval(self, table: Mapping[str, Any], kind: str) -> Interval:
        by_relationship: dict[str, int] = {}
        if "every_days_by_relationship" in table:
            if LEVELS[kind] != "case":
                raise self.fail("'every_days_by_relationship' is only for case-level obligations")
            mapping = self.table(table["every_days_by_relationship"], "'every_days_by_relationship'")
            self.codes(list(mapping), "every_days_by_relationship", RELATIONSHIPS)
            by_relationship = {
                k: self.positive(v, f"every_days_by_relationship.{k}") for k, v in mapping.items()
            }
        if "every_days" not in table and not by_relationship:
            raise self.fail("an interval schedule needs 'every_days' or 'every_days_by_relationship'")
        agreed = table.get("every_days_once_permanency_agreed")
        return Interval(
            every_days=self.positive(table["every_days"], "every_days") if "every_days" in table else None,
            every_days_by_relationship=by_relationship,
            every_days_once_permanency_agreed=(
                None if agreed is None else self.positive(agreed, "every_days_once_permanency_agreed")
            ),
        )

    def _calendar_month(self, table: Mapping[str, Any], kind: str) -> CalendarMonth:
        return CalendarMonth()

    def _phased(self, table: Mapping[str, Any], kind: str) -> Phased:
        raw = table["phases"]
        if not isinstance(raw, list) or not raw:
            raise self.fail("'phases' must be a non-empty list of {every_days, for_days or until_months}")
        phases = []
        for n, item in enumerate(raw, start=1):
            phase = self.table(item, f"phase {n}")
            self.keys(phase, f"phase {n}", {"every_days"}, {"for_days", "until_months"})
            if ("for_days" in phase) == ("until_months" in phase):
                raise self.fail(f"phase {n} needs exactly one of 'for_days' and 'until_months'")
            phases.append(
                Phase(
                    every_days=self.positive(phase["every_days"], f"phases[{n}].every_days"),
                    for_days=self.positive(phase["for_days"], f"phases[{n}].for_days")
                    if "for_days" in phase
                    else None,
                    until_months=(
                        self.positive(phase["until_months"], f"phases[{n}].until_months")
                        if "until_months" in phase
                        else None
                    ),
                )
            )
        probe = date(2027, 1, 31)  # a phase must end after the one before it, whatever the start date
        if any(a.ends(probe) >= b.ends(probe) for a, b in itertools.pairwise(phases)):
            raise self.fail("each phase must end after the phase before it")
        return Phased(tuple(phases))

    def _shifts(self, table: Mapping[str, Any], kind: str) -> Shifts:
        return Shifts(self.positive(table["every_shifts"], "every_shifts"))

    def _once_after(self, table: Mapping[str, Any], kind: str) -> OnceAfter:
        after = table["after"]
        if ONCE_AFTER.get(after) != kind:
            choices = ", ".join(a for a, k in ONCE_AFTER.items() if k == kind)
            raise self.fail(f"'after' for {kind} must be {choices}, not {after!r}")
        within = table.get("seen_within_days")
        return OnceAfter(
            after=after,
            days=self.positive(table["days"], "days"),
            seen_within_days=None if within is None else self.positive(within, "seen_within_days"),
        )

    def _after_session(self, table: Mapping[str, Any], kind: str) -> AfterSession:
        after = table["after"]
        expected = {"supervision_record": "booking", "dip_sample": "session"}[kind]
        if after != expected:
            raise self.fail(f"'after' for {kind} must be {expected!r}, not {after!r}")
        key = "booking_kinds" if after == "booking" else "session_kinds"
        other = "session_kinds" if after == "booking" else "booking_kinds"
        if key not in table or other in table:
            raise self.fail(f"an after_session schedule after a {after} needs '{key}' (and not '{other}')")
        kinds = self.codes(
            table[key], key, frozenset(OBLIGATION_KINDS) if after == "booking" else SESSION_KINDS
        )
        if ("working_days" in table) == ("calendar_days" in table):
            raise self.fail(
                "an after_session schedule needs exactly one of 'working_days' and 'calendar_days'"
            )
        significant = table.get("significant_calendar_days")
        return AfterSession(
            after=after,
            kinds=kinds,
            working_days=self.positive(table["working_days"], "working_days")
            if "working_days" in table
            else None,
            calendar_days=(
                self.positive(table["calendar_days"], "calendar_days") if "calendar_days" in table else None
            ),
            significant_calendar_days=(
                None if significant is None else self.positive(significant, "significant_calendar_days")
            ),
        )

    def _before_booking(self, table: Mapping[str, Any], kind: str) -> BeforeBooking:
        return BeforeBooking(
            booking_kinds=self.codes(table["booking_kinds"], "booking_kinds", frozenset(OBLIGATION_KINDS)),
            hours=self.positive(table["hours"], "hours"),
        )

    def _booked_ahead(self, table: Mapping[str, Any], kind: str) -> BookedAhead:
        return BookedAhead(
            booking_kinds=self.codes(table["booking_kinds"], "booking_kinds", frozenset(OBLIGATION_KINDS)),
            months=self.positive(table["months"], "months"),
        )

    def _yearly_count(self, table: Mapping[str, Any], kind: str) -> YearlyCount:
        return YearlyCount(
            count=self.positive(table["count"], "count"),
            year_starts=self.month_day(table["year_starts"], "year_starts"),
            reminder=self.month_day(table["reminder"], "reminder") if "reminder" in table else None,
        )

    def _with_personal_supervision(self, table: Mapping[str, Any], kind: str) -> WithPersonalSupervision:
        return WithPersonalSupervision()

    def _form_content(self, table: Mapping[str, Any], kind: str) -> FormContent:
        name = table["field"]
        if name not in FORM_FIELDS:
            raise self.fail(f"unknown form field {name!r} (known: {', '.join(sorted(FORM_FIELDS))})")
        if kind not in FORM_FIELDS[name]:
            raise self.fail(
                f"the form field {name!r} belongs on {', '.join(sorted(FORM_FIELDS[name]))}, not {kind}"
            )
        return FormContent(field=name)

    def _assignment(self, table: Mapping[str, Any], kind: str) -> Assignment:
        role = table["role"]
        if role not in JOB_ROLES:
            raise self.fail(f"unknown job role {role!r} (known: {', '.join(sorted(JOB_ROLES))})")
        return Assignment(role=role)


__all__ = [
    "LEVELS",
    "AppliesTo",
    "PackError",
    "Rule",
    "RulePack",
    "load_pack",
    "pack_path",
    "shipped_pack_names",
]


def with_assignees(pack: RulePack, overrides: Mapping[str, str]) -> RulePack:
    """The pack with some rules' assignees chosen by the tenant (e.g. Bracknell's records made by the
    supervisee: `assignees = { "BFC-REC" = "worker" }`). Raises PackError naming a rule or value it cannot take."""
    if not overrides:
        return pack
    by_id = {rule.id: rule for rule in pack.rules}
    replaced = dict(by_id)
    for rule_id, assignee in overrides.items():
        rule = by_id.get(rule_id)
        if rule is None:
            raise PackError(f"no rule {rule_id!r} in pack {pack.name!r}")
        allowed = ASSIGNEES[LEVELS[rule.kind]]
        if assignee not in allowed:
            raise PackError(f"rule {rule_id}: assignee must be one of {', '.join(allowed)}, not {assignee!r}")
        replaced[rule_id] = replace(rule, assignee=assignee)
    chosen = ",".join(f"{k}={v}" for k, v in sorted(overrides.items()))
    return replace(
        pack,
        rules=tuple(replaced[rule.id] for rule in pack.rules),
        fingerprint=hashlib.sha256(f"{pack.fingerprint}|{chosen}".encode()).hexdigest(),
    )
