"""A tenant's `[tenants.mosaic]` table: where Mosaic is, how to authenticate, and the council's local ids."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlparse

from adapters.base import SettingsError
from rules.codes import OBLIGATION_KINDS

# The same check the webhook edge applies when it verifies signatures, so a secret accepted here works there.
from webhooks.signature import secret_key

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
# A per-call ceiling: the dispatcher retries again later, so a long in-call loop only blocks the other writes.
MAX_ATTEMPTS_CEILING = 20

Problem = Callable[[str, str], None]


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

    base_url = raw.get("base_url")
    parsed = urlparse(base_url) if isinstance(base_url, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
        problem("base_url", "Required: an https:// URL (http:// only to this machine).")
    elif parsed.scheme == "http" and not is_loopback(parsed.hostname):
        # The bearer token goes with every call: in clear over a network it is anyone's.
        problem(
            "base_url", "Use https://: http:// would send the API token in clear (allowed only to loopback)."
        )

    token = _token(raw, environ, problem)
    secrets = _webhook_secrets(raw, environ, problem)
    step_types = _type_ids(raw.get("step_types", {}), "step_types", problem)
    form_types = _type_ids(raw.get("form_types", {}), "form_types", problem)
    codes = _question_codes(raw.get("question_codes", {}), problem)
    timeout = _seconds(raw, "timeout_seconds", 10.0, problem, allow_zero=False)
    max_wait = _seconds(raw, "max_retry_wait_seconds", 30.0, problem, allow_zero=True)
    attempts = raw.get("max_attempts", 4)
    if (
        isinstance(attempts, bool)
        or not isinstance(attempts, int)
        or not 1 <= attempts <= MAX_ATTEMPTS_CEILING
    ):
        problem("max_attempts", f"Must be a whole number from 1 to {MAX_ATTEMPTS_CEILING}.")

    if errors:
        raise SettingsError(errors)
    assert isinstance(base_url, str) and token is not None  # errors were raised otherwise
    return MosaicSettings(
        base_url=base_url.rstrip("/"),
        api_token=token,
        webhook_secrets=tuple(secrets),
        step_types=_frozen(step_types),
        form_types=_frozen(form_types),
        question_codes=_frozen(codes),
        timeout_seconds=timeout,
        max_attempts=int(attempts),
        max_retry_wait_seconds=max_wait,
    )


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 or localhost: traffic that never leaves this machine."""
    if host is None:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _from_environ(
    raw: Mapping[str, Any], key: str, environ: Mapping[str, str], problem: Problem
) -> str | None:
    name = raw[key]
    if not isinstance(name, str) or not name:
        problem(key, "Must name an environment variable.")
        return None
    value = environ.get(name, "")
    if not value.strip():
        problem(key, f"Environment variable {name} is not set.")
        return None
    return value


def _token(raw: Mapping[str, Any], environ: Mapping[str, str], problem: Problem) -> str | None:
    if "api_token" in raw and "api_token_env" in raw:
        problem("api_token", "Give api_token or api_token_env, not both.")
        return None
    if "api_token_env" in raw:
        key = "api_token_env"
        value = _from_environ(raw, key, environ, problem)
        if value is None:
            return None
        token: Any = value
    else:
        key = "api_token"
        token = raw.get(key)
        if not isinstance(token, str) or not token.strip():
            problem(key, "Required: give api_token or api_token_env.")
            return None
    token = token.strip()
    if len(token) < MIN_TOKEN_LENGTH:
        # Never the token itself, only how long it should be.
        problem(key, f"The API token must be at least {MIN_TOKEN_LENGTH} characters.")
        return None
    return str(token)


def _webhook_secrets(raw: Mapping[str, Any], environ: Mapping[str, str], problem: Problem) -> list[str]:
    if "webhook_secrets" in raw and "webhook_secrets_env" in raw:
        problem("webhook_secrets", "Give webhook_secrets or webhook_secrets_env, not both.")
        return []
    if "webhook_secrets_env" in raw:
        key = "webhook_secrets_env"
        value = _from_environ(raw, key, environ, problem)
        if value is None:
            return []
        secrets: Any = value.replace(",", " ").split()
    else:
        key = "webhook_secrets"
        secrets = raw.get(key)
    if not isinstance(secrets, list) or not secrets:
        problem(key, "Required: at least one whsec_ secret.")
        return []
    good = []
    for index, secret in enumerate(secrets):
        try:
            if not isinstance(secret, str):
                raise ValueError("must be text")
            secret_key(secret)
        except ValueError as exc:
            # The message says what is wrong with it, never the secret itself.
            problem(f"{key}[{index}]", f"Not a webhook secret: {exc}.")
        else:
            good.append(secret)
    return good


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


def _seconds(raw: Mapping[str, Any], key: str, default: float, problem: Problem, allow_zero: bool) -> float:
    value = raw.get(key, default)
    # TOML can spell inf and nan; neither is a usable timeout or wait.
    number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not number or value < 0 or (value == 0 and not allow_zero):
        problem(key, "Must be a number of seconds " + ("of 0 or more." if allow_zero else "greater than 0."))
        return default
    return float(value)
