"""The `[tenants.childview]` table: what it accepts, its defaults, and each error keyed relative to the table."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.base import SettingsError
from adapters.childview.settings import DEFAULT_PROMPT_TYPES, parse_childview_settings
from rules.model import OBLIGATION_KINDS

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def table(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "base_url": "https://childview.council.example/api/",
        "api_key": "dev-key",
        "webhook_secrets": [SECRET],
    }
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not None}


def errors_of(raw: dict[str, Any], environ: dict[str, str] | None = None) -> dict[str, list[str]]:
    with pytest.raises(SettingsError) as caught:
        parse_childview_settings(raw, environ or {})
    return caught.value.errors


def test_a_minimal_table_with_defaults() -> None:
    settings = parse_childview_settings(table(), {})

    assert settings.base_url == "https://childview.council.example/api"
    assert (settings.api_key, settings.webhook_secrets) == ("dev-key", (SECRET,))
    assert (settings.timeout_seconds, settings.max_attempts, settings.max_retry_wait_seconds) == (
        10.0,
        4,
        30.0,
    )
    assert settings.prompt_type("case_supervision") == "MANAGEMENT_OVERSIGHT_DUE"
    assert settings.prompt_type("supervision_record") == "OVERSIGHT_RECORD_DUE"
    assert settings.prompt_type("personal_supervision") == "SUPERVISION_DUE"
    assert settings.prompt_type("supervision_agreement") == "AGREEMENT_DUE"
    assert settings.prompt_type("practice_observation") == "OBSERVATION_DUE"
    assert settings.prompt_type("team_brief") == "SUPERVISION_DUE"
    assert set(DEFAULT_PROMPT_TYPES) == set(OBLIGATION_KINDS)
    assert settings.field_key("reason") == "reason"


def test_prompt_types_and_oversight_fields_can_be_set() -> None:
    settings = parse_childview_settings(
        table(
            prompt_types={"team_brief": "MANAGEMENT_OVERSIGHT_DUE"},
            oversight_fields={"reason": "why_due", "wellbeing": "wb"},
        ),
        {},
    )
    assert settings.prompt_type("team_brief") == "MANAGEMENT_OVERSIGHT_DUE"
    assert settings.prompt_type("case_supervision") == "MANAGEMENT_OVERSIGHT_DUE"
    assert (settings.field_key("reason"), settings.field_key("due_date")) == ("why_due", "due_date")


def test_secrets_from_the_environment_are_not_in_the_repr() -> None:
    raw = table(api_key=None, webhook_secrets=None, api_key_env="CV_KEY", webhook_secrets_env="CV_SECRETS")
    settings = parse_childview_settings(raw, {"CV_KEY": " k3y ", "CV_SECRETS": f"{SECRET}, {SECRET}"})

    assert (settings.api_key, settings.webhook_secrets) == ("k3y", (SECRET, SECRET))
    assert "k3y" not in repr(settings) and SECRET not in repr(settings)


def test_plain_http_is_allowed_on_this_machine_only() -> None:
    for url in ("http://127.0.0.1:9002/api", "http://localhost:9002/api", "http://[::1]:9002/api"):
        assert parse_childview_settings(table(base_url=url), {}).base_url == url
    assert errors_of(table(base_url="http://childview.council.example/api")) == {
        "base_url": ["Use https://: http:// would send the API key in clear (allowed only to loopback)."]
    }


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"base_url": "ftp://x"}, "base_url"),
        ({"base_url": None}, "base_url"),
        ({"api_key": None}, "api_key"),
        ({"api_key_env": "CV_KEY"}, "api_key"),
        ({"webhook_secrets": [7]}, "webhook_secrets[0]"),
        ({"webhook_secrets": []}, "webhook_secrets"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"max_retry_wait_seconds": -1}, "max_retry_wait_seconds"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": True}, "max_attempts"),
        ({"prompt_types": {"nonsense": "SUPERVISION_DUE"}}, "prompt_types.nonsense"),
        ({"prompt_types": {"team_brief": "PARTY"}}, "prompt_types.team_brief"),
        ({"prompt_types": "SUPERVISION_DUE"}, "prompt_types"),
        ({"oversight_fields": {"reason": ""}}, "oversight_fields.reason"),
        ({"step_types": {"case_supervision": 1}}, "step_types"),
    ],
)
def test_each_problem_is_named_by_its_key(changes: dict[str, Any], key: str) -> None:
    errors = errors_of(table(**changes))
    assert key in errors, errors


def test_an_unknown_key_is_refused() -> None:
    assert errors_of(table(colour="blue")) == {"colour": ["Unknown key."]}


def test_an_unset_environment_variable_is_named_not_echoed() -> None:
    errors = errors_of(table(api_key=None, api_key_env="CV_KEY"))
    assert errors == {"api_key_env": ["Environment variable CV_KEY is not set."]}


def test_every_problem_is_reported_at_once() -> None:
    errors = errors_of({"base_url": "x", "max_attempts": 99})
    assert {"base_url", "api_key", "webhook_secrets", "max_attempts"} <= set(errors)
