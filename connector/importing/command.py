"""The `connector import` command's work outside click: options checked, the import run, the report printed."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from connector.config import Config
from connector.importing.importer import ExtractFile, ImportResult, import_extract, plan_files
from connector.importing.layouts import LayoutError
from connector.importing.reading import ExtractError
from connector.store.database import Database

LONDON = ZoneInfo("Europe/London")


class ImportCommandError(Exception):
    """An option or file the operator got wrong; the message is the one line to print."""


def parse_as_of(text: str | None, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> datetime:
    """`--as-of`: a date (the start of that day in London) or a date-time with its offset; default now."""
    if text is None:
        return now()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), LONDON)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ImportCommandError(
            f"--as-of: {text!r} is not a date (YYYY-MM-DD) or a date-time with offset (2026-12-01T02:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        raise ImportCommandError(f"--as-of: {text!r} has no UTC offset (e.g. 2026-12-01T02:00:00Z)")
    return moment


def run_import(
    config: Config,
    tenant: str,
    platform: str,
    paths: list[Path],
    as_of: datetime,
    kind: str | None,
    skip_bad_rows: bool,
    reconcile: bool,
    progress: bool,
) -> ImportResult:
    if tenant not in config.tenants:
        raise ImportCommandError(
            f"--tenant: no tenant {tenant!r} in the config (configured: {', '.join(sorted(config.tenants))})"
        )
    if platform not in config.tenants[tenant].platforms:
        raise ImportCommandError(f"--platform: tenant {tenant!r} has no {platform} platform configured")
    try:
        files = plan_files(paths, platform, kind)
    except LayoutError as exc:
        raise ImportCommandError(str(exc)) from None
    for extract in files:
        if not extract.path.is_file():
            raise ImportCommandError(f"{extract.path}: no such file")
    db = Database(config.database)
    try:
        db.migrate()
        return import_extract(
            db,
            tenant,
            platform,
            files,
            as_of,
            skip_bad_rows=skip_bad_rows,
            reconcile_state=reconcile,
            progress=_bar if progress else None,
        )
    except ExtractError as exc:
        raise ImportCommandError(str(exc)) from None
    finally:
        db.close()


@contextmanager
def _bar(extract: ExtractFile) -> Iterator[Callable[[int], None]]:
    # Sized in characters read: a streamed file's row count is not known until it has been read.
    length = max(extract.size, 1)
    with click.progressbar(length=length, label=extract.path.name, file=sys.stderr) as bar:

        def advance(n: int) -> None:
            bar.update(n)

        yield advance


def report(result: ImportResult, echo: Callable[..., None]) -> None:
    for f in result.files:
        bad = f", {f.bad_rows} bad" if f.bad_rows else ""
        echo(f"{f.name}: {f.rows} {f.kind} row(s){bad}")
        for problem in f.problems:
            echo(f"  {problem}", err=True)
        if f.bad_rows > len(f.problems):
            echo(f"  ... and {f.bad_rows - len(f.problems)} more bad row(s) in {f.name}", err=True)
    if result.refused:
        return
    if result.corrections is not None:
        c = result.corrections
        echo(
            f"reconcile: {c.total} corrective event(s): {c.allocated} allocation(s), {c.deallocated}"
            f" de-allocation(s), {c.statuses} status(es), {c.workers} worker(s)"
        )
    skipped = f"; {result.bad_rows} bad row(s) skipped" if result.bad_rows else ""
    echo(f"stored {result.stored} new event(s), {result.already_held} already held{skipped}")
