"""The Mosaic adapter: Mosaic's events in, workflow steps, form stubs and notifications out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from adapters.mosaic.client import MosaicClient
from adapters.mosaic.events import parse_mosaic_event
from adapters.mosaic.settings import MosaicSettings, parse_mosaic_settings
from adapters.mosaic.writer import MosaicWriter
from connector.domain import Event


class MosaicAdapter:
    name = "mosaic"

    def parse_event(self, body: Mapping[str, Any]) -> Event:
        return parse_mosaic_event(body)

    def parse_settings(self, raw: Mapping[str, Any], environ: Mapping[str, str]) -> MosaicSettings:
        return parse_mosaic_settings(raw, environ)

    def webhook_secrets(self, settings: Any) -> list[str]:
        assert isinstance(settings, MosaicSettings)
        return list(settings.webhook_secrets)

    def writer(self, settings: Any, reference_prefix: str, session: requests.Session) -> MosaicWriter:
        assert isinstance(settings, MosaicSettings)
        client = MosaicClient(
            settings.base_url,
            settings.api_token,
            session,
            timeout=settings.timeout_seconds,
            max_attempts=settings.max_attempts,
            max_wait=settings.max_retry_wait_seconds,
        )
        return MosaicWriter(client, settings, reference_prefix)


__all__ = ["MosaicAdapter", "MosaicSettings"]
