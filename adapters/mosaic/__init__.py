"""The Mosaic adapter: Mosaic's events in, workflow steps, form stubs and notifications out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from adapters.mosaic.client import MosaicClient
from adapters.mosaic.events import parse_mosaic_event
from adapters.mosaic.settings import MosaicSettings, parse_mosaic_settings
from adapters.mosaic.writer import MosaicWriter
from rules.events import Event


def _mosaic(settings: Any) -> MosaicSettings:
    # The interface passes settings as Any (each platform has its own); a mix-up must fail even under -O.
    if not isinstance(settings, MosaicSettings):
        raise TypeError(f"expected MosaicSettings, got {type(settings).__name__}")
    return settings


class MosaicAdapter:
    """adapters.base.PlatformAdapter for Mosaic."""

    name = "mosaic"

    def parse_event(self, body: Mapping[str, Any]) -> Event:
        return parse_mosaic_event(body)

    def parse_settings(self, raw: Mapping[str, Any], environ: Mapping[str, str]) -> MosaicSettings:
        return parse_mosaic_settings(raw, environ)

    def webhook_secrets(self, settings: Any) -> list[str]:
        return list(_mosaic(settings).webhook_secrets)

    def writer(
        self,
        settings: Any,
        reference_prefix: str,
        session: requests.Session,
        max_attempts: int | None = None,
    ) -> MosaicWriter:
        settings = _mosaic(settings)
        client = MosaicClient(
            settings.base_url,
            settings.api_token,
            session,
            timeout=settings.timeout_seconds,
            max_attempts=settings.max_attempts if max_attempts is None else max_attempts,
            max_wait=settings.max_retry_wait_seconds,
        )
        return MosaicWriter(client, settings, reference_prefix)


__all__ = ["MosaicAdapter", "MosaicSettings"]
