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
    entries = {id(rule): (rule, digest) for rule, digest in pack.sources}
    digests: dict[int, str] = {}  # by identity: hashing a rule hashes its whole schedule
    for rule in pack.rules:
        found = entries.get(id(rule))
        if found is None or found[0] is not rule:
            return None
        digests[id(rule)] = f"{found[1]}:{rule.assignee}"
    head = json.dumps(
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
    found_digests: dict[str, str] = {}
    for kind in SUBJECT_KINDS:
        digest = hashlib.sha256(head.encode())
        for rule in pack.rules:
            if reads(kind, rule):
                digest.update(f"\x1f{rule.id}={digests[id(rule)]}".encode())
        found_digests[kind] = digest.hexdigest()
    return found_digests
