"""A tenant's `[tenants.mosaic]` table: where Mosaic is, how to authenticate, and the council's local ids."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from adapters import settings_fields
from adapters.base import SettingsError
from adapters.settings_fields import Problem
from rules.codes import OBLIGATION_KINDS

DEFAULT_QUESTION_CODES: Mapping[str, str] = MappingProxyType(
    {
        "due_date": "CS_DUE_DATE",
        "reason": "CS_REASON",
        "previous_actions": "CS_PREVIOUS_ACTIONS",
        "counted_from": "CS_COUNTED_FROM",
        "children_to_cover": "CS_CHILDREN",
        "wellbeing": "PS_WELLBEING",
        "leave_gap": "PS_LEAVE_GAP",
    }
)
KNOWN_KEYS = frozenset(
    {
        "base_url",
        "api_token",
        "api_token_env",
        "webhook_secrets",
        "webhook_secrets_env",
        "step_types",
        "form_types",
        "question_codes",
        "timeout_seconds",
        "max_attempts",
        "max_retry_wait_seconds",
    }
)
# Shorter is a placeholder or a typo, not a token a platform would issue.
MIN_TOKEN_LENGTH = 8


def _frozen(table: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(table))


@dataclass(frozen=True)
class MosaicSettings:
    base_url: str
    # repr=False: settings get logged and printed by check-config; secrets must not be.
    api_token: str = field(repr=False)
    webhook_secrets: tuple[str, ...] = field(repr=False)
    step_types: Mapping[str, int] = field(default_factory=lambda: _frozen({}))
    form_types: Mapping[str, int] = field(default_factory=lambda: _frozen({}))
    question_codes: Mapping[str, str] = field(default_factory=lambda: _frozen(DEFAULT_QUESTION_CODES))
    timeout_seconds: float = 10.0
    max_attempts: int = 4
    max_retry_wait_seconds: float = 30.0


def parse_mosaic_settings(raw: Mapping[str, Any], environ: Mapping[str, str]) -> MosaicSettings:
    """Validate the table; SettingsError lists every problem, keyed relative to the table."""
    errors: dict[str, list[str]] = {}

    def problem(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    if not isinstance(raw, Mapping):
        raise SettingsError({"": ["Must be a table."]})
    for key in sorted(set(raw) - KNOWN_KEYS):
        problem(key, "Unknown key.")

    base_url = settings_fields.base_url(raw, problem, "API token")
    token = settings_fields.secret(raw, "api_token", environ, problem, "API token", MIN_TOKEN_LENGTH)
    secrets = settings_fields.webhook_secrets(raw, environ, problem)
    step_types = _type_ids(raw.get("step_types", {}), "step_types", problem)
    form_types = _type_ids(raw.get("form_types", {}), "form_types", problem)
    codes = _question_codes(raw.get("question_codes", {}), problem)
    timeout = settings_fields.seconds(raw, "timeout_seconds", 10.0, problem, allow_zero=False)
    max_wait = settings_fields.seconds(raw, "max_retry_wait_seconds", 30.0, problem, allow_zero=True)
    attempts = settings_fields.attempts(raw, "max_attempts", 4, problem)

    if errors:
        raise SettingsError(errors)
    assert base_url is not None and token is not None  # errors were raised otherwise
    return MosaicSettings(
        base_url=base_url,
        api_token=token,
        webhook_secrets=tuple(secrets),
        step_types=_frozen(step_types),
        form_types=_frozen(form_types),
        question_codes=_frozen(codes),
        timeout_seconds=timeout,
        max_attempts=attempts,
        max_retry_wait_seconds=max_wait,
    )


def _type_ids(table: Any, key: str, problem: Problem) -> dict[str, int]:
    if not isinstance(table, Mapping):
        problem(key, "Must be a table of obligation kind = Mosaic type id.")
        return {}
    ids = {}
    for kind, value in table.items():
        if kind not in OBLIGATION_KINDS:
            problem(f"{key}.{kind}", f"Unknown obligation kind; use one of {', '.join(OBLIGATION_KINDS)}.")
        elif isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            problem(f"{key}.{kind}", "Must be a positive whole number.")
        else:
            ids[kind] = value
    return ids


def _question_codes(table: Any, problem: Problem) -> dict[str, str]:
    codes = dict(DEFAULT_QUESTION_CODES)
    if not isinstance(table, Mapping):
        problem("question_codes", 'Must be a table of field = "QUESTION_USER_CODE".')
        return codes
    # Logical fields not known today are allowed: a rule pack may add its own form fields.
    for name, code in table.items():
        if not isinstance(code, str) or not code.strip():
            problem(f"question_codes.{name}", "Must be a non-empty question user code.")
        else:
            codes[name] = code.strip()
    return codes
