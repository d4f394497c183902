"""The platforms the connector knows, by the name used in config and webhook URLs."""

from __future__ import annotations

from adapters.base import PlatformAdapter
from adapters.childview import ChildviewAdapter
from adapters.mosaic import MosaicAdapter

ADAPTERS: dict[str, PlatformAdapter] = {
    "mosaic": MosaicAdapter(),
    "childview": ChildviewAdapter(),
}


class UnknownPlatformError(KeyError):
    pass


def get_adapter(name: str) -> PlatformAdapter:
    """The adapter registered under `name`; fails loudly on a name nobody registered."""
    try:
        return ADAPTERS[name]
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise UnknownPlatformError(f"unknown platform {name!r} (known: {known})") from None
