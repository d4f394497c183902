"""The pieces every platform's settings table has: where it is, its secrets, its timeouts.

Each check reports through `problem(key, message)` rather than raising, so that one table's every mistake is
named at once. Messages name the key and never echo a secret.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

Problem = Callable[[str, str], None]

# A per-call ceiling: the dispatcher retries again later, so a long in-call loop only blocks the other writes.
MAX_ATTEMPTS_CEILING = 20


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


def base_url(raw: Mapping[str, Any], problem: Problem, credential: str, key: str = "base_url") -> str | None:
    """An https:// URL, or http:// to this machine only (a simulator): the credential goes with every call, and
    in clear over a network it is anyone's."""
    value = raw.get(key)
    parsed = urlparse(value) if isinstance(value, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
        problem(key, "Required: an https:// URL (http:// only to this machine).")
        return None
    if parsed.scheme == "http" and not is_loopback(parsed.hostname):
        problem(
            key, f"Use https://: http:// would send the {credential} in clear (allowed only to loopback)."
        )
        return None
    assert isinstance(value, str)
    return value.rstrip("/")


def from_environ(
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


def secret(
    raw: Mapping[str, Any],
    key: str,
    environ: Mapping[str, str],
    problem: Problem,
    what: str,
    min_length: int = 1,
) -> str | None:
    """`key` inline or `key_env` naming an environment variable, exactly one of them (a token, an API key),
    at least `min_length` characters however given. Messages say how long it should be, never what it is."""
    env_key = f"{key}_env"
    if key in raw and env_key in raw:
        problem(key, f"Give {key} or {env_key}, not both.")
        return None
    if env_key in raw:
        where = env_key
        value = from_environ(raw, env_key, environ, problem)
        if value is None:
            return None
    else:
        where = key
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            problem(key, f"Required: give {key} or {env_key}.")
            return None
    value = value.strip()
    if len(value) < min_length:
        problem(where, f"The {what} must be at least {min_length} characters.")
        return None
    return value


def webhook_secrets(raw: Mapping[str, Any], environ: Mapping[str, str], problem: Problem) -> list[str]:
    """`webhook_secrets` (a list) or `webhook_secrets_env` (space- or comma-separated).

    Each must be text; whether it is a usable `whsec_` secret is checked by the config with the webhook edge's
    own parser (`webhooks.signature.secret_key`), so what is accepted here is exactly what the edge verifies
    with, and adapters need not know the signature scheme."""
    if "webhook_secrets" in raw and "webhook_secrets_env" in raw:
        problem("webhook_secrets", "Give webhook_secrets or webhook_secrets_env, not both.")
        return []
    if "webhook_secrets_env" in raw:
        key = "webhook_secrets_env"
        value = from_environ(raw, key, environ, problem)
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
    for index, candidate in enumerate(secrets):
        if isinstance(candidate, str) and candidate.strip():
            good.append(candidate.strip())
        else:
            problem(f"{key}[{index}]", "Not a webhook secret: must be text.")
    return good


def secrets_key(raw: Mapping[str, Any]) -> str:
    """Which key the webhook secrets were given under, for naming a bad one."""
    return "webhook_secrets_env" if "webhook_secrets_env" in raw else "webhook_secrets"


def seconds(raw: Mapping[str, Any], key: str, default: float, problem: Problem, allow_zero: bool) -> float:
    value = raw.get(key, default)
    # TOML can spell inf and nan; neither is a usable timeout or wait.
    number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not number or value < 0 or (value == 0 and not allow_zero):
        problem(key, "Must be a number of seconds " + ("of 0 or more." if allow_zero else "greater than 0."))
        return default
    return float(value)


def attempts(raw: Mapping[str, Any], key: str, default: int, problem: Problem) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ATTEMPTS_CEILING:
        problem(key, f"Must be a whole number from 1 to {MAX_ATTEMPTS_CEILING}.")
        return default
    return value
