"""The settings pieces every platform shares: each problem reported, none raised."""

from __future__ import annotations

from typing import Any

import pytest

from adapters import settings_fields


def collect() -> tuple[dict[str, list[str]], Any]:
    found: dict[str, list[str]] = {}

    def problem(key: str, message: str) -> None:
        found.setdefault(key, []).append(message)

    return found, problem


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("10.0.0.1", False),
        ("example.org", False),
        ("localhost.example.org", False),
    ],
)
def test_loopback(host: str, loopback: bool) -> None:
    assert settings_fields.is_loopback(host) is loopback


def test_a_secret_inline_and_from_the_environment_is_refused() -> None:
    found, problem = collect()
    assert settings_fields.secret({"api_key": "a", "api_key_env": "B"}, "api_key", {}, problem, "API key") is None
    assert found == {"api_key": ["Give api_key or api_key_env, not both."]}


@pytest.mark.parametrize("value", [float("inf"), float("nan"), "10", True])
def test_seconds_must_be_a_finite_number(value: Any) -> None:
    found, problem = collect()
    assert settings_fields.seconds({"t": value}, "t", 5.0, problem, allow_zero=True) == 5.0
    assert list(found) == ["t"]
