"""A tenant's `[tenants.childview]` table: where Childview is, its API key, and which prompt type each
obligation kind becomes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from adapters import settings_fields
from adapters.base import SettingsError
from rules.model import OBLIGATION_KINDS

PROMPT_TYPES = (
    "MANAGEMENT_OVERSIGHT_DUE",
    "OVERSIGHT_RECORD_DUE",
    "SUPERVISION_DUE",
    "OVERDUE_ESCALATION",
    "AGREEMENT_DUE",
    "OBSERVATION_DUE",
)
_NAMED_PROMPTS = {
    "case_supervision": "MANAGEMENT_OVERSIGHT_DUE",
    "supervision_record": "OVERSIGHT_RECORD_DUE",
    "personal_supervision": "SUPERVISION_DUE",
    "supervision_agreement": "AGREEMENT_DUE",
    "practice_observation": "OBSERVATION_DUE",
}
# Childview has no prompt type of its own for group sessions, briefs, agendas or dip samples: they are all
# "supervision due" to the practitioner.
DEFAULT_PROMPT_TYPES: Mapping[str, str] = MappingProxyType(
    {kind: _NAMED_PROMPTS.get(kind, "SUPERVISION_DUE") for kind in OBLIGATION_KINDS}
)
KNOWN_KEYS = frozenset(
    {
        "base_url",
        "api_key",
        "api_key_env",
        "webhook_secrets",
        "webhook_secrets_env",
        "timeout_seconds",
        "max_attempts",
        "max_retry_wait_seconds",
        "prompt_types",
        "oversight_fields",
    }
)


@dataclass(frozen=True)
class ChildviewSettings:
    base_url: str
    # repr=False: settings get logged and printed by check-config; secrets must not be.
    api_key: str = field(repr=False)
    webhook_secrets: tuple[str, ...] = field(repr=False)
    prompt_types: Mapping[str, str] = field(default_factory=lambda: DEFAULT_PROMPT_TYPES)
    # Only the renamed fields; a logical field not named here keeps its own name in Childview's `fields`.
    oversight_fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    timeout_seconds: float = 10.0
    max_attempts: int = 4
    max_retry_wait_seconds: float = 30.0

    def prompt_type(self, kind: str) -> str:
        return self.prompt_types.get(kind, "SUPERVISION_DUE")

    def field_key(self, name: str) -> str:
        return self.oversight_fields.get(name, name)


def parse_childview_settings(raw: Mapping[str, Any], environ: Mapping[str, str]) -> ChildviewSettings:
    """Validate the table; SettingsError lists every problem, keyed relative to the table."""
    errors: dict[str, list[str]] = {}

    def problem(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    if not isinstance(raw, Mapping):
        raise SettingsError({"": ["Must be a table."]})
    for key in sorted(set(raw) - KNOWN_KEYS):
        problem(key, "Unknown key.")

    base_url = settings_fields.base_url(raw, problem, "API key")
    api_key = settings_fields.secret(raw, "api_key", environ, problem, "API key")
    secrets = settings_fields.webhook_secrets(raw, environ, problem)
    timeout = settings_fields.seconds(raw, "timeout_seconds", 10.0, problem, allow_zero=False)
    max_wait = settings_fields.seconds(raw, "max_retry_wait_seconds", 30.0, problem, allow_zero=True)
    attempts = settings_fields.attempts(raw, "max_attempts", 4, problem)
    prompt_types = _prompt_types(raw.get("prompt_types", {}), problem)
    oversight_fields = _oversight_fields(raw.get("oversight_fields", {}), problem)

    if errors:
        raise SettingsError(errors)
    assert base_url is not None and api_key is not None  # errors were raised otherwise
    return ChildviewSettings(
        base_url=base_url,
        api_key=api_key,
        webhook_secrets=tuple(secrets),
        prompt_types=MappingProxyType(prompt_types),
        oversight_fields=MappingProxyType(oversight_fields),
        timeout_seconds=timeout,
        max_attempts=attempts,
        max_retry_wait_seconds=max_wait,
    )


def _prompt_types(table: Any, problem: settings_fields.Problem) -> dict[str, str]:
    types = dict(DEFAULT_PROMPT_TYPES)
    if not isinstance(table, Mapping):
        problem("prompt_types", 'Must be a table of obligation kind = "PROMPT_TYPE".')
        return types
    for kind, value in table.items():
        if kind not in OBLIGATION_KINDS:
            problem(
                f"prompt_types.{kind}", f"Unknown obligation kind; use one of {', '.join(OBLIGATION_KINDS)}."
            )
        elif value not in PROMPT_TYPES:
            problem(f"prompt_types.{kind}", f"Must be one of {', '.join(PROMPT_TYPES)}.")
        else:
            types[kind] = value
    return types


def _oversight_fields(table: Any, problem: settings_fields.Problem) -> dict[str, str]:
    if not isinstance(table, Mapping):
        problem("oversight_fields", 'Must be a table of field = "childview_field_key".')
        return {}
    renamed = {}
    # Logical fields not known today are allowed: a rule pack may add its own form fields.
    for name, key in table.items():
        if not isinstance(key, str) or not key.strip():
            problem(f"oversight_fields.{name}", "Must be a non-empty Childview field key.")
        else:
            renamed[name] = key.strip()
    return renamed
