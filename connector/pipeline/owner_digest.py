"""A digest of the obligations one owner's evaluation asked the ledger to hold, stored beside its re-evaluation
day (`reevaluate_on.digest`), so a re-evaluation that gives the same obligations again skips the diff.

Why it is enough: the ledger's diff of an owner leaves every open row of that owner matching one of the desired
obligations, field for field (the others ended, new cycles created). What else touches those rows afterwards
only closes them (the platform completed a step, a session met it) or marks them overdue, and a closed or met
row is one the next diff leaves alone; so the same desired obligations diffed again change nothing, and cost no
text, no row read and no met check. The digest is written in the transaction that applied the diff (and by
every diff, the event path's too), so it always names what the ledger was last made to hold; a digest that
differs, or none stored (an owner not evaluated since), is diffed in full.

It covers every field the ledger's rows and writes are made from, and the texts by what writes them: the pack's
wording (`what`, `more`, the form's fields, each written value), the due date, the reasons and the fact counted
from, the pack's vocabulary and the engine's own code (`rules.version.engine_digest`, so an upgrade that writes
the texts differently diffs in full). A wording of another kind is digested by its texts themselves: slower, but
never wrong. A digest can only differ where the texts are the same (then the diff finds nothing to write), never
match where they differ.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from rules.explain import Later, PackWording
from rules.model import Obligation, Reason, Written
from rules.pack import RulePack
from rules.version import engine_digest

# Bumped when what the digest covers changes, so digests stored by an older connector are diffed in full once.
DIGEST_VERSION = "1"
_SEPARATOR = "\x1f"

_code: list[bytes] = []
_vocabularies: dict[int, tuple[RulePack, str]] = {}
_REASONS: dict[tuple[Reason, ...], str] = {}


def desired_digest(obligations: Sequence[Obligation]) -> str:
    """The digest of an owner's desired obligations, whatever order the engine gave them in."""
    digest = hashlib.blake2b(_code_digest(), digest_size=16)
    for line in sorted(_line(o) for o in obligations):
        digest.update(line.encode())
        digest.update(b"\x1e")
    return digest.hexdigest()


def _code_digest() -> bytes:
    if not _code:
        _code.append(f"{DIGEST_VERSION}:{engine_digest()}".encode())
    return _code[0]


def _line(o: Obligation) -> str:
    basis = o.counted_from
    parts = [
        o.kind,
        o.scope,
        o.holder,
        str(o.cycle),
        o.assignee_id,
        _text(o.case_id),
        _text(o.team_id),
        o.due_date.isoformat(),
        _text(o.supervisor_id),
        basis.fact,
        basis.on.isoformat(),
        _reasons(o.reasons),
    ]
    wording = o.wording
    if type(wording) is PackWording:
        values = [(name, v if isinstance(v, str) else _written(v)) for name, v in wording.fields]
        parts += ["pack", _vocabulary(wording.pack), wording.what, repr(wording.more), repr(values)]
    elif type(wording) is Written:
        parts += ["written", wording.text, repr(wording.fields)]
    else:
        parts += ["texts", o.explanation, repr(o.form)]
    return _SEPARATOR.join(parts)


def _reasons(reasons: tuple[Reason, ...]) -> str:
    """The same few rule combinations time every obligation of a tenant: each one's text is made once."""
    found = _REASONS.get(reasons)
    if found is None:
        if len(_REASONS) > 10_000:
            _REASONS.clear()
        found = _REASONS[reasons] = repr([(r.rule_id, r.source, r.words) for r in reasons])
    return found


def _written(value: Later) -> str:
    return value.write()


def _text(value: str | None) -> str:
    return "\x00" if value is None else value


def _vocabulary(pack: RulePack) -> str:
    """The pack's vocabulary (which words every text is written in), worked out once per pack."""
    found = _vocabularies.get(id(pack))
    if found is None or found[0] is not pack:
        if len(_vocabularies) > 100:
            _vocabularies.clear()
        words = repr(sorted(pack.vocabulary.items()))
        found = _vocabularies[id(pack)] = (pack, hashlib.blake2b(words.encode(), digest_size=8).hexdigest())
    return found[1]
