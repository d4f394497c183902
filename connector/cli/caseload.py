"""`connector import`: loading a caseload extract, and reconciling a full one (docs/import.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from connector.cli.main import config_option, fail, load_config, main


@main.command("import")
@config_option
@click.option("--tenant", required=True, help="The tenant id.")
@click.option(
    "--platform", required=True, type=click.Choice(["mosaic", "childview"]), help="Whose ids and fields."
)
@click.option(
    "--as-of", "as_of_text", default=None, help="When the extract was taken (date or date-time); default now."
)
@click.option(
    "--kind",
    default=None,
    type=click.Choice(["workers", "allocations", "statuses", "supervisions", "bookings"]),
    help="The record kind, when the file name does not say.",
)
@click.option("--skip-bad-rows", is_flag=True, help="Store the good rows of a file with bad ones (listed).")
@click.option("--reconcile", is_flag=True, help="A full extract: store corrective events for what differs.")
@click.option(
    "--progress/--no-progress", default=None, help="A progress bar on stderr (default: when a terminal)."
)
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def import_command(
    config_path: str,
    tenant: str,
    platform: str,
    as_of_text: str | None,
    kind: str | None,
    skip_bad_rows: bool,
    reconcile: bool,
    progress: bool | None,
    files: tuple[Path, ...],
) -> None:
    """Load a caseload extract (CSV or JSON Lines, one file per record kind); see docs/import.md."""
    from connector.importing.command import ImportCommandError, parse_as_of, report, run_import

    config = load_config(config_path)
    show = sys.stderr.isatty() if progress is None else progress
    try:
        as_of = parse_as_of(as_of_text)
        result = run_import(
            config, tenant, platform, list(files), as_of, kind, skip_bad_rows, reconcile, show
        )
    except ImportCommandError as exc:
        fail(str(exc))
    report(result, click.echo)
    if result.refused:
        fail(f"{result.bad_rows} bad row(s); nothing was stored (fix them, or give --skip-bad-rows)")
