"""Connects the webhook edge to the tenants' config and the inbox."""

from __future__ import annotations

import threading

from adapters.registry import get_adapter
from connector.config import Config
from connector.domain import Event
from connector.inbox import Inbox
from webhooks.edge import Route
from webhooks.signature import secret_key


class Intake:
    def __init__(self, config: Config, inbox: Inbox, wake: threading.Event | None = None) -> None:
        self.inbox = inbox
        self.wake = wake
        self.routes: dict[tuple[str, str], Route] = {}
        for tenant in config.tenants.values():
            for platform, settings in tenant.platforms.items():
                adapter = get_adapter(platform)
                keys = tuple(secret_key(s) for s in adapter.webhook_secrets(settings))
                self.routes[(tenant.id, platform)] = Route(keys=keys, parse=adapter.parse_event)

    def route(self, tenant: str, platform: str) -> Route | None:
        return self.routes.get((tenant, platform))

    def accept(self, tenant: str, platform: str, webhook_id: str, event: Event) -> bool:
        stored = self.inbox.accept(tenant, platform, webhook_id, event)
        if stored and self.wake is not None:
            self.wake.set()
        return stored
