"""A consistent copy of the live database, taken while the service keeps running.

SQLite's online backup API copies page by page and restarts the copy if a writer changes a page it has already
copied, so the copy is one committed state of the database: never half a transaction, whatever else is running.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class BackupError(Exception):
    """A backup that cannot be taken; the message names the file and the problem."""


def backup_database(source: Path | str, target: Path | str, force: bool = False) -> int:
    """Copy the database at `source` to `target`; returns the number of pages copied.

    Refuses to replace an existing file unless `force`; the copy is written beside the target and renamed into
    place only once it is whole, so an interrupted backup never leaves a truncated file under the target's name.
    """
    source_path, target_path = Path(source), Path(target)
    if not source_path.is_file():
        raise BackupError(f"{source_path}: no database there to back up")
    if target_path.exists() and not force:
        raise BackupError(f"{target_path}: already exists (give --force to replace it)")
    if not target_path.parent.is_dir():
        raise BackupError(f"{target_path.parent}: no such folder")
    partial = target_path.with_name(target_path.name + ".partial")
    partial.unlink(missing_ok=True)
    pages = 0

    def progress(status: int, remaining: int, total: int) -> None:
        nonlocal pages
        pages = total

    # Read-only on the source: a backup must never be the thing that creates or changes the live database.
    src = sqlite3.connect(f"{source_path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(partial)
        try:
            # Whole-file steps (-1) hold the source's read lock only for one pass; writers in WAL mode carry on.
            src.backup(dst, pages=-1, progress=progress)
            # The copy is a standalone file: no WAL beside it to lose when it is moved.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"{source_path}: backup failed: {exc}") from None
    finally:
        src.close()
    partial.replace(target_path)
    return pages
