"""A config file on disk, for tests that drive the `connector` command line."""

from __future__ import annotations

from pathlib import Path

from connector.sandbox.samples import config_text


def write_config(
    folder: Path,
    base_url: str = "http://127.0.0.1:9/api",
    extra: str = "",
    childview_url: str = "http://127.0.0.1:9/api",
) -> Path:
    """The sandbox's config (database `connector.db` beside it; a tenant on Mosaic and Childview) with `extra`
    TOML tables appended."""
    path = folder / "connector.toml"
    path.write_text(config_text("connector.db", base_url, childview_url) + extra, encoding="utf-8")
    path.chmod(
        0o600
    )  # it holds the sandbox's secrets inline, as a real config should not be readable by others
    return path
