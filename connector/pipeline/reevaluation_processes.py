"""A whole re-evaluation (a rule-pack change, 1 April's daily run) split across processes, one per core.

Why: the engine, the folds' unpickling and the digests are Python, so one process re-evaluates on one core. A
pack change over 500,000 stored cases cost about 145 s of CPU; the issue asks for it within 60 s.

How it stays correct:
- The owners come ordered by the worker holding them (`reevaluation.by_holder`) and are cut into contiguous
  parts, one per process; this process re-evaluates the first, a child process each of the others, each in its
  own slices and short write transactions. No owner is in two parts, so no two processes diff the same owner.
- A batch of events in this process (the work loop, beside the daily run) and a child's slice never overlap:
  each child slice holds `gate`, and while children run each batch takes it too (`Processor.batch_gate`), so
  neither writes from folds read before the other's commit. This process's own slices are kept apart from
  batches by the processor's lock, as before.
- The processes' write transactions take turns (`Processor.write_turn`), so intake (another process, polling
  for SQLite's write lock) waits behind one re-evaluation transaction at most, as with one process: with
  several contending, a webhook met one commit after another.
- A child that fails, or dies, has its part re-evaluated here, whole: an owner it had written already diffs
  nothing the second time (its digest matches), so nothing is lost and nothing doubled.
- A child dies with this process (`killed_with_parent`, and a child whose parent ended before it asked does not
  start): a killed connector leaves no child writing on after it.

The child is started with `spawn` (never `fork`, which would copy this process's open database connections
and its threads' locks) and given the configuration pickled; it opens a database connection of its own.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import os
import pickle
import traceback
from contextlib import nullcontext
from datetime import date
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from connector.config import Config
from connector.pipeline.ledger import DiffCounts
from connector.pipeline.plans import add_counts
from connector.store.url import DatabaseUrl

if TYPE_CHECKING:  # only for the hints: the processor calls in here, and the child makes one
    from multiprocessing.process import BaseProcess

    from connector.pipeline.processor import Processor

log = logging.getLogger(__name__)

# The fewest owners a process is started for: starting one (an interpreter, the imports, the rule packs) costs
# about a second, the time of a few thousand owners' re-evaluation.
PART_AT_LEAST = 10_000
# At most this many processes when `service.reevaluation_processes` is 0 (one per core): beyond it the one
# write lock (SQLite's) is held most of the time anyway.
MOST_BY_DEFAULT = 4

Result = tuple[DiffCounts, dict[str, str]]


def processes_for(config: Config, owners: int) -> int:
    """How many processes re-evaluate this many owners: as configured (0: one per core, up to four), and
    only as many as have at least `PART_AT_LEAST` owners each."""
    wanted = config.service.reevaluation_processes or min(os.cpu_count() or 1, MOST_BY_DEFAULT)
    return max(1, min(wanted, owners // max(PART_AT_LEAST, 1)))


def in_processes(
    processor: Processor,
    tenant_id: str,
    platform: str,
    owners: list[str],
    today: date,
    failed_before: set[str],
) -> Result:
    """Re-evaluate `owners` across as many processes as `processes_for` says: the diff counts and the owners
    that could not be evaluated (with the reason)."""
    parts = split(owners, processes_for(processor.config, len(owners)))
    if len(parts) == 1:
        return processor.reevaluate_part(tenant_id, platform, owners, today, failed_before)
    try:
        config = _pickled(processor.config)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        log.warning("re-evaluating in one process: the configuration cannot be handed to another (%s)", exc)
        return processor.reevaluate_part(tenant_id, platform, owners, today, failed_before)
    log.info("tenant %s: re-evaluating %d subjects in %d processes", tenant_id, len(owners), len(parts))
    spawn = multiprocessing.get_context("spawn")
    gate, write_turn = spawn.Lock(), spawn.Lock()
    children: list[tuple[list[str], BaseProcess, Pipe]] = []
    # The gate is in place before any child reads a fold: a batch running now ends first (it holds the lock).
    with processor.one_at_a_time:
        processor.batch_gate, processor.write_turn = gate, write_turn
    try:
        for part in parts[1:]:
            mine, theirs = spawn.Pipe(duplex=False)
            child = spawn.Process(
                target=child_main,
                args=(
                    os.getpid(), config, processor.db.target, tenant_id, platform, part, today,
                    failed_before & set(part), (gate, write_turn), theirs,
                ),
                name="connector-reevaluation",
                daemon=True,
            )
            child.start()
            theirs.close()
            children.append((part, child, mine))
        totals, failed = processor.reevaluate_part(tenant_id, platform, parts[0], today, failed_before)
        for part, started, pipe in children:
            got = _result(pipe, started)
            if got is None:  # the child failed or died: its part is done here, whole
                got = processor.reevaluate_part(tenant_id, platform, part, today, failed_before)
            totals, failed = add_counts(totals, got[0]), {**failed, **got[1]}
        return totals, failed
    finally:
        for _, started, pipe in children:
            pipe.close()
            if started.is_alive():
                started.kill()
            started.join()
        with processor.one_at_a_time:
            processor.batch_gate = processor.write_turn = nullcontext()


def split(owners: list[str], count: int) -> list[list[str]]:
    """`owners` in `count` contiguous parts of nearly the same size (each worker's cases stay together but at
    the cuts)."""
    size, extra = divmod(len(owners), count)
    parts, start = [], 0
    for n in range(count):
        end = start + size + (1 if n < extra else 0)
        parts.append(owners[start:end])
        start = end
    return [part for part in parts if part] or [[]]


def child_main(
    parent: int,
    config_bytes: bytes,
    database: Path | str | DatabaseUrl,
    tenant_id: str,
    platform: str,
    owners: list[str],
    today: date,
    failed_before: set[str],
    locks: tuple[Any, Any],
    pipe: Pipe,
) -> None:
    """A child's whole life: its part re-evaluated over a connection of its own to the parent's database, then
    the result sent (or the error, as text: ids only, as logged)."""
    from connector.pipeline.collector import fewer_collections
    from connector.pipeline.processor import Processor  # the processor imports this module
    from connector.store.database import Database
    from connector.worker_process import killed_with_parent

    killed_with_parent()
    if os.getppid() != parent:  # it ended before the kernel was asked: nobody waits for this part
        raise SystemExit("a re-evaluation process: the process that started it has ended; not starting")
    config: Config = pickle.loads(config_bytes)
    db = Database(database)
    try:
        processor = Processor(db, config, today=lambda: today)
        processor.slice_gate, processor.write_turn = locks
        # As the parent's run does (service.py): the WAL is checkpointed after each commit, outside the lock.
        with db.checkpoints_outside_the_lock(), fewer_collections():
            result = processor.reevaluate_part(tenant_id, platform, owners, today, failed_before)
        pipe.send(("done", result))
    except BaseException:
        pipe.send(("failed", traceback.format_exc()))
    finally:
        db.close()
        pipe.close()


def _result(pipe: Pipe, child: BaseProcess) -> Result | None:
    try:
        kind, value = pipe.recv()
    except (EOFError, OSError):
        child.join()
        log.error("a re-evaluation process ended (exit code %s) before its part was done", child.exitcode)
        return None
    if kind != "done":
        log.error("a re-evaluation process failed; its part is re-evaluated here:\n%s", value)
        return None
    counts, failed = value
    return counts, failed


class _ConfigPickler(pickle.Pickler):
    """The configuration's read-only tables are mapping proxies, which pickle cannot take as they are."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is MappingProxyType:
            return _read_only, (dict(obj),)
        return NotImplemented


def _read_only(table: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(table)


def _pickled(config: Config) -> bytes:
    buffer = io.BytesIO()
    _ConfigPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(config)
    return buffer.getvalue()
