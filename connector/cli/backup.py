"""`connector backup`: a consistent copy of the live database, taken while the service runs."""

from __future__ import annotations

import click

from connector.cli.main import config_option, fail, main, read_config
from connector.store.url import DatabaseUrl


@main.command()
@config_option
@click.option("--to", "target", required=True, type=click.Path(dir_okay=False), help="The file to write.")
@click.option("--force", is_flag=True, help="Replace the file if it exists.")
def backup(config_path: str, target: str, force: bool) -> None:
    """Copy the live database consistently (SQLite's online backup), even while the service runs."""
    from connector.store.backup import BackupError, backup_database

    config = read_config(config_path)  # not load_config: a backup never creates or migrates the live database
    if isinstance(config.database, DatabaseUrl):
        fail(f"storage.database: {config.database} is a PostgreSQL database; back it up with pg_dump")
    try:
        pages = backup_database(config.database, target, force=force)
    except BackupError as exc:
        fail(str(exc))
    click.echo(f"backed up {config.database} to {target} ({pages} pages)")
