"""The `connector` command group and what every command shares: loading the config, one-line errors.

Every failure an operator can cause prints one line, `connector: error: ...`, and exits 2.
"""

from __future__ import annotations

import sys
from datetime import date
from typing import NoReturn

import click

from connector.config import Config, ConfigError, load_config_file
from connector.observability.logs import configure_logging


def fail(message: str) -> NoReturn:
    click.echo(f"connector: error: {message}", err=True)
    sys.exit(2)


def read_config(path: str) -> Config:
    """The config, checked, with logging set as it says; the database is not touched (a backup must not create
    or migrate the database it copies)."""
    try:
        config = load_config_file(path)
    except ConfigError as exc:
        fail(exc.one_line())
    configure_logging(config.logging.format, config.logging.level)
    return config


def load_config(path: str) -> Config:
    """The config, with its database opened and migrated once, so a bad path is one line, not a traceback."""
    from connector.store.database import Database, StorageError

    config = read_config(path)
    db = Database(config.database)
    try:
        db.check()
    except StorageError as exc:
        fail(str(exc))
    finally:
        db.close()
    return config


def parse_date_option(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date in the form YYYY-MM-DD")


config_option = click.option(
    "--config", "config_path", required=True, type=click.Path(dir_okay=False), help="The TOML config file."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--log-level", default="INFO", show_default=True, help="DEBUG, INFO, WARNING or ERROR.")
def main(log_level: str) -> None:
    """Supervision connector: councils' supervision rules applied to Mosaic and Childview events."""
    configure_logging("text", log_level)
