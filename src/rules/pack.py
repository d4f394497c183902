"""Rule packs: one TOML file per council, each rule with its id, policy paragraph, scope, schedule and words.

Everything is checked when a pack is loaded; a bad pack is refused with the file, the rule and the problem, so
`connector check-config` and start-up catch it before any due date is computed. FORMAT.md beside the packs
explains the format to a council's system administrator.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rules.model import OBLIGATION_KINDS

PACKS_DIR = Path(__file__).resolve().parent / "packs"

STATUSES = frozenset({"CIN", "CP", "LAC", "CFP", "TAC", "CARE_EXPERIENCED", "EARLY_HELP"})
RELATIONSHIPS = frozenset({"ALLWKR", "LEADPROF", "INVWKR"})
SESSION_KINDS = frozenset(
    {
        "case",
        "personal",
        "group",
        "fsm_group",
        "team_brief",
        "ad_hoc",
        "allocation_discussion",
        "ten_twenty_day_discussion",
        "practice_observation",
        "agreement",
        "dip_sample",
    }
)
PRECEDENCE = ("specific", "general", "always")
# What each schedule type needs and allows besides `type`.
SCHEDULES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # every N days from the last qualifying session; first due N days after the start
    "interval": (frozenset(), frozenset({"days", "days_by_relationship", "days_once_permanency_agreed"})),
    # once, N days after the allocation or transfer; met by a qualifying session held on or after it
    "once_after": (frozenset({"days", "after"}), frozenset()),
    # what a form carries, not a due date
    "form_content": (frozenset({"field"}), frozenset()),
}
ONCE_AFTER = frozenset({"allocation"})
LEVELS = {"case_supervision": "case"}


class PackError(Exception):
    """A pack that cannot be used: the message names the file, the rule (if any) and the problem."""


@dataclass(frozen=True)
class AppliesTo:
    statuses: frozenset[str] | None = None
    relationships: frozenset[str] | None = None
    permanency_plan_agreed: bool | None = None


@dataclass(frozen=True)
class Schedule:
    type: str
    days: int | None = None
    days_by_relationship: Mapping[str, int] = field(default_factory=dict)
    days_once_permanency_agreed: int | None = None
    after: str | None = None
    field: str | None = None

    def interval_for(self, relationship: str, permanency_plan_agreed: bool) -> int | None:
        if permanency_plan_agreed and self.days_once_permanency_agreed is not None:
            return self.days_once_permanency_agreed
        return self.days_by_relationship.get(relationship, self.days)


@dataclass(frozen=True)
class Rule:
    id: str
    source: str
    kind: str
    words: str
    applies_to: AppliesTo
    schedule: Schedule
    precedence: str = "always"


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
        """The obligation kinds this pack's rules can produce (form content rules produce none)."""
        return frozenset(r.kind for r in self.rules if r.schedule.type != "form_content")

    def rules_of(self, kind: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.kind == kind and r.schedule.type != "form_content")

    def words(self, text: str) -> str:
        """The council's own words (e.g. Bracknell's 'children' for 'children looked after')."""
        for phrase, replacement in self.vocabulary.items():
            text = text.replace(phrase, replacement)
        return text


def shipped_pack_names() -> list[str]:
    return sorted(p.stem for p in PACKS_DIR.glob("*.toml"))


def pack_path(name_or_path: str) -> Path:
    if name_or_path.endswith(".toml") or "/" in name_or_path:
        return Path(name_or_path)
    path = PACKS_DIR / f"{name_or_path}.toml"
    if not path.exists():
        shipped = ", ".join(shipped_pack_names())
        raise PackError(
            f"no shipped rule pack named {name_or_path!r} (shipped: {shipped}); or give a path to a pack file"
        )
    return path


