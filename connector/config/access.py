"""Secrets that open the read side to people: viewer tokens, calendar feed secrets, the session cookie's key.

Each is given inline or through an environment variable named by its `*_env` key, as every other secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector.config.schema import MIN_SECRET_LENGTH


def secret(
    section: Mapping[str, Any], key: str, environ: Mapping[str, str], where: str, errors: dict[str, list[str]]
) -> str | None:
    """The secret `key` of a loaded section (inline or from `key_env`), or None; problems go to `errors`."""
    value: str | None = section.get(key)
    env_key = f"{key}_env"
    if env_key in section:
        if key in section:
            errors[f"{where}.{env_key}"] = [f"Give {key} or {env_key}, not both."]
            return None
        value = environ.get(section[env_key], "").strip()
        if not value:
            errors[f"{where}.{env_key}"] = [f"Environment variable {section[env_key]} is not set."]
            return None
        if len(value) < MIN_SECRET_LENGTH:
            errors[f"{where}.{env_key}"] = [
                f"The value of {section[env_key]} must be at least {MIN_SECRET_LENGTH} characters."
            ]
            return None
    return value


def check_viewer_tokens(
    viewer_tokens: Mapping[str, str | None], admin_token: str | None, errors: dict[str, list[str]]
) -> None:
    """A viewer token opens one tenant's figures only: it may be neither the admin token nor another's."""
    seen: dict[str, str] = {}
    for where, token in viewer_tokens.items():
        if token is None:
            continue
        if admin_token is not None and token == admin_token:
            errors[f"{where}.viewer_token"] = ["Must differ from service.admin_token."]
        elif token in seen:
            errors[f"{where}.viewer_token"] = [f"Must differ from {seen[token]}.viewer_token."]
        seen.setdefault(token, where)
