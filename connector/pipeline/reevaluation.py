"""How a whole re-evaluation (a rule-pack change, the daily run) reads a slice and writes only what changed.

A slice's folds are read in bulk; every owner is evaluated before the write lock; then only the owners whose
desired obligations differ from the digest their last diff stored (pipeline/owner_digest.py) are diffed, and
only days and digests that changed are written. A pack change that moves one obligation in seven writes one
owner in seven, in transactions of at most `WRITE_PART` rows' worth, and a slice with nothing to write opens
none: each commit is an fsync (and a WAL checkpoint after it), which cost more than the diffs themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from connector.pipeline.inbox import Inbox
from connector.pipeline.kept_state import KeptState
from connector.pipeline.met import MetCheck, SessionFinder
from connector.pipeline.reevaluate_on import Stored, cases_reading, day_text, digest_unchanged, due_owners
from connector.store.engines.base import Connection
from rules.model import Obligation
from rules.pack.levels import SUBJECT_KINDS

if TYPE_CHECKING:  # only for the hints: the processor runs the re-evaluation with these
    from connector.pipeline.evaluator import Evaluator, _Facts

log = logging.getLogger(__name__)

# About this many ledger rows (an owner's desired obligations, plus one for its day) per write transaction, as
# intake needs the write lock within 100 ms: at 500k cases on 1 April (bench/daily.py), parts of 200 rows held it
# 35-42 ms of CPU each, and up to 109 ms on a loaded machine.
WRITE_PART = 100


def owners_to_reevaluate(
    conn: Connection,
    inbox: Inbox,
    tenant: str,
    platform: str,
    today: date,
    kinds: frozenset[str] | None,
    case_rules: frozenset[str] | None = None,
) -> list[str]:
    """Every subject of these kinds (None: of every kind) and, of the other kinds, those whose obligations the
    day alone may have changed since they were last evaluated (`due_owners`), in order: what a rule change
    re-evaluates (empty `kinds`: what the daily run does). With `case_rules` (a change of only those
    case-level timing rules, pipeline/rule_change.py), of the cases only those one of them applied to, and the
    due. Without the days stored (a database from before them) every subject is taken."""
    due = None if kinds is None else due_owners(conn, tenant, platform, today)
    if due is None:
        kinds, case_rules = frozenset(SUBJECT_KINDS), None
    # Every subject evaluated has its day stored, and every one an event named has a kept fold.
    owners = {owner for owner in due or () if owner.split(":", 1)[0] in SUBJECT_KINDS}
    for kind in sorted(kinds or ()):
        if kind == "case" and case_rules is not None:
            owners.update(cases_reading(conn, tenant, platform, case_rules))
        else:
            owners.update(f"{kind}:{sid}" for sid in inbox.subjects(tenant, platform, kind))
    return by_holder(conn, tenant, platform, owners)


def by_holder(conn: Connection, tenant: str, platform: str, owners: Iterable[str]) -> list[str]:
    """The owners with each worker's cases next to each other (by the worker holding the case's open obligations
    in the ledger; workers, teams and cases with none first, each in order). Slices in id order met nearly every
    worker in every slice, and once the workers' folds outgrew the fold cache's budget (1,500 of a year's
    caseload of 17 cases) every slice read and unpickled them again: the run cost twice as much per case at
    100,000 cases as at 20,000. Only the order changes: each slice is evaluated and written on its own."""
    holders = {
        row[0]: row[1]
        for row in conn.execute(
            "SELECT owner, MIN(holder) FROM obligations WHERE tenant = ? AND platform = ?"
            " AND owner LIKE 'case:%' AND status = 'open' GROUP BY owner",
            (tenant, platform),
        )
    }
    return sorted(owners, key=lambda owner: (holders.get(owner, ""), owner))


# What a subject weighs in a slice, in cases: its kept fold and the facts its evaluation brings in stay in memory
# until the slice ends. Unpickled, a team's fold (every session of its members) is about 570 KB against a case's
# 4.6 KB, a worker's 40 KB (fold_cache.py); and a team's evaluation makes every member's facts. In slices of 2,000
# owners, the first evaluation of 500,000 cases met its 2,000 teams in one slice: a process peaked at 5.2 GB.
SLICE_WEIGHTS = {"case": 1, "worker": 4, "team": 100}


def slices(owners: list[str], size: int) -> Iterator[list[str]]:
    """The owners, in order, in slices weighing at most `size` (`SLICE_WEIGHTS`; each slice one owner at least)."""
    chunk: list[str] = []
    weight = 0
    for owner in owners:
        weighs = 1 if owner.startswith("case:") else SLICE_WEIGHTS.get(owner.split(":", 1)[0], 1)
        if chunk and weight + weighs > size:
            yield chunk
            chunk, weight = [], 0
        chunk.append(owner)
        weight += weighs
    if chunk:
        yield chunk


def read_slice(kept: KeptState, facts: _Facts, owners: list[str]) -> None:
    """The kept folds of a slice's subjects and of the workers its cases are allocated to, read in bulk."""
    kept.read_many(owners)
    workers: list[str] = []
    for owner in owners:
        if owner.startswith("case:"):
            try:
                case = facts.case(owner[5:])
            except Exception:  # the owner's own evaluation meets it again, and records it
                continue
            workers += [f"worker:{a.worker_id}" for a in case.allocations] if case is not None else []
    kept.read_many(workers)


