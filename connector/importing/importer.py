"""`connector import`: a caseload extract validated row by row, then stored as the events webhooks would be.

Two steps, so that nothing of a bad extract is stored: every row of every file is validated (with the platform
adapter's webhook schemas) and parked in a scratch spool; only when no row failed (or `--skip-bad-rows`) are the
good rows written to the inbox, a batch to a transaction. The running service then processes them as it does
webhooks. With `reconcile`, workers, allocations and statuses are compared with what the connector holds and
only corrective events are stored (connector.importing.reconcile).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from adapters.base import PlatformAdapter
from adapters.registry import get_adapter
from connector.importing.layouts import Layout, format_of, kind_of, layout_for
from connector.importing.reading import read_rows
from connector.importing.reconcile import RECONCILED_KINDS, ReconcileCounts, reconcile
from connector.importing.rows import event_of
from connector.importing.store import Prepared, Spool, write_batches
from connector.store.database import Database
from rules.events import Event

MAX_LISTED = 100

Progress = Callable[["ExtractFile"], AbstractContextManager[Callable[[int], None]]]


@dataclass(frozen=True)
class ExtractFile:
    path: Path
    kind: str
    fmt: str
    layout: Layout

    @property
    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0


@dataclass
class FileResult:
    name: str
    kind: str
    rows: int = 0
    bad_rows: int = 0
    problems: list[str] = field(default_factory=list)  # the first MAX_LISTED, as "file:line: field: message"


@dataclass
class ImportResult:
    files: list[FileResult]
    stored: int = 0
    already_held: int = 0
    refused: bool = False  # bad rows and no --skip-bad-rows: nothing was stored
    corrections: ReconcileCounts | None = None

    @property
    def bad_rows(self) -> int:
        return sum(f.bad_rows for f in self.files)


def plan_files(paths: Sequence[Path], platform: str, kind: str | None) -> list[ExtractFile]:
    """Each file's kind, format and layout; raises LayoutError naming the first file that has none."""
    return [
        ExtractFile(p, kind_of(p, kind), format_of(p), layout_for(platform, kind_of(p, kind), p))
        for p in paths
    ]


def _subject(extract: ExtractFile, event: Event) -> str:
    """The subject a full extract holds one set of rows for (the reconcile compares per subject)."""
    if not extract.layout.subject:
        return ""
    ids = event.worker_ids() if extract.kind == "workers" else event.case_ids()
    return f"{'worker' if extract.kind == 'workers' else 'case'}:{ids[0]}"


def import_extract(
    db: Database,
    tenant: str,
    platform: str,
    files: Sequence[ExtractFile],
    as_of: datetime,
    skip_bad_rows: bool = False,
    reconcile_state: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    adapter = get_adapter(platform)
    spool = Spool()
    try:
        results = [_validate(adapter, tenant, f, as_of, spool, progress) for f in files]
        spool.seal()
        result = ImportResult(results)
        if result.bad_rows and not skip_bad_rows:
            result.refused = True
            return result
        imported = tuple(f.kind for f in files if not (reconcile_state and f.kind in RECONCILED_KINDS))
        valid = sum(r.rows - r.bad_rows for r in results if r.kind in imported)
        if imported:
            result.stored = write_batches(db, tenant, platform, "import", spool.batches(imported))
            result.already_held = valid - result.stored
        if reconcile_state:
            kinds = tuple(k for k in RECONCILED_KINDS if any(f.kind == k for f in files))
            result.corrections = reconcile(db, tenant, platform, spool, kinds, as_of)
            result.stored += result.corrections.total
        return result
    finally:
        spool.close()


def _validate(
    adapter: PlatformAdapter,
    tenant: str,
    extract: ExtractFile,
    as_of: datetime,
    spool: Spool,
    progress: Progress | None,
) -> FileResult:
    result = FileResult(extract.path.name, extract.kind)
    bar = progress(extract) if progress is not None else nullcontext(None)
    with bar as advance:
        for row in read_rows(extract.path, extract.fmt, extract.layout, advance):
            result.rows += 1
            outcome = event_of(adapter, extract.layout, tenant, row, as_of)
            if isinstance(outcome, dict):
                result.bad_rows += 1
                if len(result.problems) < MAX_LISTED:
                    for path, messages in sorted(outcome.items()):
                        result.problems.append(
                            f"{extract.path.name}:{row.line}: {path}: {' '.join(messages)}"
                        )
                continue
            prepared = Prepared.of(outcome.event_id, outcome)
            spool.add(extract.kind, _subject(extract, outcome), prepared)
    return result