def load_pack(name_or_path: str) -> RulePack:
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
            raise self.fail(f"{where} has unknown key(s) {', '.join(repr(u) for u in unknown)}")

    def text(self, table: Mapping[str, Any], key: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"'{key}' must be non-empty text")
        return value.strip()

    def positive(self, value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.fail(f"'{key}' must be a positive whole number of days, not {value!r}")
        return value

    def codes(self, value: Any, key: str, known: frozenset[str]) -> frozenset[str]:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise self.fail(f"'{key}' must be a non-empty list of codes")
        unknown = sorted(set(value) - known)
        if unknown:
            raise self.fail(
                f"'{key}' has unknown code(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            )
        return frozenset(value)

    def pack(self, document: Mapping[str, Any], fingerprint: str) -> RulePack:
        self.keys(document, "the file", {"pack", "rules"}, set())
        head = document["pack"]
        if not isinstance(head, dict):
            raise self.fail("[pack] must be a table")
        self.keys(head, "[pack]", {"name", "council", "policy", "qualifying_case_sessions"}, {"vocabulary"})
        vocabulary = head.get("vocabulary", {})
        if not isinstance(vocabulary, dict) or not all(isinstance(v, str) for v in vocabulary.values()):
            raise self.fail("[pack] vocabulary must map phrases to replacement text")
        raw_rules = document["rules"]
        if not isinstance(raw_rules, list) or not raw_rules:
            raise self.fail("a pack needs at least one [[rules]] entry")
        rules: list[Rule] = []
        seen: set[str] = set()
        for entry in raw_rules:
            self.rule_id = (
                entry.get("id") if isinstance(entry, dict) and isinstance(entry.get("id"), str) else "?"
            )
            rule = self.rule(entry)
            if rule.id in seen:
                raise self.fail("the id is used by another rule too")
            seen.add(rule.id)
            rules.append(rule)
        self.rule_id = None
        return RulePack(
            name=self.text(head, "name"),
            council=self.text(head, "council"),
            policy=self.text(head, "policy"),
            qualifying_case_sessions=self.codes(
                head["qualifying_case_sessions"], "qualifying_case_sessions", SESSION_KINDS
            ),
            vocabulary=dict(vocabulary),
            rules=tuple(rules),
            path=self.path,
            fingerprint=fingerprint,
        )

    def rule(self, entry: Any) -> Rule:
        if not isinstance(entry, dict):
            raise self.fail("each [[rules]] entry must be a table")
        self.keys(
            entry, "the rule", {"id", "source", "kind", "words", "schedule"}, {"applies_to", "precedence"}
        )
        kind = self.text(entry, "kind")
        if kind not in OBLIGATION_KINDS:
            raise self.fail(f"unknown obligation kind {kind!r} (known: {', '.join(OBLIGATION_KINDS)})")
        schedule = self.schedule(entry["schedule"])
        if schedule.type != "form_content" and kind not in LEVELS:
            raise self.fail(f"obligation kind {kind!r} has no schedule this version can compute")
        precedence = entry.get("precedence", "always")
        if precedence not in PRECEDENCE:
            raise self.fail(f"'precedence' must be one of {', '.join(PRECEDENCE)}, not {precedence!r}")
        return Rule(
            id=self.text(entry, "id"),
            source=self.text(entry, "source"),
            kind=kind,
            words=self.text(entry, "words"),
            applies_to=self.applies_to(entry.get("applies_to", {})),
            schedule=schedule,
            precedence=precedence,
        )

    def applies_to(self, table: Any) -> AppliesTo:
        if not isinstance(table, dict):
            raise self.fail("'applies_to' must be a table")
        self.keys(table, "'applies_to'", set(), {"statuses", "relationships", "permanency_plan_agreed"})
        agreed = table.get("permanency_plan_agreed")
        if agreed is not None and not isinstance(agreed, bool):
            raise self.fail("'permanency_plan_agreed' must be true or false")
        return AppliesTo(
            statuses=self.codes(table["statuses"], "statuses", STATUSES) if "statuses" in table else None,
            relationships=(
                self.codes(table["relationships"], "relationships", RELATIONSHIPS)
                if "relationships" in table
                else None
            ),
            permanency_plan_agreed=agreed,
        )

    def schedule(self, table: Any) -> Schedule:
        if not isinstance(table, dict) or not isinstance(table.get("type"), str):
            raise self.fail("'schedule' must be a table with a 'type'")
        kind = table["type"]
        if kind not in SCHEDULES:
            raise self.fail(f"unknown schedule type {kind!r} (known: {', '.join(SCHEDULES)})")
        required, allowed = SCHEDULES[kind]
        self.keys(table, f"the {kind} schedule", set(required) | {"type"}, set(allowed))
        days = self.positive(table["days"], "days") if "days" in table else None
        by_relationship: dict[str, int] = {}
        if "days_by_relationship" in table:
            mapping = table["days_by_relationship"]
            if not isinstance(mapping, dict) or not mapping:
                raise self.fail("'days_by_relationship' must map relationship codes to days")
            self.codes(list(mapping), "days_by_relationship", RELATIONSHIPS)
            by_relationship = {k: self.positive(v, f"days_by_relationship.{k}") for k, v in mapping.items()}
        if kind == "interval" and days is None and not by_relationship:
            raise self.fail("an interval schedule needs 'days' or 'days_by_relationship'")
        after = table.get("after")
        if kind == "once_after" and after not in ONCE_AFTER:
            raise self.fail(f"'after' must be one of {', '.join(sorted(ONCE_AFTER))}, not {after!r}")
        permanency = table.get("days_once_permanency_agreed")
        return Schedule(
            type=kind,
            days=days,
            days_by_relationship=by_relationship,
            days_once_permanency_agreed=(
                None if permanency is None else self.positive(permanency, "days_once_permanency_agreed")
            ),
            after=after,
            field=self.text(table, "field") if kind == "form_content" else None,
        )
