"""What a tenant's rules were last evaluated with (`tenant_state.fingerprint`), and which kinds of subject a change
of them can affect, so a pack change that alters only case rules re-evaluates the cases and not every worker and
team (rules/pack/levels.py says what each kind reads). Of the cases, a change of only the schedule, wording,
source, precedence or assignee of case-level timing rules re-evaluates only the cases one of those rules applied
to when they were last evaluated (`reevaluate_on.reads`, `case_rules_changed`): a rule that does not apply to a
case is read for nothing else, so its other fields cannot change that case's obligations.

A kind left out is still re-evaluated where the day alone may have changed it (its due subjects, as the daily run
would), so the narrowed re-evaluation leaves the ledger as a full one would. Anything that is not one digest per
kind of the pack (closure days, team tags, the reference prefix, the engine's code, a pack whose rules' entries
are not known, a fingerprint from before the digests) re-evaluates everything.
"""

from __future__ import annotations

import json
from typing import Any

from connector.config import TenantConfig
from rules.pack.levels import SUBJECT_KINDS, case_rule_digests, kind_digests
from rules.version import engine_digest

_KINDS = "kinds"
_CASE_RULES = "case_rules"
# The file's own hash: it changes with a comment too, so the kinds' digests decide what a change affects.
_PACK = "pack"


def fingerprint(tenant: TenantConfig) -> str:
    return json.dumps(
        {
            _PACK: tenant.rule_pack.fingerprint,
            _KINDS: kind_digests(tenant.rule_pack),
            _CASE_RULES: case_rule_digests(tenant.rule_pack),
            "closures": [d.isoformat() for d in tenant.closure_days],
            "tags": {k: sorted(v) for k, v in sorted(tenant.team_tags.items())},
            "prefix": tenant.reference_prefix,
            # The engine's own code, so an upgrade that changes how dates are worked out re-evaluates.
            "engine": engine_digest(),
        },
        sort_keys=True,
    )


def kinds_changed(previous: str, current: str) -> frozenset[str] | None:
    """The kinds of subject to re-evaluate whole after the fingerprint went from `previous` to `current`: none
    when only the digests were added (a fingerprint stored before them, of the same pack); None for every
    subject."""
    before, now = _parsed(previous), _parsed(current)
    if before is None or now is None:
        return None
    old, new = before.pop(_KINDS, None), now.pop(_KINDS, None)
    # Added to the fingerprint after the kinds: a fingerprint without it is of the same rules all the same.
    before.pop(_CASE_RULES, None)
    now.pop(_CASE_RULES, None)
    if before == now:
        return frozenset()
    if {k: v for k, v in before.items() if k != _PACK} != {k: v for k, v in now.items() if k != _PACK}:
        return None
    if not isinstance(old, dict) or not isinstance(new, dict):
        return None
    changed = frozenset(kind for kind in SUBJECT_KINDS if old.get(kind) != new.get(kind))
    # The file changed yet nothing any subject reads did (a comment, say): re-evaluating all is the safe answer.
    return changed or None


def case_rules_changed(previous: str, current: str) -> frozenset[str] | None:
    """The case-level timing rules whose change alone made the cases' digest differ: then only the cases one of
    them applied to need re-evaluating. None when anything else a case reads changed too (or a fingerprint from
    before the split), so every case is re-evaluated."""
    before, now = _parsed(previous), _parsed(current)
    if before is None or now is None:
        return None
    old, new = before.get(_CASE_RULES), now.get(_CASE_RULES)
    if not isinstance(old, dict) or not isinstance(new, dict) or old.get("rest") != new.get("rest"):
        return None
    old_rules, new_rules = old.get("rules"), new.get("rules")
    if not isinstance(old_rules, dict) or not isinstance(new_rules, dict) or old_rules.keys() != new_rules.keys():
        return None
    changed = frozenset(rule for rule, digest in new_rules.items() if old_rules[rule] != digest)
    return changed or None


def _parsed(text: str) -> dict[str, Any] | None:
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None
