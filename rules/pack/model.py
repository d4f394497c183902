"""A loaded rule pack and its rules: what the engine asks of them, worked out once per pack."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from rules.kinds import COUNTING_SESSIONS, LEVELS
from rules.model import Reason, StatusSpell
from rules.pack.applies_to import AppliesTo
from rules.schedules.base import Schedule

# The key of [pack.disposals] for a young person Childview says is also looked after.
LOOKED_AFTER = "looked_after"


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
        return self.schedule.sets_due_dates


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
    # [pack.disposals]: a youth justice disposal (or `looked_after`) -> the policy statuses whose rules it brings
    # in. A disposal is not a status of the policy; left unmapped, a YOS case has the rules for any case.
    disposals: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Each rule as loaded, with a digest of its [[rules]] entry (rules/pack/levels.py). Kept with the rule object
    # itself: a rule made or replaced any other way has none, and then every level counts as changed.
    sources: tuple[tuple[Rule, str], ...] = ()

    def counts_as(self, status: StatusSpell | None) -> frozenset[str]:
        """The policy statuses a case's status brings in besides itself."""
        if status is None or not self.disposals:
            return frozenset()
        found = self.disposals.get(status.status, frozenset())
        if status.looked_after:
            found = found | self.disposals.get(LOOKED_AFTER, frozenset())
        return found

    @property
    def label(self) -> str:
        """The pack as an operator knows it: by its file's name, with the `[pack] name` when that differs
        (a council's copy of a shipped pack still says `name = "lincolnshire"` inside)."""
        stem = self.path.stem
        return self.name if stem == self.name else f"{stem} ([pack] name {self.name})"

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

    def date_rules(self) -> tuple[Rule, ...]:
        """The rules whose schedule reads the day of evaluation itself (beside the engine's own date uses, see
        rules/engine/changes.py): the daily run re-evaluates a subject only on the days these can change."""
        return tuple(r for r in self.rules if r.schedule.depends_on_date)

    def content_of(self, kind: str) -> tuple[Rule, ...]:
        """The form content and assignment rules for obligations of `kind`."""
        return self._content_by_kind.get(kind, ())

    def sessions_for(self, kind: str) -> frozenset[str]:
        """The recorded session kinds that meet (or restart the clock of) an obligation of `kind`."""
        if kind == "case_supervision":
            return self.qualifying_case_sessions
        return COUNTING_SESSIONS.get(kind, frozenset())

    @cached_property
    def _reasons(self) -> dict[tuple[str, str, str], Reason]:
        return {(r.id, r.source, r.words): Reason(r.id, r.source, self.words(r.words)) for r in self.rules}

    def reason(self, rule: Rule) -> Reason:
        """A rule as an obligation cites it, in the council's words: the same for every obligation it times,
        so worked out once per pack."""
        found = self._reasons.get((rule.id, rule.source, rule.words))
        return found if found is not None else Reason(rule.id, rule.source, self.words(rule.words))

    @cached_property
    def _cited(self) -> dict[int, tuple[Rule, tuple[Reason, ...]]]:
        return {id(r): (r, (self.reason(r),)) for r in self.rules}

    def reasons(self, rules: Sequence[Rule]) -> tuple[Reason, ...]:
        """What an obligation timed by `rules` cites, in order. Most have one of the pack's own rules: its
        answer is kept (by the rule's identity, as hashing a rule hashes its whole schedule)."""
        if len(rules) == 1:
            kept = self._cited.get(id(rules[0]))
            if kept is not None and kept[0] is rules[0]:
                return kept[1]
        return tuple(self.reason(r) for r in rules)

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
