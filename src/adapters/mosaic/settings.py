"""A tenant's `[tenants.mosaic]` table: where Mosaic is, how to authenticate, and the council's local ids."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from adapters.base import SettingsError
from adapters.mosaic.events import OBLIGATION_KINDS
from webhooks.signature import secret_key

DEFAULT_QUESTION_CODES = {
    "due_date": "CS_DUE_DATE",
    "reason": "CS_REASON",
    "previous_actions": "CS_PREVIOUS_ACTIONS",
    "counted_from": "CS_COUNTED_FROM",
    "children_to_cover": "CS_CHILDREN",
    "wellbeing": "PS_WELLBEING",
    "leave_gap": "PS_LEAVE_GAP",
}
KNOWN_KEYS = {
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


@dataclass(frozen=True)
class MosaicSettings:
    base_url: str
    api_token: str
    webhook_secrets: tuple[str, ...]
    step_types: Mapping[str, int]
    form_types: Mapping[str, int] = field(default_factory=dict)
    question_codes: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_QUESTION_CODES))
    timeout_seconds: float = 10.0
    max_attempts: int = 4
    max_retry_wait_seconds: float = 30.0


def parse_mosaic_settings(raw: Mapping[str, Any], environ: Mapping[str, str]) -> MosaicSettings:
    errors: dict[str, list[str]] = {}

    def problem(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    for key in sorted(set(raw) - KNOWN_KEYS):
        problem(key, "Unknown key.")

    base_url = raw.get("base_url")
    parsed = urlparse(base_url) if isinstance(base_url, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
        problem("base_url", "Must be an http:// or https:// URL.")

    token = _secret(raw, "api_token", environ, problem)
    secrets = _webhook_secrets(raw, environ, problem)
    step_types = _ids(raw.get("step_types", {}), "step_types", problem)
    form_types = _ids(raw.get("form_types", {}), "form_types", problem)

    codes = dict(DEFAULT_QUESTION_CODES)
    question_codes = raw.get("question_codes", {})
    if not isinstance(question_codes, dict):
        problem("question_codes", 'Must be a table of field = "CODE".')
    else:
        for name, code in question_codes.items():
            if not isinstance(code, str) or not code.strip():
                problem(f"question_codes.{name}", "Must be a non-empty question user code.")
            else:
                codes[name] = code

    timeout = _number(raw, "timeout_seconds", 10.0, problem, minimum=0.001)
    attempts = raw.get("max_attempts", 4)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 20:
        problem("max_attempts", "Must be a whole number from 1 to 20.")
    max_wait = _number(raw, "max_retry_wait_seconds", 30.0, problem, minimum=0.0)

    if errors:
        raise SettingsError(errors)
    assert isinstance(base_url, str) and token is not None
    return MosaicSettings(
        base_url=base_url.rstrip("/"),
        api_token=token,
        webhook_secrets=tuple(secrets),
        step_types=step_types,
        form_types=form_types,
        question_codes=codes,
        timeout_seconds=timeout,
        max_attempts=int(attempts),
        max_retry_wait_seconds=max_wait,
    )


def _secret(raw: Mapping[str, Any], key: str, environ: Mapping[str, str], problem: Any) -> str | None:
    env_key = f"{key}_env"
    if key in raw and env_key in raw:
        problem(key, f"Give {key} or {env_key}, not both.")
        return None
    if env_key in raw:
        name = raw[env_key]
        if not isinstance(name, str) or not name:
            problem(env_key, "Must name an environment variable.")
            return None
        value = environ.get(name)
        if not value:
            problem(env_key, f"Environment variable {name} is not set.")
            return None
        return value
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        problem(key, f"Missing: give {key} or {env_key}.")
        return None
    return value


def _webhook_secrets(raw: Mapping[str, Any], environ: Mapping[str, str], problem: Any) -> list[str]:
    if "webhook_secrets" in raw and "webhook_secrets_env" in raw:
        problem("webhook_secrets", "Give webhook_secrets or webhook_secrets_env, not both.")
        return []
    key = "webhook_secrets"
    if "webhook_secrets_env" in raw:
        key = "webhook_secrets_env"
        name = raw[key]
        value = environ.get(name) if isinstance(name, str) else None
        if not value:
            problem(key, f"Environment variable {name} is not set.")
            return []
        secrets: Any = value.replace(",", " ").split()
    else:
        secrets = raw.get("webhook_secrets")
    if not isinstance(secrets, list) or not secrets:
        problem(key, "Give at least one whsec_ secret.")
        return []
    good = []
    for index, secret in enumerate(secrets):
        try:
            if not isinstance(secret, str):
                raise ValueError("must be text")
            secret_key(secret)
            good.append(secret)
        except ValueError as exc:
            problem(f"{key}[{index}]", f"Not a webhook secret: {exc}.")
    return good


def _ids(table: Any, key: str, problem: Any) -> dict[str, int]:
    if not isinstance(table, dict):
        problem(key, "Must be a table of kind = id.")
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


def _number(raw: Mapping[str, Any], key: str, default: float, problem: Any, minimum: float) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        problem(key, f"Must be a number of seconds, at least {minimum}.")
        return default
    return float(value)
