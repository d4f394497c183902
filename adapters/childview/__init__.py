"""The Childview adapter (Youth Offending Service): Childview's events in, prompts, oversight-record stubs and
reminder prompts out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from adapters.childview.client import ChildviewClient
from adapters.childview.events import parse_childview_event
from adapters.childview.settings import ChildviewSettings, parse_childview_settings
from adapters.childview.writer import ChildviewWriter
from rules.events import Event


def _childview(settings: Any) -> ChildviewSettings:
    # The interface passes settings as Any (each platform has its own); a mix-up must fail even under -O.
    if not isinstance(settings, ChildviewSettings):
        raise TypeError(f"expected ChildviewSettings, got {type(settings).__name__}")
    return settings


class ChildviewAdapter:
    """adapters.base.PlatformAdapter for Childview."""

    name = "childview"
    # A prompt's text can be PATCHed (childview-api.md), so a reminder citing old rules is edited, not re-sent.
    edits_reminders = True

    def parse_event(self, body: Mapping[str, Any]) -> Event:
        return parse_childview_event(body)

    def parse_settings(self, raw: Mapping[str, Any], environ: Mapping[str, str]) -> ChildviewSettings:
        return parse_childview_settings(raw, environ)

    def webhook_secrets(self, settings: Any) -> list[str]:
        return list(_childview(settings).webhook_secrets)

    def writer(
        self,
        settings: Any,
        reference_prefix: str,
        session: requests.Session,
        max_attempts: int | None = None,
    ) -> ChildviewWriter:
        settings = _childview(settings)
        client = ChildviewClient(
            settings.base_url,
            settings.api_key,
            session,
            timeout=settings.timeout_seconds,
            max_attempts=settings.max_attempts if max_attempts is None else max_attempts,
            max_wait=settings.max_retry_wait_seconds,
        )
        return ChildviewWriter(client, settings, reference_prefix)


__all__ = ["ChildviewAdapter", "ChildviewSettings"]
