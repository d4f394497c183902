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

# The same check the webhook edge applies when it verifies signatures, so a secret accepted here works there.
from webhooks.signature import secret_key

Problem = Callable[[str, str], None]

# A per-call ceiling: the dispatcher retries again later, so a long in-call loop only blocks the other writes.
MAX_ATTEMPTS_CEILING = 20


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def base_url(raw: Mapping[str, Any], problem: Problem, key: str = "base_url") -> str | None:
    """An https:// URL, or http:// on this machine only (a simulator): an API key must not cross a network
    in clear."""
    value = raw.get(key)
    parsed = urlparse(value) if isinstance(value, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
        problem(key, "Required: an https:// URL (http:// only on 127.0.0.1, ::1 or localhost).")
        return None
    if parsed.scheme == "http" and not is_loopback(parsed.hostname):
        problem(key, "Must be https:// (http:// only on 127.0.0.1, ::1 or localhost).")
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


def secret(raw: Mapping[str, Any], key: str, environ: Mapping[str, str], problem: Problem) -> str | None:
    """`key` inline or `key_env` naming an environment variable, exactly one of them (a token, an API key)."""
    env_key = f"{key}_env"
    if key in raw and env_key in raw:
        problem(key, f"Give {key} or {env_key}, not both.")
        return None
    if env_key in raw:
        value = from_environ(raw, env_key, environ, problem)
        return None if value is None else value.strip()
    inline = raw.get(key)
    if not isinstance(inline, str) or not inline.strip():
        problem(key, f"Required: give {key} or {env_key}.")
        return None
    return inline.strip()


def webhook_secrets(raw: Mapping[str, Any], environ: Mapping[str, str], problem: Problem) -> list[str]:
    """`webhook_secrets` (a list) or `webhook_secrets_env` (space- or comma-separated), each a whsec_ secret."""
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
        try:
            if not isinstance(candidate, str):
                raise ValueError("must be text")
            secret_key(candidate)
        except ValueError as exc:
            # The message says what is wrong with it, never the secret itself.
            problem(f"{key}[{index}]", f"Not a webhook secret: {exc}.")
        else:
            good.append(candidate)
    return good


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
