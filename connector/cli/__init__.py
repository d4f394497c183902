"""The `connector` command line: thin click wrappers over plain functions, one module per group of commands."""

from connector.cli import backup, caseload, delivery, explaining, packs, reports, running, tools
from connector.cli.main import main

__all__ = ["backup", "caseload", "delivery", "explaining", "main", "packs", "reports", "running", "tools"]
