"""A batch of pending events cut into parts in which no owner's standing facts change after it was affected.

A batch is evaluated from its final facts: an owner's diff sees where the batch left it, not the states in
between. When a later event of the batch changes what an owner stands on (a case allocated and then closed, a
status changed and changed back, a booking made and cancelled), a cycle the first opened and the second withdrew
never had a ledger row, so the compliance history lacked the outcome the same events processed one at a time
record (withdrawn, late by the day it was withdrawn when its due date had passed). Cut before each such event,
every owner's diffs are the ones one event at a time gives.

Recorded sessions and worked shifts do not cut: they only add to the facts, so what they do to a cycle is meet
it, and the cycles a batch's sessions go past are recorded from the final facts (skipped.py). So a history of
sessions (an import's, a backlog's) is still processed in large batches, and so are events about different
subjects.

Which owners an event affects is asked before the batch is applied (the processor's own `owners_affected`, on
the kept folds as they stand): the cases a worker holds may change within the batch, but an allocation or
transfer that changes them names the worker, so the worker's later events are cut from it anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from connector.pipeline.fold_cache import FoldCache
from connector.pipeline.inbox import Inbox, InboxItem
from connector.pipeline.kept_state import KeptState
from rules.events import Event, ShiftWorked, SupervisionRecorded

# Events that only add what was done (a session held, a shift worked): they meet cycles, never withdraw one.
ADDING_ONLY = (SupervisionRecorded, ShiftWorked)
# (the kept state of the batch's tenant and platform, an event) -> the owners ("case:<id>", ...) it affects.
OwnersOf = Callable[[KeptState, Event], Iterable[str]]


def batch_parts(
    items: list[InboxItem], inbox: Inbox, cache: FoldCache, owners_of: OwnersOf
) -> list[list[InboxItem]]:
    """The batch's items in their order, cut before each one that changes the standing facts of an owner an
    earlier item of the same part affected. One part (the batch itself) when there is none."""
    kept: dict[tuple[str, str], KeptState] = {}
    parts: list[list[InboxItem]] = [[]]
    affected: set[tuple[str, str, str]] = set()
    for item in items:
        key = (item.tenant, item.platform)
        if key not in kept:
            # Read only, never saved: the folds it reads are the batch's own KeptState's to change.
            seqs = (i.seq for i in items if (i.tenant, i.platform) == key)
            kept[key] = KeptState(inbox, item.tenant, item.platform, cache, seqs)
        try:
            owners = {(*key, owner) for owner in owners_of(kept[key], item.event)}
        except Exception:
            # Its subject's folds cannot be read (processing will say why): a part of its own, so it fails alone.
            parts += [[item], []]
            affected = set()
            continue
        if parts[-1] and not isinstance(item.event, ADDING_ONLY) and owners & affected:
            parts.append([])
            affected = set()
        parts[-1].append(item)
        affected |= owners
    return [part for part in parts if part]
