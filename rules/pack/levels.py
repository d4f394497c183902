"""Which of a pack's rules each kind of subject is evaluated with, and a digest of them for each, so that a pack
change re-evaluates only the kinds of subject it can change (connector/pipeline/rule_change.py).

What each evaluation reads of the pack (rules/engine): a case, the case-level rules and, through
`Clock.personal`, the personal supervision rules of the workers allocated to it (BFC-CS-EVERY); a worker, the
worker-level rules and every rule whose schedule reads the day of evaluation (`changes.worker_changes` asks
each one that matches the worker, whatever its level); a team, the team-level rules. Every one reads the pack's
head (vocabulary, qualifying sessions, disposals) and which rules there are, of which kinds, in which order
(`levels()`, `has_worker_rules`, the keys kept answers are stored under): those go into every kind's digest, so
changing them, or adding or removing a rule, re-evaluates everything.
"""

from __future__ import annotations

import hashlib
import json

from rules.kinds import LEVELS
from rules.pack.model import Rule, RulePack

SUBJECT_KINDS = ("case", "worker", "team")


def reads(kind: str, rule: Rule) -> bool:
    """Whether evaluating a subject of this kind can read this rule."""
    level = LEVELS[rule.kind]
    if level == kind:
        return True
    if kind == "case":
        return rule.kind == "personal_supervision"
    if kind == "worker":
        return rule.schedule.depends_on_date
    return False


def kind_digests(pack: RulePack) -> dict[str, str] | None:
    """A digest per kind of subject of everything of the pack its evaluation reads; None when a rule's entry is
    not known (a pack not loaded from its file), so that every kind counts as changed."""
    digests = _rule_digests(pack)
    if digests is None:
        return None
    head = _head(pack)
    found_digests: dict[str, str] = {}
    for kind in SUBJECT_KINDS:
        digest = hashlib.sha256(head.encode())
        for rule in pack.rules:
            if reads(kind, rule):
                digest.update(f"\x1f{rule.id}={digests[id(rule)]}".encode())
        found_digests[kind] = digest.hexdigest()
    return found_digests


# The kinds whose rules a case reads only where they apply (rules.engine.cases.case_rules): the schedule,
# wording, source, precedence and assignee of one of these are read for the cases it applies to and no others.
CASE_TIMING_KINDS = frozenset({"case_supervision", "fsm_group_supervision", "supervision_record"})


def narrows(rule: Rule) -> bool:
    """Whether a change to this rule (but not to its `applies_to`) can change only the cases it applies to."""
    return rule.kind in CASE_TIMING_KINDS and rule.sets_due_dates


def case_rule_digests(pack: RulePack) -> dict[str, object] | None:
    """What a case's evaluation reads of the pack, split in two: `rules`, a digest of each rule that `narrows`
    (its entry but for which cases it applies to), read only for the cases it applies to; and `rest`, a digest
    of all the rest (the head, the other rules a case reads, and which cases each of those applies to). When
    only `rules` differ, a pack change can change only the cases that one of the changed rules applied to (their
    stored `reads`, connector/pipeline/rule_change.py). None when a rule's entry is not known."""
    digests = _rule_digests(pack)
    if digests is None:
        return None
    rest = hashlib.sha256(_head(pack).encode())
    rules: dict[str, str] = {}
    for rule in pack.rules:
        if not reads("case", rule):
            continue
        if narrows(rule):
            rules[rule.id] = digests[id(rule)]
            rest.update(f"\x1f{rule.id} applies to {rule.applies_to.canonical()}".encode())
        else:
            rest.update(f"\x1f{rule.id}={digests[id(rule)]}".encode())
    return {"rest": rest.hexdigest(), "rules": rules}


def _rule_digests(pack: RulePack) -> dict[int, str] | None:
    """Each rule's entry digest (with its assignee, which an override may change), by the rule's identity:
    hashing a rule hashes its whole schedule."""
    entries = {id(rule): (rule, digest) for rule, digest in pack.sources}
    digests: dict[int, str] = {}
    for rule in pack.rules:
        found = entries.get(id(rule))
        if found is None or found[0] is not rule:
            return None
        digests[id(rule)] = f"{found[1]}:{rule.assignee}"
    return digests


def _head(pack: RulePack) -> str:
    return json.dumps(
        {
            "name": pack.name,
            "council": pack.council,
            "policy": pack.policy,
            "qualifying": sorted(pack.qualifying_case_sessions),
            "vocabulary": sorted(pack.vocabulary.items()),
            "disposals": sorted((k, sorted(v)) for k, v in pack.disposals.items()),
            "rules": [(rule.id, rule.kind) for rule in pack.rules],
        },
        sort_keys=True,
    )