@dataclass
class Evaluations:
    """A slice's evaluations: each owner's obligations (not of those that failed), day to re-evaluate on and
    rules read, and why each that failed did."""

    desired: list[tuple[str, list[Obligation]]] = field(default_factory=list)
    changes: dict[str, date | None] = field(default_factory=dict)
    reads: dict[str, str | None] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def evaluate_each(evaluator: Evaluator, facts: _Facts, owners: Iterable[str], today: date) -> Evaluations:
    """Each owner's obligations and day to re-evaluate on; one owner's error is logged (ids only) and returned
    instead of raised, so the others go on. A failed owner is left out of the diff: its ledger rows stay as they
    were rather than being withdrawn as if nothing were owed; it is due again the next day, and read no rules
    the record of which a pack change could trust."""
    found = Evaluations()
    desired, changes, reads, failed = found.desired, found.changes, found.reads, found.failed
    for owner in sorted(owners):
        try:
            obligations, changes[owner], reads[owner] = evaluator.evaluate(facts, owner, today)
            desired.append((owner, obligations))
        except Exception as exc:
            log.exception("tenant %s: %s could not be evaluated", evaluator.tenant.id, owner)
            failed[owner] = f"{type(exc).__name__}: {exc}"
            changes[owner] = today
    return found


@dataclass
class WritePart:
    """One write transaction's share of a slice: the owners to diff, and the days (and digests) to store."""

    desired: list[tuple[str, list[Obligation]]] = field(default_factory=list)
    changes: dict[str, date | None] = field(default_factory=dict)
    rows: int = 0


def write_parts(
    evaluated: Evaluations, digests: Mapping[str, str], known: Mapping[str, Stored], size: int | None = None
) -> list[WritePart]:
    """The slice's writes in parts of about `size` rows. `changes` holds every owner tried (those that could
    not be evaluated too, which are in no `desired` and get their day without a digest); an owner whose digest,
    day and rules read are all as stored is in no part."""
    size = WRITE_PART if size is None else size
    wanted = dict(evaluated.desired)
    reads = evaluated.reads
    parts: list[WritePart] = []
    part = WritePart()
    for owner, day in evaluated.changes.items():
        obligations = wanted.get(owner)
        if obligations is not None and not digest_unchanged(known, owner, digests[owner]):
            part.desired.append((owner, obligations))
            part.rows += len(obligations)
        elif known.get(owner) == (day_text(day), digests.get(owner), reads.get(owner)):
            continue
        part.changes[owner] = day
        part.rows += 1
        if part.rows >= size:
            parts.append(part)
            part = WritePart()
    if part.changes:
        parts.append(part)
    return parts


def before_the_lock(
    evaluator: Evaluator, facts: _Facts, part: WritePart
) -> dict[str, tuple[MetCheck, SessionFinder]]:
    """What a part's diffs need that can be worked out before the write lock: the met checks of its owners, and
    their obligations' texts (written once, kept by each obligation), so the lock is held for the writes."""
    for _, obligations in part.desired:
        for obligation in obligations:
            _ = obligation.explanation, obligation.form
    return {owner: evaluator.met_checks(facts, owner) for owner, _ in part.desired}


def earlier_failures(conn: Connection, tenant: str, platform: str) -> set[str]:
    """The subjects a re-evaluation could not evaluate last time (the only ones a success has to clear)."""
    rows = conn.execute(
        "SELECT subject FROM failures WHERE tenant = ? AND platform = ? AND stage = 'evaluate'",
        (tenant, platform),
    ).fetchall()
    return {row[0] for row in rows}
