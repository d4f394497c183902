"""A config file on disk, for tests that drive the `connector` command line."""

from __future__ import annotations

from pathlib import Path

from connector.sandbox import CONFIG_TEMPLATE, SANDBOX_SECRET, SANDBOX_TOKEN, STEP_TYPES


def write_config(folder: Path, base_url: str = "http://127.0.0.1:9/api", extra: str = "") -> Path:
    """The sandbox's config (database `connector.db` beside it) with `extra` TOML tables appended."""
    path = folder / "connector.toml"
    path.write_text(
        CONFIG_TEMPLATE.format(
            base_url=base_url,
            token=SANDBOX_TOKEN,
            secret=SANDBOX_SECRET,
            step_types="\n".join(f"{k} = {v}" for k, v in STEP_TYPES.items()),
        )
        + extra,
        encoding="utf-8",
    )
    return path
