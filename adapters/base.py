"""What every platform adapter provides, the writes it accepts, and the errors its writer raises.

An adapter turns the platform's webhook payloads into domain events, validates its own tenant settings, and
builds a writer that makes a domain write true on the platform. Retryable versus fatal errors decide what the
connector's dispatcher does next: 429, 5xx and timeouts are retryable, other 4xx are fatal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import requests

from rules.events import Event

# --- what the connector asks a platform to hold ---------------------------------------------------------------


@dataclass(frozen=True)
class ObligationWrite:
    """The desired state of one obligation cycle on the platform, keyed by its deterministic reference.

    `open` False means end it: completed when `met` (a session met it), else cancelled. `platform_id`/`form_id` are the platform's ids once a write was confirmed;
    a writer that lacks them looks the reference up first. `form` holds the pre-filled form's logical fields
    (due_date, reason, previous_actions, ...); an adapter maps them to its platform's questions.
    """

    reference: str
    open: bool
    kind: str
    case_id: str | None
    assignee_id: str
    team_id: str | None
    due_date: date
    title: str
    notes: str
    incoming_on: date
    form: tuple[tuple[str, str], ...] = ()
    platform_id: str | None = None
    form_id: str | None = None
    # The assignee's supervisor, for platforms whose form stub names the manager (Childview's manager_id).
    supervisor_id: str | None = None
    met: bool = False
    # An earlier try of this write failed without a clear answer (a timeout, a dropped connection, a 5xx), so a
    # create may have reached the platform: a platform without idempotency keys looks the reference up first.
    unsure: bool = False
    # The state that unanswered create carried, when it differs from this one: a platform that ties an
    # idempotency key to its first body (Childview) is sent that body again to learn what it made.
    first_sent: ObligationWrite | None = None


@dataclass(frozen=True)
class WriteResult:
    """What the platform confirmed. `closed_on_platform` is True when the item was already completed or
    cancelled there (it can no longer be changed; the connector stops tracking it)."""

    platform_id: str | None
    form_id: str | None = None
    closed_on_platform: bool = False


# What `send_reminder` returns for a reminder the platform says it holds without naming it (Mosaic's 409 on an
# existing reference need not carry the id, and Mosaic offers no lookup of notifications): delivered, but it can
# be neither withdrawn nor edited.
ID_NOT_GIVEN = ""


@dataclass(frozen=True)
class ReminderWrite:
    """A reminder or escalation shown to a worker from `show_on`, about the item `platform_id`. `kind` is the
    obligation's kind, so a platform can file the reminder with its own type for it (Childview's prompt type);
    None for a reminder queued before it was kept."""

    reference: str
    worker_id: str
    platform_id: str
    case_id: str | None
    show_on: date
    due_date: date
    message: str
    escalation: bool = False
    kind: str | None = None


# --- errors ---------------------------------------------------------------------------------------------------


class EventValidationError(Exception):
    """A payload that fails the platform's event schema; `errors` maps field paths to messages."""

    def __init__(
        self, errors: Mapping[str, list[str]], message: str = "The event does not match its schema."
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors = dict(errors)


class SettingsError(Exception):
    """Platform settings in the config that are wrong; `errors` maps keys to messages."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = dict(errors)


class PlatformError(Exception):
    """A write the platform did not confirm."""

    retryable: bool = False

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class RetryableError(PlatformError):
    """Worth trying again later: 429, 5xx, a timeout or a dropped connection."""

    retryable = True

    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(reason, status)
        self.retry_after = retry_after


class FatalError(PlatformError):
    """Will fail the same way again until someone changes something (a 4xx other than 429)."""


class PlatformWriter(Protocol):
    """Makes domain writes true on one tenant's platform. Every method is safe to repeat."""

    def sync_obligation(self, write: ObligationWrite) -> WriteResult: ...

    def send_reminder(self, write: ReminderWrite) -> str: ...

    def withdraw_reminder(self, platform_id: str) -> None:
        """Take back a reminder not yet read; one already read or gone is left as it is."""
        ...


class PlatformAdapter(Protocol):
    """One platform: its name, its event parser, its settings and its writer factory."""

    name: str

    def parse_event(self, body: Mapping[str, Any]) -> Event:
        """Validate a webhook body and return its domain event; raise EventValidationError."""
        ...

    def parse_settings(self, raw: Mapping[str, Any], environ: Mapping[str, str]) -> Any:
        """Validate this platform's section of a tenant's config; raise SettingsError."""
        ...

    def webhook_secrets(self, settings: Any) -> list[str]:
        """The `whsec_...` secrets webhooks from this platform are signed with."""
        ...

    def writer(
        self,
        settings: Any,
        reference_prefix: str,
        session: requests.Session,
        max_attempts: int | None = None,
    ) -> PlatformWriter:
        """A writer for one tenant, using the given HTTP session; `max_attempts` overrides the settings' tries
        per call (the dispatcher asks for 1: its retries wait in the outbox, not inside a call)."""
        ...
