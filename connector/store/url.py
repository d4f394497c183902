"""A database server's address from `storage.database`, with its password kept apart and never shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

# The schemes `storage.database` accepts for a server; anything else with `://` is refused by check-config.
SERVER_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class DatabaseUrl:
    url: str
    password: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return self.shown

    @property
    def shown(self) -> str:
        """The URL without any password, for messages and logs."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        user = f"{parts.username}@" if parts.username else ""
        return f"{parts.scheme}://{user}{host}{port}{parts.path}"
